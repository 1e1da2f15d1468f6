"""The `codes` table of an OBO KG: each term's own id, and the codes its xref lines give in other vocabularies."""

from __future__ import annotations

import csv
import re
from functools import cache

from kgbuild.obo.terms import Term, prefix
from kgbuild.resources import sql_dir

# An xref's prefix, upper-cased -> the UMLS source name (SAB) of its vocabulary, so that a code reads the same in an
# OBO KG and in a UMLS KG (MSH D006973 either way); one table for every reader, sql/seeds/code_namespaces.csv. A
# prefix not listed keeps its own name, upper-cased. Its `whole_id` column names the vocabularies whose codes are
# whole ids with their prefix, as UMLS writes HPO and GO codes and as these ontologies' own KGs write their terms
# (HP:0001250); every other code is the part after the colon (MSH:D006973 -> D006973).


@cache
def namespaces() -> dict[str, tuple[str, bool]]:
    """prefix -> (sab, whole_id), from the seed table."""
    with open(sql_dir() / "seeds" / "code_namespaces.csv", encoding="utf-8", newline="") as fh:
        return {row["prefix"]: (row["sab"], row["whole_id"] == "true") for row in csv.DictReader(fh)}


# DO dates its SNOMED CT xrefs (SNOMEDCT_US_2023_09_01:...): the edition date is not part of the vocabulary's name.
_EDITION = re.compile(r"_\d{4}_\d{2}_\d{2}$")
_PREFIX = re.compile(r"[A-Za-z][\w.-]*")
_CUI = re.compile(r"C\d{7}")


def xref_code(xref: str) -> tuple[str, str] | None:
    """(sab, code) of an xref such as MSH:D006973; None when it is not a prefixed code (a URL, a bare word)."""
    pre, sep, local = xref.partition(":")
    if not sep or not local or local.startswith("/") or not _PREFIX.fullmatch(pre):
        return None
    sab, whole_id = namespaces().get(_EDITION.sub("", pre.upper()), (pre.upper(), False))
    if sab == "UMLS":
        local = local.upper()
        return (sab, local) if _CUI.fullmatch(local) else None
    return sab, xref if whole_id else local


def id_code(term_id: str) -> tuple[str, str]:
    """(sab, code) of a term's own id: a code when its prefix names a vocabulary whose codes are the part after the
    colon (MESH:D003920 -> MSH D003920, UMLS:C0011849 -> UMLS C0011849), else the whole id under its prefix, as
    names.sab has it (HP:0001250 -> HP HP:0001250)."""
    known = namespaces().get(prefix(term_id).upper())
    code = xref_code(term_id) if known and not known[1] else None
    return code or (prefix(term_id), term_id)


def code_rows(terms: list[Term]) -> tuple[dict[str, list[str]], int]:
    """The codes table's columns, sorted by (cui, sab, code), and the number of xrefs that are not codes. A term's
    own id comes first, so an xref repeating it does not make a second row."""
    rows: dict[tuple[str, str, str], str] = {}
    skipped = 0
    for term in terms:
        rows.setdefault((term.id, *id_code(term.id)), "term")
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
