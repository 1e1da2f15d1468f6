"""build-pairs --parallel-lang: the parallel table and the cross-lingual linking set, on the sample release extracted
with three languages and on literal rows."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core.contracts import check_or_raise
from kgbuild.core.errors import UserError
from kgbuild.pairs import PairOptions, build_pairs
from kgbuild.umls.extract import ExtractOptions, extract_umls
from tests.helpers.kg_rows import write_kg


def rows(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    con.sql(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    return con.sql(query).fetchall()


@pytest.fixture(scope="module")
def kg3(sample_meta, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kg3") / "kg"
    extract_umls(sample_meta, out, ExtractOptions(langs=["ENG", "SPA", "FRE"]))
    return out


@pytest.fixture(scope="module")
def parallel_pairs(kg3, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pp") / "pairs"
    build_pairs(kg3, out, options=PairOptions(parallel_langs=("SPA", "FRE")))
    return out


def test_extract_manifest_lists_atoms_and_concepts_per_language(kg3, sample_kg):
    langs = json.loads((kg3 / "manifest.json").read_text())["languages"]
    assert list(langs) == ["ENG", "SPA", "FRE"]  # most atoms first
    assert langs["SPA"]["atoms"] == rows(kg3 / "names.parquet", "SELECT count(*) FROM t WHERE lang = 'SPA'")[0][0]
    assert (
        langs["SPA"]["concepts"]
        == rows(kg3 / "names.parquet", "SELECT count(DISTINCT cui) FROM t WHERE lang = 'SPA'")[0][0]
    )
    assert list(json.loads((sample_kg / "manifest.json").read_text())["languages"]) == ["ENG"]
    # MRDEF has no language: MSHSPA's definitions are Spanish (MRSAB) and stay out of an English-only KG
    assert rows(sample_kg / "definitions.parquet", "SELECT count(*) FROM t WHERE sab = 'MSHSPA'") == [(0,)]
    assert rows(kg3 / "definitions.parquet", "SELECT count(*) FROM t WHERE sab = 'MSHSPA'") == [(3,)]


def test_parallel_table_pairs_english_with_each_language_by_concept_split(parallel_pairs):
    table = parallel_pairs / "parallel.parquet"
    check_or_raise("parallel", parallel_pairs)
    check_or_raise("crosslingual_linking", parallel_pairs)
    assert rows(table, "SELECT DISTINCT lang FROM t ORDER BY 1") == [("FRE",), ("SPA",)]
    # the preferred names of a concept, and a Spanish definition against its English one
    got = set(rows(table, "SELECT en, xx, kind FROM t WHERE cui = 'C0025007' AND lang = 'SPA'"))
    assert ("Measles", "Sarampión", "name") in got
    assert any(k == "definition" and en.startswith("A highly contagious") for en, _, k in got)
    # the same split as the concept's pairs: no test concept in the parallel training rows
    mismatched = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{table}') AS x "
        f"JOIN (SELECT DISTINCT cui, split FROM read_parquet('{parallel_pairs / 'pairs.parquet'}')) AS p USING (cui) "
        "WHERE x.split <> p.split"
    ).fetchall()
    assert mismatched == [(0,)]
    assert {s for (s,) in rows(table, "SELECT DISTINCT split FROM t")} == {"train", "dev", "test"}
    # a translation spelled as the English name teaches nothing (Treponema pallidum)
    assert rows(table, "SELECT count(*) FROM t WHERE lower(en) = lower(xx)") == [(0,)]
    assert rows(table, "SELECT max(n) FROM (SELECT count(*) AS n FROM t GROUP BY cui, lang)")[0][0] <= 16
    # English pairs hold no Spanish definition
    assert rows(parallel_pairs / "pairs.parquet", "SELECT count(*) FROM t WHERE positive LIKE 'Infección%'") == [(0,)]
    manifest = json.loads((parallel_pairs / "manifest.json").read_text())
    assert manifest["parameters"]["parallel_langs"] == ["SPA", "FRE"]
    spa = manifest["parallel"]["SPA"]
    assert spa["rows"] == sum(spa["kinds"].values()) == sum(spa["splits"].values()) > 100
    assert spa["linking"]["test"] > 20


def test_crosslingual_linking_asks_foreign_names_of_held_out_concepts(parallel_pairs, kg3):
    links = parallel_pairs / "crosslingual_linking.parquet"
    assert {s for (s,) in rows(links, "SELECT DISTINCT split FROM t")} == {"dev", "test"}
    held_out = rows(
        links,
        f"""SELECT count(*) FROM t JOIN (SELECT DISTINCT cui, split FROM
        read_parquet('{parallel_pairs / "pairs.parquet"}')) AS p USING (cui) WHERE p.split = 'train'""",
    )
    assert held_out == [(0,)]
    assert ("Rubéola", "C0035920", "SPA", "dev") in rows(links, "SELECT * FROM t")
    # never an English name of its concept, and every gold concept is a candidate
    english = rows(
        links,
        f"""SELECT count(*) FROM t JOIN read_parquet('{kg3 / "names.parquet"}') AS n
        ON n.cui = t.cui AND lower(n.name) = lower(t.query) AND n.lang = 'ENG'""",
    )
    assert english == [(0,)]
    cands = {c for (c,) in rows(parallel_pairs / "linking_candidates.parquet", "SELECT cui FROM t")}
    assert {c for (c,) in rows(links, "SELECT cui FROM t")} <= cands


def test_without_parallel_lang_nothing_changes(kg3, tmp_path):
    build_pairs(kg3, tmp_path / "p", options=PairOptions())
    assert not (tmp_path / "p" / "parallel.parquet").exists()
    assert "parallel" not in json.loads((tmp_path / "p" / "manifest.json").read_text())


def test_bad_parallel_languages_are_one_line(kg3, sample_kg, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["build-pairs", "--kg", str(kg3), "--out", str(tmp_path / "a"), "--parallel-lang", "GER"]
    )
    assert result.exit_code == 1
    assert "--parallel-lang GER: no name in that language; languages present: ENG (" in result.output
    assert "SPA (" in result.output and not (tmp_path / "a").exists()
    result = runner.invoke(
        app, ["build-pairs", "--kg", str(sample_kg), "--out", str(tmp_path / "b"), "--parallel-lang", "SPA"]
    )
    assert result.exit_code == 1
    assert "one language only: ENG" in result.output and "--lang ENG --lang SPA" in result.output
    with pytest.raises(UserError, match="language of the pairs"):
        build_pairs(kg3, tmp_path / "c", options=PairOptions(parallel_langs=("ENG",)))


def test_literal_rows_caps_and_ambiguous_queries(tmp_path):
    def name(cui, aui, text, lang="ENG", pref=False):
        return (cui, aui, text, lang, "MSH", "PT" if pref else "ET", pref, "N", 0)

    kg = write_kg(
        tmp_path / "kg",
        concepts=[(f"C{i:07d}", f"Disease {i}", []) for i in range(40)],
        names=[
            n
            for i in range(40)
            for n in (
                name(f"C{i:07d}", f"A{i}e", f"Disease {i}", pref=True),
                name(f"C{i:07d}", f"A{i}s", f"Illness {i}"),
                name(f"C{i:07d}", f"A{i}x", f"Enfermedad {i}", "SPA", True),
                name(f"C{i:07d}", f"A{i}y", f"Mal {i}", "SPA"),
                name(f"C{i:07d}", f"A{i}z", "Mal comun", "SPA"),  # a name every concept shares: never a query
            )
        ],
    )
    out = tmp_path / "pairs"
    build_pairs(kg, out, options=PairOptions(parallel_langs=("SPA",), max_parallel_per_concept=3))
    per_concept = rows(out / "parallel.parquet", "SELECT cui, count(*) FROM t GROUP BY cui")
    assert per_concept and all(n <= 3 for _, n in per_concept)
    # the cap keeps preferred with preferred first
    assert ("Disease 1", "Enfermedad 1") in rows(out / "parallel.parquet", "SELECT en, xx FROM t")
    assert rows(out / "crosslingual_linking.parquet", "SELECT count(*) FROM t WHERE query = 'Mal comun'") == [(0,)]


def test_the_dataset_card_covers_the_parallel_tables(parallel_pairs, tmp_path):
    stage = tmp_path / "hub"
    result = CliRunner().invoke(
        app, ["publish", str(parallel_pairs), "--repo-id", "lab/pairs", "--dry-run", "--stage-dir", str(stage)]
    )
    assert result.exit_code == 0, result.output
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(stage / "README.md")
    configs = {c["config_name"]: [f["split"] for f in c["data_files"]] for c in card.data.to_dict()["configs"]}
    assert configs["parallel"] == ["train", "validation", "test"]
    assert configs["crosslingual_linking"] == ["validation", "test"]
    assert card.data.to_dict()["language"] == ["en", "es", "fr"]
    assert "### `parallel`" in card.text and "sql/pairs/parallel.sql" in card.text
