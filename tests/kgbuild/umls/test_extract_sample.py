"""extract --umls on the bundled sample: the tables, their contracts, and the UMLS semantics that matter."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from kgbuild.core.contracts import check_folder
from kgbuild.umls.extract import MARTS, ExtractOptions, extract_umls


def rows(folder, sql):
    con = duckdb.connect()
    for t in MARTS:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{folder / (t + '.parquet')}')")
    return con.execute(sql).fetchall()


def test_every_table_passes_its_contract(sample_kg):
    results = check_folder(sample_kg)
    assert set(results) == set(MARTS)
    assert all(c.passed for checks in results.values() for c in checks)


def test_mrrel_is_read_right_to_left_on_real_icd10cm_rows(sample_kg):
    # Real row "C0694449 (A00-B99) CHD C0348110 (A20-A28)": A20-A28 is a child of A00-B99.
    got = rows(sample_kg, "SELECT relation, rel FROM relations WHERE head_cui = 'C0348110' AND tail_cui = 'C0694449'")
    assert got == [("CHD", "CHD")]
    # ... and never the other way round.
    assert rows(sample_kg, "SELECT * FROM relations WHERE head_cui = 'C0694449' AND tail_cui = 'C0348110'") == []


def test_both_directions_collapse_to_one_edge_and_self_loops_go(sample_kg):
    # The sample holds CHD and PAR rows for every ICD10CM edge; one remains, child first.
    assert rows(sample_kg, "SELECT count(*) FROM relations WHERE rel IN ('PAR', 'RB')") == [(0,)]
    assert rows(sample_kg, "SELECT count(*) FROM relations WHERE head_cui = tail_cui") == [(0,)]
    got = rows(
        sample_kg,
        "SELECT relation, rel, sab FROM relations WHERE head_cui = 'C0006849' AND tail_cui = 'C0006840' ORDER BY ALL",
    )
    assert got == [("CHD", "CHD", "ICD10CM"), ("RN", "RN", "MSH"), ("isa", "CHD", "SNOMEDCT_US")]
    got = rows(
        sample_kg,
        "SELECT head_cui, relation, tail_cui FROM relations WHERE relation LIKE '%causative%' "
        "AND tail_cui = 'C0006836'",
    )
    assert got == [("C0006840", "has_causative_agent", "C0006836")]  # Candidiasis has causative agent Candida


def test_relation_labels_come_from_mrdoc(sample_kg):
    got = dict((r[0], r[1:]) for r in rows(sample_kg, "SELECT relation, label, inverse FROM relation_labels"))
    assert got["isa"] == ("Is a", "inverse_isa")
    assert got["has_causative_agent"] == ("Has causative agent", "causative_agent_of")


def test_relation_labels_read_from_head_to_tail(sample_kg):
    # head_cui is the child in a CHD row: "Syphilitic alopecia has parent ... Secondary syphilis of skin", so a REL
    # is labelled with the expanded form of its inverse (MRDOC's REL forms read from CUI1 to CUI2).
    got = dict((r[0], r[1]) for r in rows(sample_kg, "SELECT relation, label FROM relation_labels"))
    assert got["CHD"] == "has parent relationship in a Metathesaurus source vocabulary"
    assert got["RN"] == "has a broader relationship"
    edge = rows(
        sample_kg,
        "SELECT h.preferred_name, r.relation, t.preferred_name FROM relations r "
        "JOIN concepts h ON h.cui = r.head_cui JOIN concepts t ON t.cui = r.tail_cui "
        "WHERE h.preferred_name = 'Syphilitic alopecia'",
    )
    assert edge == [("Syphilitic alopecia", "CHD", "Secondary syphilis of skin and mucous membranes")]


def test_preferred_name_rules(sample_kg):
    names = dict(rows(sample_kg, "SELECT cui, preferred_name FROM concepts"))
    # The TS=P/STT=PF/ISPREF=Y atom wins (MeSH heading over the ICD10CM hierarchical term).
    assert names["C0006849"] == "Candidiasis, Oral"
    # No P/PF/Y atom left (the real subset holds ICD10CM atoms only): the best MRRANK rank (PT 0400 over HT 0399).
    got = rows(
        sample_kg, "SELECT n.tty FROM names n JOIN concepts c USING (cui) WHERE c.cui = 'C0700345' AND n.is_preferred"
    )
    assert got == [("HT",)] or got == [("PT",)]
    pts = rows(sample_kg, "SELECT count(*) FROM names WHERE cui = 'C0700345' AND tty = 'PT'")[0][0]
    assert got == ([("PT",)] if pts else [("HT",)])
    # Exactly one preferred atom per (cui, lang).
    assert rows(
        sample_kg, "SELECT count(*) FROM (SELECT cui, lang FROM names GROUP BY ALL HAVING sum(is_preferred::INT) <> 1)"
    ) == [(0,)]


def test_strings_are_read_as_is(sample_kg):
    assert rows(sample_kg, "SELECT name FROM names WHERE aui = 'A9000006'") == [('"Thrush" (oral candidiasis)',)]
    assert rows(sample_kg, "SELECT name FROM names WHERE name LIKE 'Charc%'") == [("Charcôt's arthropathy (tabetic)",)]


def test_default_filters_drop_suppressed_and_other_languages(sample_kg):
    assert rows(sample_kg, "SELECT DISTINCT lang FROM names") == [("ENG",)]
    assert rows(sample_kg, "SELECT count(*) FROM names WHERE suppress IN ('O', 'E', 'Y')") == [(0,)]
    # C1306577's only atom is obsolete: the concept is dropped, and the manifest counts it.
    assert rows(sample_kg, "SELECT count(*) FROM concepts WHERE cui = 'C1306577'") == [(0,)]
    manifest = json.loads((sample_kg / "manifest.json").read_text())
    assert manifest["dropped"]["concepts_without_names"] == 1
    assert manifest["release"]["name"] == "SAMPLE-2025AA"
    assert manifest["inputs"]["files"]["MRCONSO"]["rows"] == manifest["inputs"]["files"]["MRCONSO"]["declared_rows"]


def test_definitions_skip_empty_and_obsolete(sample_kg):
    defs = rows(sample_kg, "SELECT cui, source_id, sab, origin FROM definitions ORDER BY ALL")
    assert ("C0006840", "A9000001", "MSH", "umls") in defs and ("C0006840", "A9000030", "SNOMEDCT_US", "umls") in defs
    cuis = {d[0] for d in defs}
    assert "C0040592" not in cuis  # empty DEF
    assert "C0025012" not in cuis  # SUPPRESS=O
    assert rows(sample_kg, "SELECT has_definition FROM concepts WHERE cui = 'C0040592'") == [(False,)]


def test_sources_carry_licence_levels(sample_kg):
    got = {r[0]: r[1:] for r in rows(sample_kg, "SELECT sab, version, srl, n_atoms FROM sources")}
    assert got["MSH"][:2] == ("2025", 0)  # the CURVER=Y row, not the 2024 one
    assert got["SNOMEDCT_US"][1] == 9
    assert got["ICD10CM"][1] == 4


def test_codes_map_real_atoms_to_their_concept(sample_kg):
    codes = rows(sample_kg, "SELECT cui, sab, code, source FROM codes ORDER BY ALL")
    # Real ICD-10-CM rows: B01.9 "Varicella without complication" (A17773537), B01 "Varicella [chickenpox]"
    # (A17837482), and the MeSH heading the sample adds for chickenpox.
    assert ("C0348188", "ICD10CM", "B01.9", "atom") in codes
    assert [c for c in codes if c[0] == "C0008049"] == [
        ("C0008049", "ICD10CM", "B01", "atom"),
        ("C0008049", "MSH", "D002644", "atom"),
    ]
    # Four MSH atoms of Candidiasis share D002177: one row.
    assert [c for c in codes if c[:3] == ("C0006840", "MSH", "D002177")] == [("C0006840", "MSH", "D002177", "atom")]
    # The same filters as names: no suppressed atom's code (SNOMED CT 4740000 IS SUPPRESS=Y, 187006001 OP SUPPRESS=O),
    # no other language's (MSHFRE), no concept that lost every name (C1306577).
    assert not [c for c in codes if c[2] in ("4740000", "187006001") or c[1] == "MSHFRE" or c[0] == "C1306577"]
    # So every code belongs to a source of the sources table: the licence guard, which reads that table, covers it.
    assert rows(sample_kg, "SELECT DISTINCT sab FROM codes EXCEPT SELECT sab FROM sources") == []


@pytest.mark.parametrize(
    ("opts", "check"),
    [
        (ExtractOptions(sabs=["MSH"]), "SELECT bool_and(sab = 'MSH') AND count(*) = 17 FROM codes"),
        (ExtractOptions(keep_suppressed=True), "SELECT count(*) = 1 FROM codes WHERE code = '4740000'"),
        (ExtractOptions(langs=["ENG", "FRE"]), "SELECT count(*) = 6 FROM codes WHERE sab = 'MSHFRE'"),
        (ExtractOptions(max_srl=0), "SELECT bool_and(sab = 'MSH') FROM codes"),
    ],
)
def test_codes_follow_the_filters(tmp_path, sample_meta, opts, check):
    out = tmp_path / "kg"
    extract_umls(sample_meta, out, opts)
    assert rows(out, check) == [(True,)]


def test_codes_skip_umls_placeholders(tmp_path, sample_meta):
    # UMLS writes NOCODE, or nothing, for an atom that has no code in its source; the atom is still a name.
    meta = tmp_path / "META"
    shutil.copytree(sample_meta, meta, ignore=shutil.ignore_patterns("MRFILES.RRF"))
    with open(meta / "MRCONSO.RRF", "a", encoding="utf-8") as f:
        f.write("C0008049|ENG|S|L9900000|PF|S9900000|N|A9900000|||NOCODE|MTH|SY|NOCODE|Chicken pox|0|N||\n")
        f.write("C0008049|ENG|S|L9900001|PF|S9900001|N|A9900001||||MTH|SY||Chicken-pox|0|N||\n")
    out = tmp_path / "kg"
    extract_umls(meta, out)
    assert rows(out, "SELECT count(*) FROM names WHERE sab = 'MTH'") == [(2,)]
    assert rows(out, "SELECT sab, code FROM codes WHERE cui = 'C0008049' ORDER BY ALL") == [
        ("ICD10CM", "B01"),
        ("MSH", "D002644"),
    ]


@pytest.mark.parametrize(
    ("opts", "check"),
    [
        (
            ExtractOptions(langs=["FRE", "ENG"]),
            "SELECT preferred_name = 'Candidose' FROM concepts WHERE cui = 'C0006840'",
        ),
        (ExtractOptions(keep_suppressed=True), "SELECT count(*) > 0 FROM names WHERE suppress IN ('O', 'E', 'Y')"),
        (ExtractOptions(sabs=["MSH"]), "SELECT bool_and(sab = 'MSH') AND count(*) = 28 FROM names"),
        (
            ExtractOptions(exclude_sabs=["SNOMEDCT_US"]),
            "SELECT count(*) = 0 FROM (SELECT sab FROM names UNION ALL SELECT sab FROM relations "
            "UNION ALL SELECT sab FROM definitions) WHERE sab = 'SNOMEDCT_US'",
        ),
        (ExtractOptions(max_srl=0), "SELECT bool_and(srl = 0) FROM names"),
    ],
)
def test_options(tmp_path, sample_meta, opts, check):
    out = tmp_path / "kg"
    extract_umls(sample_meta, out, opts)
    assert rows(out, check) == [(True,)]
    assert all(c.passed for checks in check_folder(out).values() for c in checks)


def test_max_srl_falls_back_to_mrrank_when_preferred_atom_is_filtered(tmp_path, sample_meta):
    # With SNOMED CT and ICD10CM dropped by licence level, Candidiasis keeps its MeSH heading.
    out = tmp_path / "kg"
    extract_umls(sample_meta, out, ExtractOptions(max_srl=0))
    assert rows(out, "SELECT preferred_name FROM concepts WHERE cui = 'C0006840'") == [("Candidiasis",)]
    # With MeSH dropped, the ICD10CM atoms compete on MRRANK: PT (0400) over HT (0399).
    out2 = tmp_path / "kg2"
    extract_umls(sample_meta, out2, ExtractOptions(exclude_sabs=["MSH"]))
    assert rows(out2, "SELECT n.tty FROM names n WHERE n.cui = 'C0006849' AND n.is_preferred") == [("PT",)]
