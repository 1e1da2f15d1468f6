"""extract_obo on the hand-written fixture: the KG tables, their contracts, and build-pairs on top."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from kgbuild.core.contracts import check_folder
from kgbuild.core.errors import UserError
from kgbuild.core.tables import differences
from kgbuild.obo import extract_obo
from kgbuild.pairs import PairOptions, build_pairs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "obo"


@pytest.fixture(scope="module")
def obo_kg(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("obo") / "kg"
    extract_obo(FIXTURES / "mini.obo", out)
    return out


def _rows(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    con.sql(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    return con.sql(query).fetchall()


def test_tables_and_contracts(obo_kg):
    results = check_folder(obo_kg)
    assert set(results) == {
        "concepts",
        "names",
        "definitions",
        "relations",
        "relation_labels",
        "semantic_types",
        "sources",
        "umls_xrefs",
        "codes",
    }
    assert all(c.passed for checks in results.values() for c in checks)
    concepts = dict(_rows(obo_kg / "concepts.parquet", "SELECT cui, semantic_types FROM t"))
    assert "HP:0000489" not in concepts  # obsolete
    assert len(concepts) == 14
    assert concepts["HP:0000252"] == ["Phenotypic abnormality"]  # top-level ancestor under HPO's generic root
    assert concepts["HP:0000006"] == ["Mode of inheritance"]
    assert concepts["MONDO:0001149"] == ["disease"]  # a second root that is not generic
    names = _rows(obo_kg / "names.parquet", "SELECT aui, name, sab, tty, is_preferred FROM t WHERE cui = 'HP:0000252'")
    assert names == [
        ("HP:0000252#0", "Microcephaly", "HP", "PT", True),
        ("HP:0000252#1", "Abnormally small skull", "HP", "EXACT", False),
        ("HP:0000252#2", "Decreased circumference of cranium", "HP", "EXACT", False),
        ("HP:0000252#3", "Small head", "HP", "RELATED", False),
        ("HP:0000252#4", "Reduced head circumference", "HP", "BROAD", False),
    ]
    relations = _rows(obo_kg / "relations.parquet", "SELECT head_cui, relation, rel, tail_cui FROM t")
    assert ("HP:0000252", "is_a", "CHD", "HP:0000234") in relations
    assert ("MONDO:0001149", "disease_has_feature", "RO", "HP:0000252") in relations
    assert not [r for r in relations if "HP:0000489" in r or "UBERON:0000468" in r]  # dropped edges
    assert _rows(obo_kg / "definitions.parquet", "SELECT DISTINCT origin FROM t") == [("obo",)]
    # the ontology's own prefix gets its name and version (made by sql/umls/sources.sql, as for a UMLS release)
    assert _rows(obo_kg / "sources.parquet", "SELECT sab, name, version, lang, srl FROM t ORDER BY sab") == [
        ("HP", "hp", "mini/releases/2026-01-01", "ENG", 0),
        ("MONDO", None, None, "ENG", 0),
        ("UBERON", None, None, "ENG", 0),
    ]
    assert _rows(obo_kg / "umls_xrefs.parquet", "SELECT * FROM t WHERE umls_cui = 'C0025958' ORDER BY cui") == [
        ("HP:0000252", "C0025958"),
        ("MONDO:0001149", "C0025958"),
    ]
    manifest = json.loads((obo_kg / "manifest.json").read_text())
    assert manifest["ontology"] == {
        "name": "hp",
        "version": "mini/releases/2026-01-01",
        "format_version": "1.4",
        "licence": "https://creativecommons.org/licenses/by/4.0/",
    }
    assert manifest["dropped"] == {
        "obsolete_terms": 1,
        "unnamed_terms": 0,
        "edges_to_unknown_or_obsolete_terms": 2,
        "xrefs_not_codes": 1,
    }


def test_codes_are_term_ids_and_xrefs_under_umls_source_names(obo_kg):
    codes = _rows(obo_kg / "codes.parquet", "SELECT cui, sab, code, source FROM t ORDER BY ALL")
    # Every kept term has its own id as a code, under its prefix as in names.sab; the obsolete one has none.
    assert len([c for c in codes if c[3] == "term"]) == 14
    assert not [c for c in codes if c[0] == "HP:0000489" or c[2] == "D999999"]
    assert [c for c in codes if c[0] == "MONDO:0001149"] == [
        ("MONDO:0001149", "DOID", "DOID:10907", "xref"),  # DO codes keep their prefix, as DO's own ids do
        ("MONDO:0001149", "GARD", "0003623", "xref"),  # a prefix with no UMLS name: its own, upper-cased
        ("MONDO:0001149", "ICD10CM", "Q02", "xref"),
        ("MONDO:0001149", "MONDO", "MONDO:0001149", "term"),
        ("MONDO:0001149", "MSH", "D008831", "xref"),  # MESH -> MSH
        ("MONDO:0001149", "SNOMEDCT_US", "1829003", "xref"),  # SCTID -> SNOMEDCT_US
        ("MONDO:0001149", "UMLS", "C0025958", "xref"),
    ]  # the https:// link is not a code (manifest: xrefs_not_codes)
    assert [c for c in codes if c[0] == "HP:0001250"] == [
        ("HP:0001250", "HP", "HP:0001250", "term"),
        ("HP:0001250", "MSH", "D012640", "xref"),
        ("HP:0001250", "UMLS", "C0036572", "xref"),
    ]
    # The same code read from MONDO (SCTID) and from HPO (SNOMEDCT_US) is one code.
    assert _rows(obo_kg / "codes.parquet", "SELECT cui FROM t WHERE sab = 'SNOMEDCT_US' ORDER BY cui") == [
        ("HP:0000252",),
        ("MONDO:0001149",),
    ]


def test_build_pairs_on_obo(obo_kg, tmp_path):
    build_pairs(obo_kg, tmp_path / "pairs")
    descriptions = dict(_rows(tmp_path / "pairs" / "descriptions.parquet", "SELECT cui, description FROM t"))
    assert descriptions["HP:0000252"] == (
        "Microcephaly is a phenotypic abnormality which is a kind of abnormality of the head."
    )
    assert descriptions["HP:0000234"] == (
        "Abnormality of the head is a phenotypic abnormality which is a kind of "
        "abnormality of head or neck and is located in head."
    )
    # the parent that is also the semantic type is not said twice
    assert descriptions["HP:0000006"] == "Autosomal dominant inheritance is a mode of inheritance."
    assert descriptions["MONDO:0001149"] == "microcephaly is a disease which has feature microcephaly."
    pairs = tmp_path / "pairs" / "pairs.parquet"
    assert _rows(pairs, "SELECT count(*) FROM (SELECT cui FROM t GROUP BY cui HAVING count(DISTINCT split) > 1)") == [
        (0,)
    ]
    # BROAD synonyms are not synonyms
    assert not _rows(
        pairs, "SELECT * FROM t WHERE anchor = 'Reduced head circumference' OR positive = 'Reduced head circumference'"
    )
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(pairs), split="train")
    assert ds.column_names == ["anchor", "positive", "cui", "kind", "split"]
    assert ds.num_rows == _rows(pairs, "SELECT count(*) FROM t")[0][0] > 0


def test_is_a_cycle_is_rejected_with_its_line(tmp_path):
    with pytest.raises(UserError, match="is_a cycle: TEST:") as info:
        extract_obo(FIXTURES / "cyclic.obo", tmp_path / "kg")
    assert "cyclic.obo:" in str(info.value)
    line = int(str(info.value).split("cyclic.obo:")[1].split(":")[0])
    assert (FIXTURES / "cyclic.obo").read_text().splitlines()[line - 1].startswith("is_a: TEST:")
    assert not (tmp_path / "kg").exists()


def test_existing_output_needs_force(obo_kg):
    with pytest.raises(UserError, match="already exists"):
        extract_obo(FIXTURES / "mini.obo", obo_kg)
    extract_obo(FIXTURES / "mini.obo", obo_kg, force=True)


def test_language_tagged_synonyms_become_names_of_their_language(tmp_path):
    (tmp_path / "ml.obo").write_text(
        "format-version: 1.4\nontology: hp\n\n[Term]\nid: HP:0000001\nname: All\n\n"
        "[Term]\nid: HP:0000252\nname: Microcephaly\nis_a: HP:0000001\n"
        'synonym: "Small head" EXACT []\n'
        'synonym: "Cabeza pequeña" RELATED [] {lang="es"}\n'
        'synonym: "Microcefalia" EXACT [] {lang="es"}\n'
        'synonym: "Microcéphalie"@fr EXACT []\n'
        'synonym: "Mikrozephalie" EXACT [] {xml:lang="de-DE"}\n',
        encoding="utf-8",
    )
    manifest = extract_obo(tmp_path / "ml.obo", tmp_path / "kg")
    names = _rows(
        tmp_path / "kg" / "names.parquet",
        "SELECT name, lang, tty, is_preferred FROM t WHERE cui = 'HP:0000252' ORDER BY aui",
    )
    assert names == [
        ("Microcephaly", "ENG", "PT", True),
        ("Small head", "ENG", "EXACT", False),
        ("Cabeza pequeña", "SPA", "RELATED", False),
        ("Microcefalia", "SPA", "EXACT", True),
        ("Microcéphalie", "FRE", "EXACT", True),
        ("Mikrozephalie", "GER", "EXACT", True),
    ]
    assert manifest["languages"]["SPA"] == {"atoms": 2, "concepts": 1}
    assert all(c.passed for checks in check_folder(tmp_path / "kg").values() for c in checks)
    out = tmp_path / "pairs"
    build_pairs(tmp_path / "kg", out, options=PairOptions(parallel_langs=("SPA",)))
    assert ("Microcephaly", "Microcefalia") in _rows(out / "parallel.parquet", "SELECT en, xx FROM t")


def test_gzipped_ontology_gives_the_same_tables(obo_kg, tmp_path):
    gz = tmp_path / "mini.obo.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "mini.obo").read_bytes()))
    manifest = extract_obo(gz, tmp_path / "kg")
    assert differences(obo_kg, tmp_path / "kg") == []
    assert manifest["inputs"]["obo"]["bytes"] == gz.stat().st_size


def test_truncated_gzip_is_named(tmp_path):
    gz = tmp_path / "mini.obo.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "mini.obo").read_bytes())[:-200])
    with pytest.raises(UserError, match=r"mini\.obo\.gz: the gzip file is truncated or corrupt"):
        extract_obo(gz, tmp_path / "kg")
    assert not (tmp_path / "kg").exists()


def test_ids_that_are_codes_become_codes(tmp_path):
    """An ontology whose term ids are source codes (as MEDIC-derived and UMLS-derived OBO files are): each id is a
    code under its vocabulary's UMLS name, without repeating itself as an xref; an id that is a CUI also links to
    UMLS."""
    (tmp_path / "codes.obo").write_text(
        "format-version: 1.4\nontology: medic\n\n"
        "[Term]\nid: MESH:D003920\nname: Diabetes Mellitus\n\n"
        "[Term]\nid: MESH:D003924\nname: Diabetes Mellitus, Type 2\nis_a: MESH:D003920\nxref: OMIM:125853\n\n"
        "[Term]\nid: OMIM:222100\nname: Diabetes mellitus, insulin-dependent\nis_a: MESH:D003920\n\n"
        "[Term]\nid: UMLS:C0011849\nname: Diabetes Mellitus\n\n"
        "[Term]\nid: NCIT:C2985\nname: Diabetes Mellitus\n\n",
        encoding="utf-8",
    )
    extract_obo(tmp_path / "codes.obo", tmp_path / "kg")
    assert _rows(tmp_path / "kg" / "codes.parquet", "SELECT * FROM t ORDER BY ALL") == [
        ("MESH:D003920", "MSH", "D003920", "term"),
        ("MESH:D003924", "MSH", "D003924", "term"),
        ("MESH:D003924", "OMIM", "125853", "xref"),
        ("NCIT:C2985", "NCI", "C2985", "term"),
        ("OMIM:222100", "OMIM", "222100", "term"),
        ("UMLS:C0011849", "UMLS", "C0011849", "term"),
    ]
    assert _rows(tmp_path / "kg" / "umls_xrefs.parquet", "SELECT * FROM t") == [("UMLS:C0011849", "C0011849")]
    assert all(c.passed for checks in check_folder(tmp_path / "kg").values() for c in checks)


def test_tables_are_those_of_the_python_extract(obo_kg):
    """The KG of mini.obo as the extract wrote it before OBO went through staging tables and sql/terms/ (commit
    5054f00): the same rows in the same order, table by table (DOID and HPO were compared the same way, with
    benchmarks/compare_kg.py)."""
    assert differences(FIXTURES / "mini-kg-5054f00", obo_kg) == []
