"""The `codes` table of an OBO KG: each term's own id, and the codes its xref lines give in other vocabularies."""

from __future__ import annotations

import re

from kgbuild.obo.terms import Term, prefix

# An xref's prefix, upper-cased -> the UMLS source name (SAB) of its vocabulary, so that a code reads the same in an
# OBO KG and in a UMLS KG (MSH D006973 either way). A prefix not listed keeps its own name, upper-cased.
XREF_SABS = {
    "MSH": "MSH",
    "MESH": "MSH",
    "SNOMEDCT": "SNOMEDCT_US",
    "SCTID": "SNOMEDCT_US",
    "SNOMEDCT_US": "SNOMEDCT_US",
    "UMLS": "UMLS",  # the code is the CUI
    "UMLS_CUI": "UMLS",  # DO's spelling
    "OMIM": "OMIM",
    "MIM": "OMIM",
    "ORPHA": "ORPHANET",
    "ORPHANET": "ORPHANET",
    "ORDO": "ORPHANET",  # DO's spelling
    "ICD-10": "ICD10",
    "ICD10": "ICD10",
    "ICD10CM": "ICD10CM",
    "ICD-9": "ICD9CM",
    "ICD9CM": "ICD9CM",
    "NCIT": "NCI",
    "NCI": "NCI",
    "DOID": "DOID",
    "MONDO": "MONDO",
    "HP": "HPO",
    "MEDDRA": "MDR",
}
# Vocabularies whose codes are whole ids with their prefix, as UMLS writes HPO and GO codes and as these ontologies'
# own KGs write their terms (HP:0001250); every other code is the part after the colon (MSH:D006973 -> D006973).
WHOLE_ID_SABS = {"HPO", "GO", "MONDO", "DOID"}
# DO dates its SNOMED CT xrefs (SNOMEDCT_US_2023_09_01:...): the edition date is not part of the vocabulary's name.
_EDITION = re.compile(r"_\d{4}_\d{2}_\d{2}$")
_PREFIX = re.compile(r"[A-Za-z][\w.-]*")
_CUI = re.compile(r"C\d{7}")


def xref_code(xref: str) -> tuple[str, str] | None:
    """(sab, code) of an xref such as MSH:D006973; None when it is not a prefixed code (a URL, a bare word)."""
    pre, sep, local = xref.partition(":")
    if not sep or not local or local.startswith("/") or not _PREFIX.fullmatch(pre):
        return None
    sab = XREF_SABS.get(_EDITION.sub("", pre.upper()), pre.upper())
    if sab == "UMLS":
        local = local.upper()
        return (sab, local) if _CUI.fullmatch(local) else None
    return sab, xref if sab in WHOLE_ID_SABS else local


def code_rows(terms: list[Term]) -> tuple[dict[str, list[str]], int]:
    """The codes table's columns, sorted by (cui, sab, code), and the number of xrefs that are not codes. A term's
    own id comes first, so an xref repeating it does not make a second row."""
    rows: dict[tuple[str, str, str], str] = {}
    skipped = 0
    for term in terms:
        rows.setdefault((term.id, prefix(term.id), term.id), "term")
        for xref in term.xrefs:
            code = xref_code(xref)
            if code is None:
                skipped += 1
                continue
            rows.setdefault((term.id, *code), "xref")
    keys = sorted(rows)
    return {
        "cui": [k[0] for k in keys],
        "sab": [k[1] for k in keys],
        "code": [k[2] for k in keys],
        "source": [rows[k] for k in keys],
    }, skipped
