"""BioLORD-2023-M from the KG: the multilingual phase on a build-pairs --parallel-lang folder (train split only), the
cross-lingual linking set in evaluate and run-all, the student's dimension, and the card's languages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from typer.testing import CliRunner

from kgbuild.core.errors import UserError
from kgbuild.pairs import PairOptions, build_pairs
from kgbuild.umls.extract import ExtractOptions, extract_umls
from tests.helpers.run_toml import run_toml
from tests.helpers.tiny_bert import build_tiny_model
from trainer.cli import app
from trainer.data import load_parallel, parallel_languages
from trainer.evaluate import evaluate_model
from trainer.phases.multilingual import MultilingualConfig, train_multilingual


@pytest.fixture(scope="module")
def ml_pairs(sample_meta, tmp_path_factory) -> Path:
    """The sample release with Spanish and French names, its pairs, parallel table and cross-lingual set."""
    root = tmp_path_factory.mktemp("ml")
    extract_umls(sample_meta, root / "kg", ExtractOptions(langs=["ENG", "SPA", "FRE"]))
    build_pairs(root / "kg", root / "pairs", options=PairOptions(parallel_langs=("SPA", "FRE")))
    return root / "pairs"


def test_the_phase_reads_the_train_split_of_a_pairs_folder(ml_pairs):
    import pyarrow.parquet as pq

    ds = load_parallel(ml_pairs)
    table = pq.read_table(ml_pairs / "parallel.parquet").to_pylist()
    train = {(r["en"], r["xx"]) for r in table if r["split"] == "train"}
    assert set(zip(ds["en"][:], ds["xx"][:], strict=True)) == train and len(train) < len(table)
    assert ds.column_names == ["en", "xx"]
    assert parallel_languages(ml_pairs) == ["FRE", "SPA"]


@pytest.mark.slow
def test_evaluate_reports_cross_lingual_linking_per_language(ml_pairs, tiny_model):
    results = evaluate_model(str(tiny_model), pairs_dir=ml_pairs)
    assert {"KG linking", "XL linking FRE", "XL linking SPA"} <= set(results)
    spa = results["XL linking SPA"]
    assert spa["n"] > 20 and 0 <= spa["acc@1"] <= spa["acc@5"] <= 100


def test_a_student_of_another_dimension_is_refused(ml_pairs, tiny_model, tmp_path):
    wide = build_tiny_model(tmp_path / "wide", hidden=48)
    with pytest.raises(UserError, match="teacher embeds in 32 dimensions, student in 48") as info:
        train_multilingual(str(tiny_model), str(wide), ml_pairs, tmp_path / "ml", MultilingualConfig(max_steps=1))
    assert "paraphrase-multilingual" in info.value.fix and not (tmp_path / "ml").exists()


RUN = run_toml(
    steps=2,
    multilingual={"enabled": True, "parallel": "pairs", "student": "student", "max_steps": 6, "batch_size": 8},
)


@pytest.mark.slow
def test_run_all_distils_onto_the_parallel_table_and_cards_its_languages(ml_pairs, tiny_model, tmp_path, monkeypatch):
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)
    shutil.copytree(tiny_model, tmp_path / "base")
    shutil.copytree(tiny_model, tmp_path / "student")
    shutil.copytree(ml_pairs, tmp_path / "pairs")
    (tmp_path / "run.toml").write_text(RUN, encoding="utf-8")
    result = CliRunner().invoke(app, ["run-all", "--config", str(tmp_path / "run.toml")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    phase = manifest["phases"]["multilingual"]
    assert phase["status"] == "trained" and phase["languages"] == ["FRE", "SPA"]
    assert phase["rows"] == len(load_parallel(tmp_path / "pairs"))
    assert manifest["inputs"]["parallel"][0]["path"].endswith("parallel.parquet")
    assert "XL linking SPA" in manifest["scores"]["multilingual"]["results"]
    assert "XL linking SPA" in manifest["scores"]["base"]["results"]  # the figure before the phase
    card = ModelCard.load(tmp_path / "run" / "multilingual" / "README.md")
    assert card.data.to_dict()["language"] == ["en", "fr", "es"]
    assert "XL linking SPA" in card.text


def test_a_multilingual_run_without_parallel_or_student_stops_before_training(tmp_path, tiny_model, ml_pairs):
    shutil.copytree(ml_pairs, tmp_path / "pairs")
    shutil.copytree(tiny_model, tmp_path / "base")
    (tmp_path / "a.toml").write_text(RUN.replace('parallel = "pairs"\n', ""), encoding="utf-8")
    result = CliRunner().invoke(app, ["run-all", "--config", str(tmp_path / "a.toml")])
    assert result.exit_code == 1 and "[multilingual] parallel is not set" in result.output
    (tmp_path / "b.toml").write_text(RUN.replace('parallel = "pairs"', 'parallel = "nowhere"'), encoding="utf-8")
    result = CliRunner().invoke(app, ["run-all", "--config", str(tmp_path / "b.toml")])
    assert result.exit_code == 1 and "no parallel table here" in result.output and "nowhere" in result.output
    assert not (tmp_path / "run").exists()
