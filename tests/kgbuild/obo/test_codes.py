"""OBO xrefs as codes: each prefix under the UMLS source name of its vocabulary."""

from __future__ import annotations

import pytest

from kgbuild.sources.codes import xref_code


@pytest.mark.parametrize(
    ("xref", "code"),
    [
        ("MSH:D006973", ("MSH", "D006973")),  # HPO's spelling
        ("MESH:D006973", ("MSH", "D006973")),  # MONDO's and DO's
        ("SNOMEDCT_US:38341003", ("SNOMEDCT_US", "38341003")),
        ("SCTID:38341003", ("SNOMEDCT_US", "38341003")),
        ("SNOMEDCT:38341003", ("SNOMEDCT_US", "38341003")),
        ("SNOMEDCT_US_2023_09_01:38341003", ("SNOMEDCT_US", "38341003")),  # DO dates the edition
        ("UMLS:C0020538", ("UMLS", "C0020538")),
        ("UMLS_CUI:c0020538", ("UMLS", "C0020538")),
        ("OMIM:145500", ("OMIM", "145500")),
        ("MIM:145500", ("OMIM", "145500")),
        ("Orphanet:558", ("ORPHANET", "558")),
        ("ORPHA:558", ("ORPHANET", "558")),
        ("ICD-10:I10", ("ICD10", "I10")),
        ("ICD10CM:I10", ("ICD10CM", "I10")),
        ("ICD-9:401.9", ("ICD9CM", "401.9")),
        ("NCIT:C3117", ("NCI", "C3117")),
        ("MedDRA:10020772", ("MDR", "10020772")),
        ("HP:0000822", ("HPO", "HP:0000822")),  # HPO and GO codes are whole ids, in UMLS too
        ("GO:0008150", ("GO", "GO:0008150")),
        ("DOID:10763", ("DOID", "DOID:10763")),
        ("DO:DOID:10763", ("DOID", "DOID:10763")),  # CTD's spelling
        ("MONDO:0005044", ("MONDO", "MONDO:0005044")),
        ("EFO:0000537", ("EFO", "0000537")),  # no UMLS name: the prefix, upper-cased
    ],
)
def test_xref_prefixes_map_to_umls_source_names(xref, code):
    assert xref_code(xref) == code


@pytest.mark.parametrize("xref", ["https://example.org/a", "Wikipedia", "MSH:", ":D006973", "UMLS:C00205", "1:2"])
def test_what_is_not_a_code(xref):
    assert xref_code(xref) is None
