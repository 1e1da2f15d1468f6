"""Ids read as codes: an OBO xref or a term's own id (or a dictionary's id) → (source name, code), the staging of
the `codes` table (sql/terms/codes.sql)."""

from __future__ import annotations

import csv
import re
from functools import cache

from kgbuild.core.resources import sql_dir
from kgbuild.obo.terms import prefix

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
# A dictionary's bare ids that read as codes: a CUI, else a MeSH descriptor or supplementary record id (6 or 9 digits;
# the NCBI-disease and BC5CDR gold ids and BioSyn's dictionaries write them so).
_BARE = ((re.compile(r"C\d{7}"), "UMLS"), (re.compile(r"[CDM]\d{6}|[CDM]\d{9}"), "MSH"))


def xref_code(xref: str) -> tuple[str, str] | None:
    """(sab, code) of an xref such as MSH:D006973; None when it is not a prefixed code (a URL, a bare word)."""
    pre, sep, local = xref.partition(":")
    if not sep or not local or local.startswith("/") or not _PREFIX.fullmatch(pre):
        return None
    sab, whole_id = namespaces().get(_EDITION.sub("", pre.upper()), (pre.upper(), False))
    if sab == "UMLS":
        local = local.upper()
        return (sab, local) if _CUI.fullmatch(local) else None
    if whole_id:  # the whole id; CTD writes DO's ids inside its own prefix (DO:DOID:9352)
        return sab, local if ":" in local else xref
    return sab, local


def id_code(term_id: str) -> tuple[str, str]:
    """(sab, code) of a term's own id: a code when its prefix names a vocabulary whose codes are the part after the
    colon (MESH:D003920 -> MSH D003920, UMLS:C0011849 -> UMLS C0011849), else the whole id under its prefix, as
    names.sab has it (HP:0001250 -> HP HP:0001250)."""
    known = namespaces().get(prefix(term_id).upper())
    code = xref_code(term_id) if known and not known[1] else None
    return code or (prefix(term_id), term_id)


def bare_code(term_id: str) -> tuple[str, str] | None:
    """(sab, code) of an id written without a prefix that looks like a code (C0011849, D003920); else None."""
    return next(((sab, term_id) for pattern, sab in _BARE if pattern.fullmatch(term_id)), None)
