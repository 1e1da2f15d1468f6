"""build-pairs on UMLS-shaped KG tables written from literal rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core.contracts import check_or_raise
from kgbuild.core.errors import UserError
from kgbuild.llm.prompt import KGFacts, Selection
from kgbuild.pairs import PairOptions, build_pairs
from tests.helpers.kg_rows import write_kg, write_llm_definitions

INJURY = "Injury or Poisoning"
BODY = "Body Part, Organ, or Organ Component"


def _name(cui, aui, text, *, pref=False, lang="ENG", sab="SNOMEDCT_US", tty="PT", suppress="N"):
    return (cui, aui, text, lang, sab, tty, pref, suppress, 9)


# A SNOMED-like corner of the KG, with relations stored the way extract stores them (see DESIGN.md).
FEMUR = {
    "concepts": [
        ("C0015802", "Femur fracture", [INJURY]),
        ("C0272762", "Leg fracture", [INJURY]),
        ("C0015811", "Femur", [BODY]),
        ("C0015806", "Femur neck fracture", [INJURY]),
        ("C0023216", "Lower limb", []),
        ("C0000001", "Isolated concept", []),
    ],
    "names": [
        _name("C0015802", "A1", "Femur fracture", pref=True),
        _name("C0015802", "A2", "Fracture of femur"),
        _name("C0015802", "A3", "fracture of femur", sab="MTH"),  # same text up to case: one name
        _name("C0015802", "A4", "FEMUR FRACTURE", sab="CHV"),  # trivially the preferred name
        _name("C0015802", "A5", "Fracture du fémur", lang="FRE", pref=True),  # other language
        _name("C0015802", "A6", "Broken thigh bone", sab="CHV", suppress="E"),  # suppressed
        _name("C0272762", "A7", "Leg fracture", pref=True),
        _name("C0015811", "A8", "Femur", pref=True),
        _name("C0015811", "A9", "Thigh bone"),
        _name("C0015806", "A10", "Femur neck fracture", pref=True),
        _name("C0023216", "A11", "Lower limb", pref=True),
        _name("C0000001", "A12", "Isolated concept", pref=True),
    ],
    "definitions": [
        ("C0015802", "AT1", "MSH", "A break in the femur.", "umls"),
        ("C0015802", "AT2", "NCI", "  ", "umls"),
    ],  # blank text gives no pair
    "relations": [
        ("C0015802", "isa", "CHD", "C0272762", "SNOMEDCT_US"),
        ("C0015806", "isa", "CHD", "C0015802", "SNOMEDCT_US"),
        ("C0015811", "finding_site_of", "RO", "C0015802", "SNOMEDCT_US"),  # canonical: the "_of" side
        ("C0015811", "finding_site_of", "RO", "C0015806", "SNOMEDCT_US"),
        ("C0015811", "part_of", "RO", "C0023216", "SNOMEDCT_US"),
        ("C0015811", "RO", "RO", "C0272762", "MSH"),  # a bare REL code says nothing
        ("C0015811", "translation_of", "SY", "C0023216", "MSHFRE"),
    ],  # lexical link, not a fact
    "relation_labels": [
        ("RO", "has relationship other than synonymous, narrower, or broader", "RO", 1),
        ("finding_site_of", "Finding site of", "has_finding_site", 2),
        ("isa", "Is a", "inverse_isa", 2),
        ("part_of", "Part of", "has_part", 1),
        ("translation_of", "Translation of", "has_translation", 1),
    ],
}


@pytest.fixture(scope="module")
def femur_kg(tmp_path_factory) -> Path:
    return write_kg(tmp_path_factory.mktemp("femur") / "kg", **FEMUR)


@pytest.fixture(scope="module")
def femur_pairs(femur_kg, tmp_path_factory) -> Path:
    defs = write_llm_definitions(
        tmp_path_factory.mktemp("defs") / "defs",
        [
            ("C0015806", "A femur neck fracture is a break just below the hip joint.", "ok"),
            ("C0015806", "I cannot answer that.", "error"),
        ],
    )
    out = femur_kg.parent / "pairs"
    build_pairs(femur_kg, out, definitions=defs)
    return out


def _rows(folder: Path, table: str, query: str = "SELECT * FROM t") -> list[tuple]:
    con = duckdb.connect()
    con.sql(f"CREATE VIEW t AS SELECT * FROM read_parquet('{folder / f'{table}.parquet'}')")
    return con.sql(query).fetchall()


def test_descriptions_read_as_english(femur_pairs):
    descriptions = dict(_rows(femur_pairs, "descriptions", "SELECT cui, description FROM t"))
    assert descriptions == {
        "C0015802": "Femur fracture is an injury or poisoning which is a kind of leg fracture and has finding site "
        "femur.",
        "C0015806": "Femur neck fracture is an injury or poisoning which is a kind of femur fracture and has finding "
        "site femur.",
        "C0272762": "Leg fracture is an injury or poisoning.",
        # "is finding site of" maps few sites to many findings: not said; part_of is 1:1, said both ways
        "C0015811": "Femur is a body part, organ, or organ component which is part of lower limb.",
        "C0023216": "Lower limb has part femur.",
    }
    assert {v for _, v in _rows(femur_pairs, "descriptions", "SELECT cui, template_version FROM t")} == {"v1"}


def test_descriptions_without_the_name(femur_kg, tmp_path):
    out = build_pairs(femur_kg, tmp_path / "pairs", options=PairOptions(name_in_descriptions=False))
    descriptions = dict(_rows(tmp_path / "pairs", "descriptions", "SELECT cui, description FROM t"))
    assert (
        descriptions["C0015802"]
        == "An injury or poisoning which is a kind of leg fracture and has finding site femur."
    )
    assert descriptions["C0272762"] == "An injury or poisoning."
    assert descriptions["C0023216"] == "Something which has part femur."
    assert {v for _, v in _rows(tmp_path / "pairs", "descriptions", "SELECT cui, template_version FROM t")} == {
        "v1-unnamed"
    }
    assert out["parameters"]["name_in_descriptions"] is False


def test_descriptions_and_the_llm_prompt_read_the_kg_alike(tmp_path):
    """One reading of the KG (sql/_kg.sql): the same parents, the same facts, the same relations left unsaid."""
    kg = write_kg(
        tmp_path / "kg",
        **{
            **FEMUR,
            "relations": [
                *FEMUR["relations"],
                ("C0015802", "RN", "RN", "C0023216", "MSH"),  # narrower is not "a kind of"
                ("C0015802", "mapped_to", "RO", "C0000001", "MTH"),  # bookkeeping, never said
            ],
        },
    )
    build_pairs(kg, tmp_path / "pairs")
    described = dict(_rows(tmp_path / "pairs", "descriptions", "SELECT cui, description FROM t"))
    with KGFacts(kg, Selection(only_missing=False)) as facts:
        prompt = {f.cui: f for f in facts}
    fracture = prompt["C0015802"]
    assert fracture.parents == ["Leg fracture"]
    assert "which is a kind of leg fracture and" in described["C0015802"]
    # the curated phrase of finding_site_of in the prompt, its inverse's in the description
    assert fracture.relations == ["Femur is the finding site of Femur fracture"]
    assert described["C0015802"].endswith("has finding site femur.")
    # the RN edge is no parent in either; mappings, translations and bare REL codes are said by neither
    assert "lower limb" not in described["C0015802"].lower() and "Lower limb" not in fracture.parents
    said = [*described.values(), *(text for f in prompt.values() for text in f.relations + f.parents)]
    for unsaid in ("mapped", "isolated concept", "translation", "relationship other"):
        assert not [text for text in said if unsaid in text.lower()], unsaid


def test_pairs_kinds_filters_and_column_order(femur_pairs):
    rows = _rows(femur_pairs, "pairs", "SELECT anchor, positive, kind FROM t WHERE cui = 'C0015802'")
    assert sorted(rows) == sorted(
        [
            ("Femur fracture", "A break in the femur.", "definition"),
            ("Fracture of femur", "A break in the femur.", "definition"),
            (
                "Femur fracture",
                "Femur fracture is an injury or poisoning which is a kind of leg fracture and has finding site femur.",
                "description",
            ),
            (
                "Fracture of femur",
                "Femur fracture is an injury or poisoning which is a kind of leg fracture and has finding site femur.",
                "description",
            ),
            ("Femur fracture", "Fracture of femur", "synonym"),
        ]
    )
    llm = _rows(femur_pairs, "pairs", "SELECT positive FROM t WHERE kind = 'llm_definition'")
    assert llm == [("A femur neck fracture is a break just below the hip joint.",)]  # status ok only
    assert [c[0] for c in duckdb.sql(f"DESCRIBE SELECT * FROM '{femur_pairs / 'pairs.parquet'}'").fetchall()] == [
        "anchor",
        "positive",
        "cui",
        "kind",
        "split",
    ]
    for table in ("pairs", "descriptions", "linking", "linking_candidates"):
        check_or_raise(table, femur_pairs)


def test_linking_candidates_cover_every_concept(femur_pairs):
    assert len(_rows(femur_pairs, "linking_candidates")) == 6


def test_pairs_load_with_datasets(femur_pairs):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(femur_pairs / "pairs.parquet"), split="train")
    assert ds.column_names[:2] == ["anchor", "positive"]
    assert ds.num_rows == len(_rows(femur_pairs, "pairs"))
    train = ds.filter(lambda r: r["split"] == "train").select_columns(["anchor", "positive"])
    assert set(train.column_names) == {"anchor", "positive"}


@pytest.fixture(scope="module")
def many_kg(tmp_path_factory) -> Path:
    """400 concepts, each with 12 names and 2 definitions, in a chain of isa edges."""
    concepts, names, definitions, relations = [], [], [], []
    for i in range(400):
        cui = f"C{i:07d}"
        concepts.append((cui, f"Concept {i}", ["Disease or Syndrome"]))
        names += [
            _name(cui, f"A{i}-{j}", f"Concept {i}" if j == 0 else f"Synonym {j} of concept {i}", pref=j == 0)
            for j in range(12)
        ]
        definitions += [(cui, f"D{i}-{k}", "MSH", f"Definition {k} of concept {i}.", "umls") for k in range(2)]
        if i:
            relations.append((cui, "isa", "CHD", f"C{i - 1:07d}", "SNOMEDCT_US"))
    # a name shared by two concepts is ambiguous: never a linking query
    names.append(_name("C0000001", "AX1", "Shared name"))
    names.append(_name("C0000002", "AX2", "shared  name!"))
    return write_kg(
        tmp_path_factory.mktemp("many") / "kg",
        concepts=concepts,
        names=names,
        definitions=definitions,
        relations=relations,
    )


def test_splits_are_by_concept_and_deterministic(many_kg, tmp_path):
    options = PairOptions(seed=7, max_pairs_per_concept=10)
    build_pairs(many_kg, tmp_path / "a", options=options)
    build_pairs(many_kg, tmp_path / "b", options=options)
    build_pairs(many_kg, tmp_path / "c", options=PairOptions(seed=8, max_pairs_per_concept=10))
    a = _rows(tmp_path / "a", "pairs")
    assert a == _rows(tmp_path / "b", "pairs")  # same seed: same rows in the same order
    assert _rows(
        tmp_path / "a",
        "pairs",
        "SELECT count(*) FROM (SELECT cui FROM t GROUP BY cui HAVING count(DISTINCT split) > 1)",
    ) == [(0,)]
    per_concept = _rows(tmp_path / "a", "pairs", "SELECT max(n) FROM (SELECT count(*) n FROM t GROUP BY cui)")
    assert per_concept == [(10,)]  # the cap holds
    splits = dict(_rows(tmp_path / "a", "pairs", "SELECT split, count(DISTINCT cui) FROM t GROUP BY split"))
    assert splits.keys() == {"train", "dev", "test"} and 270 <= splits["train"] <= 370
    split_of = dict(_rows(tmp_path / "a", "pairs", "SELECT DISTINCT cui, split FROM t"))
    assert split_of != dict(_rows(tmp_path / "c", "pairs", "SELECT DISTINCT cui, split FROM t"))  # seed matters
    # linking: only held-out concepts, non-preferred and unambiguous names, at most 3 per concept
    linking = _rows(tmp_path / "a", "linking")
    assert linking and all(split_of[cui] == split and split in ("dev", "test") for _, cui, split in linking)
    assert all(not q.startswith("Concept ") and "hared" not in q for q, _, _ in linking)
    assert max(_rows(tmp_path / "a", "linking", "SELECT count(*) FROM t GROUP BY cui")) == (3,)


def test_bad_input_is_one_clear_error(tmp_path, femur_kg):
    with pytest.raises(UserError, match="no relations table"):
        (tmp_path / "kg").mkdir()
        for table in ("concepts", "names", "definitions"):
            (tmp_path / "kg" / f"{table}.parquet").write_bytes((femur_kg / f"{table}.parquet").read_bytes())
        build_pairs(tmp_path / "kg", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # nothing half-written
    with pytest.raises(UserError, match="bad split percentages"):
        build_pairs(femur_kg, tmp_path / "out2", options=PairOptions(train_pct=95, dev_pct=10))
    with pytest.raises(UserError, match="bad --memory-limit"):
        build_pairs(femur_kg, tmp_path / "out2", options=PairOptions(memory_limit="4 gigs'; DROP"))


def test_cli_reports_errors_as_one_line(tmp_path, femur_kg):
    runner = CliRunner()
    result = runner.invoke(app, ["build-pairs", "--kg", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "KG folder not found" in result.output
    result = runner.invoke(app, ["build-pairs", "--kg", str(femur_kg), "--out", str(tmp_path / "o"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["parameters"]["seed"] == 3 and manifest["parameters"]["template_version"] == "v1"
    assert manifest["inputs"]["kg"]["rows"]["concepts"] == 6 and manifest["inputs"]["kg"]["bytes"]["relations"] > 0
    assert manifest["tables"]["linking_candidates"] == 6
    result = runner.invoke(app, ["build-pairs", "--kg", str(femur_kg), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "already exists" in result.output


def test_pair_repeated_across_concepts_is_kept_once(tmp_path):
    """Two concepts share a name and a definition text: the pair is kept once, under the smaller cui."""
    kg = write_kg(
        tmp_path / "kg",
        concepts=[("C2", "Cold", ["Disease or Syndrome"]), ("C1", "Common cold", ["Disease or Syndrome"])],
        names=[
            _name("C1", "A1", "Common cold", pref=True),
            _name("C1", "A2", "Cold"),
            _name("C2", "A3", "Cold", pref=True),
            _name("C2", "A4", "Low temperature"),
        ],
        definitions=[
            ("C1", "D1", "MSH", "A viral infection of the nose.", "umls"),
            ("C2", "D2", "NCI", "A viral infection of the nose.", "umls"),
        ],
    )
    build_pairs(kg, tmp_path / "pairs")
    rows = _rows(
        tmp_path / "pairs",
        "pairs",
        "SELECT cui FROM t WHERE anchor = 'Cold' AND positive = 'A viral infection of the nose.'",
    )
    assert rows == [("C1",)]
    assert _rows(
        tmp_path / "pairs",
        "pairs",
        "SELECT count(*) FROM t WHERE anchor = 'Common cold' AND positive = 'A viral infection of the nose.'",
    ) == [(1,)]
    # "Cold" names two concepts: not a linking query; validate re-checks the whole folder
    assert not _rows(tmp_path / "pairs", "linking", "SELECT * FROM t WHERE query = 'Cold'")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "pairs")])
    assert result.exit_code == 0, result.output


def test_synonym_equal_to_the_definition_gives_one_pair(tmp_path):
    # HPO has terms whose synonym repeats their definition: the same (anchor, positive) from two kinds.
    text = "A sudden recurrent uncontrollable compulsion to sleep"
    kg = write_kg(
        tmp_path / "kg",
        concepts=[
            ("HP:0002330", "Paroxysmal drowsiness", ["Phenotypic abnormality"]),
            ("HP:0000001", "Other concept", ["Phenotypic abnormality"]),
        ],
        names=[
            _name("HP:0002330", "a1", "Paroxysmal drowsiness", pref=True, sab="HP", tty="PT"),
            _name("HP:0002330", "a2", text, sab="HP", tty="SY"),
            _name("HP:0000001", "a3", "Other concept", pref=True, sab="HP"),
        ],
        definitions=[("HP:0002330", "HP:0002330", "HP", text, "obo")],
    )
    build_pairs(kg, tmp_path / "pairs")
    rows = duckdb.execute(
        f"SELECT kind FROM '{tmp_path}/pairs/pairs.parquet' "
        f"WHERE anchor = 'Paroxysmal drowsiness' AND positive = '{text}'"
    ).fetchall()
    assert len(rows) == 1
