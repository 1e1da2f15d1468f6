"""Where a kgbuild output's content comes from, and whether its licence allows public redistribution.

UMLS content may not be redistributed freely: sources with a restriction level (MRSAB.SRL) above 0 and SNOMED CT
(SRL 9, affiliate licence) need the publisher's own rights. When the sources cannot be established the data is
treated as restricted: publishing privately is always allowed, publishing publicly then needs an acknowledgement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgbuild.core import lineage
from kgbuild.core.errors import UserError
from kgbuild.core.lineage import origin_kind
from kgbuild.core.manifest import read_manifest

UMLS_LICENCE_URL = (
    "https://www.nlm.nih.gov/research/umls/knowledge_sources/metathesaurus/release/license_agreement.html"
)
SNOMED_LICENCE_URL = "https://www.nlm.nih.gov/healthit/snomedct/snomed_licensing.html"
ACK_FLAG = "--i-have-redistribution-rights"

# SNOMED CT and its national editions/translations in UMLS (SNOMEDCT_US, SNOMEDCT_VET, SCTSPA, ...).
_SNOMED = re.compile(r"^(SNOMED|SCT)", re.IGNORECASE)

# OBO licence URLs/names -> Hub licence identifiers (anything else is published as `other` with its link).
_HUB_LICENCES = (
    ("publicdomain/zero/1.0", "cc0-1.0"),
    ("cc0", "cc0-1.0"),
    ("licenses/by-sa/4.0", "cc-by-sa-4.0"),
    ("licenses/by/4.0", "cc-by-4.0"),
    ("licenses/by/3.0", "cc-by-3.0"),
    ("cc-by-4.0", "cc-by-4.0"),
    ("cc by 4.0", "cc-by-4.0"),
    ("cc-by-3.0", "cc-by-3.0"),
)


@dataclass(frozen=True)
class Source:
    sab: str
    name: str | None = None
    version: str | None = None
    srl: int | None = None
    n_atoms: int | None = None

    @property
    def is_snomed(self) -> bool:
        return bool(_SNOMED.match(self.sab))


@dataclass
class Licence:
    """The licence facts of one DATA_DIR, for the guard and the card."""

    origin: str  # 'umls' | 'obo' | 'unknown'
    sources: list[Source]
    sources_from: str  # where the source list was read, for the card and error messages
    restricted: bool
    reasons: list[str]
    hub_licence: str  # the card's `license:` value
    licence_name: str | None = None  # `license_name:` when hub_licence is 'other'
    licence_link: str | None = None
    release: str | None = None  # UMLS release name (MRDOC umls.release.name)
    ontology: dict[str, Any] | None = None  # OBO header: name, version, licence
    extract_parameters: dict[str, Any] = field(default_factory=dict)
    kg_languages: list[str] = field(default_factory=list)  # the KG manifest's `languages` (atoms kept per language)
    chain: list[dict[str, Any]] = field(default_factory=list)  # the steps that made DATA_DIR, itself first

    def line(self) -> str:
        """The one line `publish` and `trainer push` print: the card's licence and the guard's verdict."""
        name = f" ({self.licence_name})" if self.licence_name else ""
        verdict = "no redistribution restriction found"
        if self.restricted:
            verdict = "restricted: " + "; ".join(self.reasons)
        return f"licence: {self.hub_licence}{name} — {verdict}"


def _source(item: Any) -> Source | None:
    """A source recorded as {sab, srl, ...} (a lineage block, a manifest, a sources table row)."""
    if not isinstance(item, dict) or not item.get("sab"):
        return None
    srl = item.get("srl")
    return Source(
        str(item["sab"]),
        item.get("name"),
        item.get("version"),
        int(srl) if isinstance(srl, int | float | str) and str(srl).isdigit() else None,
        item.get("n_atoms"),
    )


def manifest_of(folder: Path) -> dict[str, Any]:
    """read_manifest (a broken manifest.json is reported there, as the user's file to fix)."""
    return read_manifest(folder)


def _hub_licence_for(text: str | None) -> str | None:
    if not text:
        return None
    low = text.lower()
    for needle, hub in _HUB_LICENCES:
        if needle in low:
            return hub
    return None


# From the least to the most restrictive; any other licence (published as `other`) and none at all come after.
_OPENNESS = ("cc0-1.0", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-4.0")


def most_restrictive(licences: list[str | None]) -> str | None:
    """The licence of content merged from several ontologies: the most restrictive one declared, None when one of
    them declares none (the guard then refuses a public upload without an acknowledgement)."""
    if not licences or any(not text for text in licences):
        return None

    def rank(text: str) -> int:
        hub = _hub_licence_for(text)
        return _OPENNESS.index(hub) if hub in _OPENNESS else len(_OPENNESS)

    return max(licences, key=rank)


def from_lineage(block: dict[str, Any], *, folder: Path, manifest: dict[str, Any]) -> Licence:
    """The licence of a folder from the lineage block of its own manifest: nothing outside the folder is read."""
    origins = [o for o in block.get("origins") or [] if isinstance(o, dict)]
    chain = [lineage.step(folder, manifest), *reversed([s for s in block.get("steps") or [] if isinstance(s, dict)])]
    if not origins:
        return _decide({"origin": "unknown"}, [], "not found", chain, [])
    sources: dict[tuple[str, int | None], Source] = {}
    for entry in origins:
        for item in entry.get("sources") or []:
            if (s := _source(item)) is not None:
                sources.setdefault((s.sab, s.srl), s)
    extra = []
    if len(origins) > 1:  # the card can state one origin's terms; more than one needs the publisher's own check
        named = ", ".join(f"{o.get('kg') or '?'} ({o.get('origin')})" for o in origins)
        extra.append(f"the data comes from more than one knowledge graph: {named}")
    first = origins[0]
    sources_from = (
        f"{first['sources_from']} of {first.get('kg') or 'the KG'}, carried in the lineage of {folder}"
        if first.get("sources_from")
        else "not found"
    )
    return _decide(first, sorted(sources.values(), key=lambda s: s.sab), sources_from, chain, extra)


def _decide(
    facts: dict[str, Any], sources: list[Source], sources_from: str, chain: list[dict[str, Any]], reasons: list[str]
) -> Licence:
    """Whether content of one origin (a lineage origin entry) and these sources is freely redistributable."""
    origin = facts.get("origin") or "unknown"
    ontology = facts.get("ontology") if isinstance(facts.get("ontology"), dict) else None
    reasons = list(reasons)
    if not sources:
        reasons.append(
            "the source vocabularies could not be established (no sources table in DATA_DIR or the KG "
            "its manifest names, and none recorded in a manifest)"
        )
    if origin == "unknown":
        reasons.append(
            "the data's origin (UMLS release or OBO ontology) could not be established: no extract manifest found"
        )
    snomed = [s.sab for s in sources if s.is_snomed]
    if snomed:
        reasons.append(f"SNOMED CT content (affiliate licence): {', '.join(snomed)}")
    above = [f"{s.sab} (SRL {s.srl})" for s in sources if s.srl is not None and s.srl > 0 and not s.is_snomed]
    if above:
        reasons.append(f"UMLS sources with restriction level above 0: {', '.join(above)}")
    unknown = [s.sab for s in sources if s.srl is None]
    if unknown:
        reasons.append(f"sources with no known restriction level: {', '.join(unknown)}")

    name = link = None
    if origin == "obo":
        declared = (ontology or {}).get("licence")
        hub = _hub_licence_for(declared)
        if hub is None:
            hub, name = "other", "ontology-licence"
            link = declared if isinstance(declared, str) and declared.startswith("http") else None
            if not declared:
                reasons.append(f"the ontology {(ontology or {}).get('name') or '(unnamed)'} declares no licence")
        else:
            link = declared if isinstance(declared, str) and declared.startswith("http") else None
    elif snomed:
        hub, name, link = "other", "ihtsdo-and-nlm-licences", UMLS_LICENCE_URL
    else:
        hub, name, link = "other", "nlm-umls-licence", UMLS_LICENCE_URL
    return Licence(
        origin=origin,
        sources=sources,
        sources_from=sources_from,
        restricted=bool(reasons),
        reasons=reasons,
        hub_licence=hub,
        licence_name=name,
        licence_link=link,
        release=facts.get("release"),
        ontology=ontology,
        extract_parameters=dict(facts.get("filters") or {}),
        chain=chain,
        kg_languages=list(facts.get("languages") or {}),
    )


def assess(data_dir: Path) -> Licence:
    """Decide whether DATA_DIR's content is freely redistributable, from its own manifest: the lineage block that
    build-pairs and generate-definitions carry forward, or for a KG its release/ontology and sources table. A derived
    folder without lineage is refused (rebuilding it records one)."""
    folder = Path(data_dir)
    manifest = manifest_of(folder)
    block = manifest.get(lineage.KEY)
    if isinstance(block, dict):
        return from_lineage(block, folder=folder, manifest=manifest)
    if not manifest or origin_kind(manifest) != "unknown":  # the KG itself (or a folder with no manifest at all)
        facts = lineage.origin(folder, manifest)["origins"][0]
        sources = [s for item in facts["sources"] if (s := _source(item))]
        found = f"{facts['sources_from']} of {folder}" if facts["sources_from"] else "not found"
        return _decide(facts, sources, found, [lineage.step(folder, manifest)], [])
    raise UserError(  # where its content comes from is not guessed by following old manifests back
        "no lineage block (written before kgbuild recorded where content comes from)",
        path=folder / "manifest.json",
        fix="rebuild it with the command that made it; this kgbuild records the lineage",
    )


def unknown(reason: str) -> Licence:
    """When not even a data folder can be found (e.g. a model without its run manifest): restricted."""
    return Licence(
        origin="unknown",
        sources=[],
        sources_from="not found",
        restricted=True,
        reasons=[reason],
        hub_licence="other",
        licence_name="training-data-licence-unknown",
    )


def terms_text(lic: Licence, subject: str = "This data") -> str:
    """The licence paragraph of a card; stated whether or not the data is restricted."""
    if lic.origin == "unknown":
        text = (
            f"{subject} comes from sources that could not be established. If it includes UMLS content, the UMLS "
            f"Metathesaurus License Agreement applies ({UMLS_LICENCE_URL}); SNOMED CT content requires a SNOMED "
            f"CT Affiliate Licence ({SNOMED_LICENCE_URL})."
        )
    elif lic.origin == "obo":
        onto = lic.ontology or {}
        declared = onto.get("licence") or "no licence declared in the ontology file"
        text = (
            f"{subject} is derived from the {onto.get('name') or 'OBO'} ontology "
            f"(version {onto.get('version') or 'unknown'}), distributed under: {declared}. "
            "Reuse must follow that licence, including its attribution terms."
        )
    else:
        text = (
            f"{subject} is derived from the UMLS Metathesaurus"
            f"{' release ' + lic.release if lic.release else ''} and is subject to the UMLS Metathesaurus "
            f"License Agreement ({UMLS_LICENCE_URL}). Users need their own UMLS licence. Sources with a "
            "restriction level (SRL) above 0 carry additional terms (sections 12.1-12.4 of the agreement); "
            "SNOMED CT (SRL 9) requires a SNOMED CT Affiliate Licence or use in a member country "
            f"({SNOMED_LICENCE_URL})."
        )
    if lic.restricted:
        text += (
            " **Redistribution is restricted:** " + "; ".join(lic.reasons) + ". Keep this repository private "
            "or gated unless you hold the rights to redistribute this content."
        )
    return text


def guard(lic: Licence, *, public: bool, acknowledged: bool, path: Path) -> None:
    """Refuse a public upload of restricted (or unestablished) content unless the user acknowledges their rights."""
    if public and lic.restricted and not acknowledged:
        raise UserError(
            "refusing to publish publicly: " + "; ".join(lic.reasons),
            path=path,
            fix=f"drop --public to publish privately, or pass {ACK_FLAG} if your licences allow redistribution",
        )
