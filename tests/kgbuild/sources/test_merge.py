"""Several sources, one KG: mini.obo (HPO and MONDO terms) and a dictionary of UMLS concepts, merged on CUIs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from kgbuild.core.contracts import check_folder
from kgbuild.core.errors import UserError
from kgbuild.core.tables import differences
from kgbuild.publish.licence import assess, most_restrictive
from kgbuild.sources.extract import extract_sources

MINI = Path(__file__).resolve().parents[2] / "fixtures" / "obo" / "mini.obo"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
KB = [
    # HP:0001250 (Seizure) gives UMLS:C0036572: the dictionary's concept joins it
    {"concept_id": "C0036572", "canonical_name": "Seizures", "aliases": ["Convulsions"], "types": ["T047"]},
    # HP:0000252 and MONDO:0001149, two terms of mini.obo, both give C0025958: a conflict, kept apart
    {"concept_id": "C0025958", "canonical_name": "Microcephalus", "aliases": [], "types": []},
    {"concept_id": "C0018681", "canonical_name": "Headache", "aliases": [], "types": []},  # in no other input
]


def rows(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    return con.execute(query).fetchall()


@pytest.fixture
def inputs(tmp_path) -> list:
    (tmp_path / "umls_kb.jsonl").write_text("\n".join(json.dumps(r) for r in KB) + "\n", encoding="utf-8")
    return [("--obo", MINI, {}), ("--vocab", tmp_path / "umls_kb.jsonl", {"layout": "scispacy"})]


def test_merged_on_shared_cuis(inputs, tmp_path):
    manifest = extract_sources(inputs, tmp_path / "kg", merge_on=["UMLS"])
    kg = tmp_path / "kg"
    assert all(c.passed for checks in check_folder(kg).values() for c in checks)
    # the dictionary's concept became the ontology term's: its names keep their source
    assert rows(kg / "names.parquet", "SELECT aui, name, sab, is_preferred FROM t WHERE cui = 'HP:0001250'") == [
        ("HP:0001250#0", "Seizure", "HP", True),
        ("HP:0001250#1", "Seizures", "HP", False),
        ("HP:0001250#2", "Epileptic seizure", "HP", False),
        ("HP:0001250#3", "Fits", "HP", False),
        ("C0036572#0", "Seizures", "UMLS_KB", False),
        ("C0036572#1", "Convulsions", "UMLS_KB", False),
    ]
    concepts = dict(rows(kg / "concepts.parquet", "SELECT cui, semantic_types FROM t"))
    assert "C0036572" not in concepts and "C0018681" in concepts
    assert concepts["HP:0001250"] == ["Phenotypic abnormality", "T047"]
    # the conflict: C0025958 would join two concepts of mini.obo, so all three stay apart
    assert {"HP:0000252", "MONDO:0001149", "C0025958"} <= set(concepts)
    merge = manifest["merge"]
    assert merge["on"] == ["UMLS"]
    assert (merge["terms_merged"], merge["into_concepts"], merge["n_conflicts"], merge["terms_in_conflicts"]) == (
        1,
        1,
        1,
        3,
    )
    assert merge["conflicts"] == [["HP:0000252", "MONDO:0001149", "C0025958"]]
    assert rows(kg / "sources.parquet", "SELECT sab, name FROM t ORDER BY sab") == [
        ("HP", "hp"),
        ("MONDO", None),
        ("UBERON", None),
        ("UMLS_KB", "umls_kb"),
    ]
    # ids are stable: the same inputs give the same tables
    extract_sources(inputs, tmp_path / "again", merge_on=["UMLS"])
    assert differences(kg, tmp_path / "again") == []


def test_without_merge_on_nothing_is_merged(inputs, tmp_path):
    manifest = extract_sources(inputs, tmp_path / "kg")
    assert manifest["tables"]["concepts"] == 14 + 3
    assert manifest["merge"]["terms_merged"] == 0


def test_licence_of_a_merged_kg_is_the_most_restrictive(inputs, tmp_path):
    manifest = extract_sources(inputs, tmp_path / "kg", merge_on=["UMLS"])
    # mini.obo is CC BY 4.0; the dictionary declares no licence, so the KG has none that allows redistribution
    assert manifest["ontology"]["licence"] is None
    assert manifest["inputs"]["sources"][0]["ontology"]["licence"] == CC_BY
    lic = assess(tmp_path / "kg")
    assert lic.restricted and any("declares no licence" in r for r in lic.reasons)
    cc0 = "https://creativecommons.org/publicdomain/zero/1.0/"
    assert most_restrictive([cc0, CC_BY]) == CC_BY
    assert most_restrictive([cc0, "https://example.org/our-terms"]) == "https://example.org/our-terms"


@pytest.mark.parametrize(
    ("merge_on", "on_conflict", "message"),
    [
        (["UMLS,FOO"], "keep-apart", r"--merge-on FOO: unknown namespace"),
        (["UMLS"], "fail", r"1 merge conflicts \(.*, 3 terms\), e\.g\. HP:0000252, MONDO:0001149, C0025958"),
    ],
)
def test_refused_merges_write_nothing(inputs, tmp_path, merge_on, on_conflict, message):
    with pytest.raises(UserError, match=message):
        extract_sources(inputs, tmp_path / "kg", merge_on=merge_on, on_conflict=on_conflict)
    assert not (tmp_path / "kg").exists()


def test_a_term_id_in_two_inputs_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"mini\.obo: term id HP:0000001 is in two inputs \(also in .*mini\.obo\)"):
        extract_sources([("--obo", MINI, {}), ("--obo", MINI, {})], tmp_path / "kg")


def test_info_lists_the_inputs_and_the_merge(inputs, tmp_path):
    from kgbuild.commands.info import describe

    extract_sources(inputs, tmp_path / "kg", merge_on=["UMLS"])
    shown = dict(describe(tmp_path / "kg"))
    assert shown["ontology"] == "hp + umls_kb (hp mini/releases/2026-01-01)"
    assert shown["licence"] == "none declared"
    assert shown["input 1"] == f"obo {MINI}: hp (mini/releases/2026-01-01), licence {CC_BY}"
    assert shown["input 2"] == f"vocab {tmp_path / 'umls_kb.jsonl'}: umls_kb, licence none declared"
    assert shown["merge"] == "on UMLS: 1 terms joined 1 concepts; 1 conflicts (3 terms)"
    assert shown["sources"] == "HP, MONDO, UBERON, UMLS_KB"
