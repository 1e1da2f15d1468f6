"""`--obo FILE.obo[.gz]`: an ontology in OBO format (HPO, MONDO, DO, GO, ...) read into the staging tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kgbuild.core.errors import UserError
from kgbuild.obo.hierarchy import is_a_graph
from kgbuild.obo.parser import parse_obo, unescape
from kgbuild.obo.terms import prefix, read_terms
from kgbuild.sources import register
from kgbuild.sources.codes import id_code, xref_code
from kgbuild.sources.staging import Staged

_LICENCE_KEYS = ("license", "licence", "rights")


def ontology_block(doc) -> dict[str, Any]:
    """The header's name, version, format version and licence (a property_value whose key ends in licence)."""
    block: dict[str, Any] = {
        "name": doc.header_value("ontology"),
        "version": doc.header_value("data-version"),
        "format_version": doc.header_value("format-version"),
        "licence": None,
    }
    for clause in doc.header:
        if clause.tag != "property_value":
            continue
        tokens = clause.value.split(None, 1)
        if len(tokens) == 2 and tokens[0].rstrip("/").lower().endswith(_LICENCE_KEYS):
            value = tokens[1].strip()
            if value.startswith('"'):
                value = value[1 : value.rfind('"')] if value.rfind('"') > 0 else value[1:]
            else:
                value = value.split()[0]
            block["licence"] = unescape(value)
    return block


@register
class OboSource:
    option = "--obo"
    kind = "obo"

    def read(self, path: Path, source: int, **options: Any) -> Staged:
        doc = parse_obo(path)
        all_terms, typedefs = read_terms(doc)
        terms = [t for t in all_terms if not t.obsolete and t.name]
        if not terms:
            obsolete = sum(t.obsolete for t in all_terms)
            raise UserError(
                f"no term to extract: {len(all_terms)} [Term] stanza(s), {obsolete} obsolete, "
                f"{len(all_terms) - obsolete} without a name",
                path=path,
                fix="give an ontology in OBO format: [Term] stanzas with an id: and a name:",
            )
        is_a_graph(terms, path)  # an is_a cycle is refused with its line
        kept = {t.id for t in terms}
        staged = Staged(source)
        xrefs_not_codes = 0
        for position, term in enumerate(terms):
            staged.add(
                "stg_terms__terms",
                term_id=term.id,
                sab=prefix(term.id),
                name=term.name,
                namespace=term.namespace,
                definition=term.definition if term.definition and term.definition.strip() else None,
                position=position,
            )
            synonyms = [s for s in term.synonyms if s.text.strip()]
            for i, syn in enumerate(synonyms, start=1):
                staged.add("stg_terms__synonyms", term_id=term.id, i=i, text=syn.text, scope=syn.scope, lang=syn.lang)
            sab, code = id_code(term.id)
            staged.add("stg_terms__codes", term_id=term.id, sab=sab, code=code, kind="term")
            for xref in term.xrefs:
                parsed = xref_code(xref)
                if parsed is None:
                    xrefs_not_codes += 1
                else:
                    staged.add("stg_terms__codes", term_id=term.id, sab=parsed[0], code=parsed[1], kind="xref")
            for edge in term.parents + term.relationships:
                staged.add("stg_terms__edges", term_id=term.id, relation=edge.relation, target=edge.target)
        for rel in typedefs.values():
            staged.add("stg_terms__relation_types", relation=rel.id, label=rel.name, inverse=rel.inverse)
        ontology = ontology_block(doc)
        main_prefix = (ontology["name"] or "").upper().removesuffix(".OBO")  # "ontology: hp.obo" names prefix HP
        # the ontology's own name and version go to its own prefix (the sources of other prefixes have none)
        for sab in sorted({prefix(t.id) for t in terms}):
            if sab.upper() == main_prefix:
                staged.add("stg_terms__sources", sab=sab, name=ontology["name"], version=ontology["version"])
        staged.manifest = {
            "kind": self.kind,
            "path": str(path),
            "bytes": Path(path).stat().st_size,
            "stanzas": len(doc.stanzas),
            "ontology": ontology,
            "dropped": {
                "obsolete_terms": sum(t.obsolete for t in all_terms),
                "unnamed_terms": sum(1 for t in all_terms if not t.obsolete and not t.name),
                "edges_to_unknown_or_obsolete_terms": sum(
                    1 for t in terms for e in t.parents + t.relationships if e.target not in kept
                ),
                "xrefs_not_codes": xrefs_not_codes,
            },
        }
        return staged
