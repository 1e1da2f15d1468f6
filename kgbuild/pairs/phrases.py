"""A small curated table of English phrases for common relations (UMLS RELA, OBO relationship types).

It wins over MRDOC / Typedef labels, which are often terse ("finding_site_of"); relations marked not informative
(lexical, mapping and bookkeeping links, and the bare REL codes) never appear in descriptions.
"""

from __future__ import annotations

import pyarrow as pa

# (relation, phrase, inverse relation name or None, informative)
PHRASES: tuple[tuple[str, str | None, str | None, bool], ...] = (
    ("isa", "is a kind of", "inverse_isa", True),
    ("is_a", "is a kind of", None, True),
    ("has_finding_site", "has finding site", "finding_site_of", True),
    ("finding_site_of", "is the finding site of", "has_finding_site", True),
    ("has_associated_morphology", "has associated morphology", "associated_morphology_of", True),
    ("associated_morphology_of", "is the associated morphology of", "has_associated_morphology", True),
    ("has_causative_agent", "has causative agent", "causative_agent_of", True),
    ("causative_agent_of", "is the causative agent of", "has_causative_agent", True),
    ("has_pathological_process", "has pathological process", "pathological_process_of", True),
    ("has_method", "has method", "method_of", True),
    ("method_of", "is the method of", "has_method", True),
    ("has_direct_procedure_site", "has direct procedure site", "direct_procedure_site_of", True),
    ("has_indirect_procedure_site", "has indirect procedure site", "indirect_procedure_site_of", True),
    ("has_procedure_site", "has procedure site", "procedure_site_of", True),
    ("has_direct_morphology", "has direct morphology", "direct_morphology_of", True),
    ("has_interpretation", "has interpretation", "interpretation_of", True),
    ("has_component", "has component", "component_of", True),
    ("component_of", "is a component of", "has_component", True),
    ("part_of", "is part of", "has_part", True),
    ("has_part", "has part", "part_of", True),
    ("has_ingredient", "has ingredient", "ingredient_of", True),
    ("ingredient_of", "is an ingredient of", "has_ingredient", True),
    ("has_active_ingredient", "has active ingredient", "active_ingredient_of", True),
    ("has_dose_form", "has dose form", "dose_form_of", True),
    ("has_tradename", "has trade name", "tradename_of", True),
    ("tradename_of", "is a trade name of", "has_tradename", True),
    ("may_treat", "may treat", "may_be_treated_by", True),
    ("may_be_treated_by", "may be treated by", "may_treat", True),
    ("may_prevent", "may prevent", "may_be_prevented_by", True),
    ("may_be_prevented_by", "may be prevented by", "may_prevent", True),
    ("has_mechanism_of_action", "has mechanism of action", "mechanism_of_action_of", True),
    ("has_physiologic_effect", "has physiologic effect", "physiologic_effect_of", True),
    ("has_manifestation", "has manifestation", "manifestation_of", True),
    ("manifestation_of", "is a manifestation of", "has_manifestation", True),
    ("occurs_in", "occurs in", None, True),
    ("located_in", "is located in", None, True),
    ("has_location", "has location", None, True),
    ("develops_from", "develops from", None, True),
    ("derives_from", "derives from", None, True),
    ("has_modifier", "has modifier", None, True),
    ("inheres_in", "inheres in", None, True),
    ("has_onset", "has onset", None, True),
    ("regulates", "regulates", None, True),
    ("negatively_regulates", "negatively regulates", None, True),
    ("positively_regulates", "positively regulates", None, True),
    ("disease_has_feature", "has feature", None, True),
    ("disease_has_location", "is located in", None, True),
    # not informative: hierarchy (said through parents), lexical variants, mappings, versions, bare REL codes
    ("inverse_isa", None, "isa", False),
    ("was_a", None, None, False),
    ("same_as", None, None, False),
    ("possibly_equivalent_to", None, None, False),
    ("replaced_by", None, None, False),
    ("replaces", None, None, False),
    ("moved_to", None, None, False),
    ("moved_from", None, None, False),
    ("mapped_to", None, None, False),
    ("mapped_from", None, None, False),
    ("translation_of", None, None, False),
    ("has_translation", None, None, False),
    ("permuted_term_of", None, None, False),
    ("has_permuted_term", None, None, False),
    ("sort_version_of", None, None, False),
    ("has_sort_version", None, None, False),
    ("entry_version_of", None, None, False),
    ("has_entry_version", None, None, False),
    ("expanded_form_of", None, None, False),
    ("has_expanded_form", None, None, False),
    ("abbreviation_of", None, None, False),
    ("has_abbreviation", None, None, False),
    ("classified_as", None, None, False),
    ("classifies", None, None, False),
    *(
        (rel, None, None, False)
        for rel in ("CHD", "PAR", "RB", "RN", "RO", "RQ", "RL", "RU", "SY", "SIB", "XR", "AQ", "QB", "DEL")
    ),
)


def phrase_table() -> pa.Table:
    relation, phrase, inverse, informative = zip(*PHRASES, strict=True)
    return pa.table(
        {
            "relation": list(relation),
            "phrase": list(phrase),
            "inverse": list(inverse),
            "informative": list(informative),
        }
    )
