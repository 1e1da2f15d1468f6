"""Relations from literal MRREL rows: direction, collapsing both directions, the grain, and unknown inverses."""

from __future__ import annotations

import json
import shutil

import duckdb

from kgbuild.umls.extract import extract_umls

CONSO = "".join(
    f"{cui}|ENG|P|L{i}|PF|S{i}|Y|A{i}||||MSH|MH|D{i}|{name}|0|N||\n"
    for i, (cui, name) in enumerate(
        [("C0000001", "Femur fracture"), ("C0000002", "Leg fracture"), ("C0000003", "Femur"), ("C0000004", "Aspirin")]
    )
)
DOC = (
    "REL|CHD|rel_inverse|PAR|\nREL|PAR|rel_inverse|CHD|\nREL|RO|rel_inverse|RO|\nREL|RQ|rel_inverse|RQ|\n"
    "RELA|isa|rela_inverse|inverse_isa|\nRELA|inverse_isa|rela_inverse|isa|\n"
    "RELA|has_finding_site|rela_inverse|finding_site_of|\nRELA|finding_site_of|rela_inverse|has_finding_site|\n"
)


def rel(c1, r, c2, rela="", sab="SNOMEDCT_US", sup="N"):
    return f"{c1}||CUI|{r}|{c2}||CUI|{rela}|R{abs(hash((c1, r, c2, rela))) % 10**8}||{sab}|{sab}|||{sup}||\n"


def relations(tmp_path, mrrel: str, mrdoc: str = DOC):
    meta = tmp_path / "META"
    meta.mkdir()
    (meta / "MRCONSO.RRF").write_text(CONSO)
    (meta / "MRREL.RRF").write_text(mrrel)
    if mrdoc:
        (meta / "MRDOC.RRF").write_text(mrdoc)
    extract_umls(meta, tmp_path / "kg")
    return duckdb.execute(
        f"SELECT head_cui, relation, rel, tail_cui, sab FROM '{tmp_path}/kg/relations.parquet' ORDER BY ALL"
    ).fetchall()


def test_both_directions_become_one_edge_child_first(tmp_path):
    got = relations(
        tmp_path, rel("C0000002", "CHD", "C0000001", "isa") + rel("C0000001", "PAR", "C0000002", "inverse_isa")
    )
    assert got == [("C0000001", "isa", "CHD", "C0000002", "SNOMEDCT_US")]  # femur fracture is a leg fracture


def test_has_form_is_canonical_for_attribute_relations(tmp_path):
    # "C0000003 finding_site_of C0000001" and its inverse "C0000001 has_finding_site C0000003".
    got = relations(
        tmp_path,
        rel("C0000003", "RO", "C0000001", "has_finding_site") + rel("C0000001", "RO", "C0000003", "finding_site_of"),
    )
    assert got == [("C0000001", "has_finding_site", "RO", "C0000003", "SNOMEDCT_US")]


def test_symmetric_relation_keeps_smaller_cui_as_head(tmp_path):
    got = relations(tmp_path, rel("C0000001", "RQ", "C0000004") + rel("C0000004", "RQ", "C0000001"))
    assert got == [("C0000001", "RQ", "RQ", "C0000004", "SNOMEDCT_US")]


def test_one_row_per_grain_when_a_rela_comes_with_two_rels(tmp_path):
    got = relations(tmp_path, rel("C0000002", "CHD", "C0000001", "isa") + rel("C0000002", "RO", "C0000001", "isa"))
    assert got == [("C0000001", "isa", "CHD", "C0000002", "SNOMEDCT_US")]


def test_same_edge_from_two_sources_stays_two_rows(tmp_path):
    got = relations(
        tmp_path, rel("C0000002", "CHD", "C0000001", "isa") + rel("C0000002", "CHD", "C0000001", "isa", "MSH")
    )
    assert [r[4] for r in got] == ["MSH", "SNOMEDCT_US"]


def test_unknown_rela_without_mrdoc_is_kept_as_read(tmp_path):
    got = relations(tmp_path, rel("C0000004", "RO", "C0000001", "may_treat"), mrdoc="")
    assert got == [("C0000001", "may_treat", "RO", "C0000004", "SNOMEDCT_US")]


def test_without_mrdoc_both_directions_collapse_on_the_builtin_inverses(tmp_path):
    got = relations(
        tmp_path,
        rel("C0000002", "CHD", "C0000001", "isa")
        + rel("C0000001", "PAR", "C0000002", "inverse_isa")
        + rel("C0000003", "RO", "C0000001", "has_finding_site")
        + rel("C0000001", "RO", "C0000003", "finding_site_of")
        + rel("C0000001", "RQ", "C0000004")
        + rel("C0000004", "RQ", "C0000001"),
        mrdoc="",
    )
    assert got == [
        ("C0000001", "RQ", "RQ", "C0000004", "SNOMEDCT_US"),
        ("C0000001", "has_finding_site", "RO", "C0000003", "SNOMEDCT_US"),
        ("C0000001", "isa", "CHD", "C0000002", "SNOMEDCT_US"),
    ]
    manifest = json.loads((tmp_path / "kg" / "manifest.json").read_text())
    assert manifest["relation_inverses"] == "built-in table"
    assert manifest["inputs"]["absent_files"] == ["MRSTY.RRF", "MRDEF.RRF", "MRSAB.RRF", "MRRANK.RRF", "MRDOC.RRF"]


def test_sample_relations_are_the_same_without_mrdoc(tmp_path, sample_kg, sample_meta):
    meta = tmp_path / "META"
    shutil.copytree(sample_meta, meta, ignore=shutil.ignore_patterns("MRDOC.RRF", "MRFILES.RRF"))
    extract_umls(meta, tmp_path / "kg")
    query = "SELECT * FROM '{}/relations.parquet' ORDER BY ALL"
    assert duckdb.sql(query.format(tmp_path / "kg")).fetchall() == duckdb.sql(query.format(sample_kg)).fetchall()


def test_self_loops_suppressed_and_dangling_edges_are_dropped(tmp_path):
    got = relations(
        tmp_path,
        rel("C0000001", "RO", "C0000001", "has_finding_site")
        + rel("C0000003", "RO", "C0000001", "has_finding_site", sup="O")
        + rel("C0000009", "CHD", "C0000001", "isa"),
    )
    assert got == []


def test_undocumented_rel_joins_the_edge_of_a_known_relation_name(tmp_path):
    # "ZZ" has no inverse rule: its row is kept as read, and its relation name (isa) is one the rules know, so
    # it meets the CHD row in the same edge instead of making a second (head, isa, tail, sab) row.
    got = relations(tmp_path, rel("C0000002", "CHD", "C0000001", "isa") + rel("C0000002", "ZZ", "C0000001", "isa"))
    assert got == [("C0000001", "isa", "CHD", "C0000002", "SNOMEDCT_US")]


def test_undocumented_rel_and_rela_stay_as_read(tmp_path):
    got = relations(tmp_path, rel("C0000004", "ZZ", "C0000001", "may_prevent") + rel("C0000004", "ZZ", "C0000001"))
    assert got == [
        ("C0000001", "ZZ", "ZZ", "C0000004", "SNOMEDCT_US"),
        ("C0000001", "may_prevent", "ZZ", "C0000004", "SNOMEDCT_US"),
    ]


def test_file_is_sorted_by_head_relation_tail_source(tmp_path):
    # The order of the file itself (no ORDER BY): head cui; documented relation names in name order, then names no
    # MRDOC rule knows ("affects"); tail cui; source.
    mrrel = (
        rel("C0000004", "ZZ", "C0000001", "affects")
        + rel("C0000002", "CHD", "C0000001", "isa")
        + rel("C0000004", "RQ", "C0000002")
        + rel("C0000002", "CHD", "C0000001", "isa", sab="MSH")
        + rel("C0000003", "RO", "C0000001", "has_finding_site")
    )
    relations(tmp_path, mrrel)
    got = duckdb.execute(
        f"SELECT head_cui, relation, tail_cui, sab FROM read_parquet('{tmp_path}/kg/relations.parquet')"
    ).fetchall()
    assert got == [
        ("C0000001", "has_finding_site", "C0000003", "SNOMEDCT_US"),
        ("C0000001", "isa", "C0000002", "MSH"),
        ("C0000001", "isa", "C0000002", "SNOMEDCT_US"),
        ("C0000001", "affects", "C0000004", "SNOMEDCT_US"),
        ("C0000002", "RQ", "C0000004", "SNOMEDCT_US"),
    ]
