"""benchmarks/gpu_check.py in its CPU mode (--device cpu --tiny): every run reports every figure, and the token
counts are exact where the batches are known (one batch per epoch holds every row)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def token_count(tokenizer, texts: list[str]) -> list[int]:
    return [len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"]]


@pytest.mark.slow
def test_cpu_mode_reports_every_figure_with_exact_token_counts(tiny_model, pairs_dir, tmp_path):
    rows = [r for r in pq.read_table(pairs_dir / "pairs.parquet").to_pylist() if r["split"] == "train"]
    texts = list(dict.fromkeys([r["anchor"] for r in rows] + [r["positive"] for r in rows]))
    # a batch as large as the data: each epoch is one batch of every row (phase 1 bare, every phase-2 run)
    command = [
        sys.executable,
        str(SCRIPT),
        "--device",
        "cpu",
        "--tiny",
        "--pairs",
        str(pairs_dir),
        "--tokenizer",
        str(tiny_model),
        "--batch-size",
        str(len(rows)),
        "--distill-batch-size",
        str(len(texts)),
        "--warmup-steps",
        "1",
        "--steps",
        "2",
        "--distill-steps",
        "2",
        "--peak-tflops",
        "1",
        "--work",
        str(tmp_path / "work"),
        "--json",
        str(tmp_path / "check.json"),
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "check.json").read_text())

    assert report["pairs"]["train_rows"] == len(rows) and report["pairs"]["distinct_train_texts"] == len(texts)
    model = report["model"]
    assert 0 < model["non_embedding_params"] < model["params"] and model["layers"] == 2
    runs = {r["name"]: r for r in report["runs"]}
    assert len(runs) == 6 and all(r["status"] == "ok" for r in runs.values()), runs
    for r in runs.values():
        assert r["steps_measured"] == 2 and r["samples_per_s"] > 0 and r["seconds_measured"] > 0
        assert 0 < r["real_tokens"] <= r["padded_tokens"]
        assert r["padding_share"] == pytest.approx(1 - r["real_tokens"] / r["padded_tokens"], abs=1e-4)
        assert r["tokens_per_s"] == pytest.approx(r["real_tokens"] / r["seconds_measured"], rel=0.01)
        assert 0 < r["useful_mfu"] <= r["mfu"] <= r["hfu"] < 1
        assert r["peak_mem_gib"] > 0 and 0 <= r["host_between_steps_share"] < 1
        assert r["final_loss"] is not None

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    pair_tokens = sum(token_count(tokenizer, [r["anchor"] for r in rows] + [r["positive"] for r in rows]))
    bare = runs["phase 1 bare sentence-transformers"]
    assert bare["samples_measured"] == 2 * len(rows) and bare["real_tokens"] == 2 * pair_tokens
    # the cached loss runs a no-grad forward first: hardware FLOPs above model FLOPs
    assert bare["hfu"] > bare["mfu"]
    # sort_by_length reorders rows inside the same cui-unique batches: same rows, same real tokens
    plain, ordered = runs["phase 1 trainer (cui-unique)"], runs["phase 1 trainer, sort_by_length"]
    assert (ordered["samples_measured"], ordered["real_tokens"]) == (plain["samples_measured"], plain["real_tokens"])
    lengths = token_count(tokenizer, texts)
    for name in ("phase 2 trainer", "phase 2 bare sentence-transformers", "phase 2 trainer, group_by_length"):
        run = runs[name]
        assert run["samples_measured"] == 2 * len(texts) and run["real_tokens"] == 2 * sum(lengths)
        assert run["padded_tokens"] == 2 * len(texts) * max(lengths)
        assert run["hfu"] == run["mfu"]
    assert set(report["ratios"]) == {
        "phase 1 trainer / bare",
        "phase 1 sort_by_length / trainer",
        "phase 2 trainer / bare",
        "phase 2 group_by_length / trainer",
    }
    assert all(v > 0 for v in report["ratios"].values())
    assert "| phase 1 trainer (cui-unique) | ok |" in done.stdout


def write_kg(folder: Path) -> Path:
    """A KG folder of the literal concepts (the names `trainer index` reads)."""
    import pyarrow as pa

    from tests.helpers.literal_pairs import CONCEPTS

    folder.mkdir(parents=True)
    concepts = [{"cui": cui, "preferred_name": name} for cui, (name, _, _) in CONCEPTS.items()]
    names = [{"cui": cui, "name": n} for cui, (name, synonyms, _) in CONCEPTS.items() for n in [name, *synonyms]]
    pq.write_table(pa.Table.from_pylist(concepts), folder / "concepts.parquet")
    pq.write_table(pa.Table.from_pylist(names), folder / "names.parquet")
    return folder


@pytest.mark.slow
def test_run_all_mode_meters_every_phase_evaluates_indexes_and_runs_the_bare_script(
    tiny_model, pairs_dir, tmp_path, monkeypatch
):
    """--run-all in its CPU dry mode: `trainer run-all` with every phase and evaluation, each training phase
    metered, the KG's names indexed, and the bare script's phase 1 and 2 beside it."""
    kg = write_kg(tmp_path / "kg")
    env = {k: v for k, v in os.environ.items() if k != "KGBUILD_EVALSETS"}  # KG linking only: the tiny run stays quick
    command = [
        *(sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--run-all"),
        *("--pairs", str(pairs_dir), "--tokenizer", str(tiny_model), "--kg", str(kg)),
        *("--peak-tflops", "1", "--work", str(tmp_path / "work"), "--json", str(tmp_path / "check.json")),
    ]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "check.json").read_text())

    result = report["run_all"]
    assert result["status"] == "ok" and set(result["phases"]) == {
        "contrastive",
        "self_distillation",
        "weight_averaging",
        "multilingual",
    }
    for phase in ("contrastive", "self_distillation", "multilingual"):
        record = result["phases"][phase]
        assert record["steps_measured"] == 2 and record["samples_per_s"] > 0, phase
        assert 0 < record["real_tokens"] <= record["padded_tokens"]
        assert 0 < record["useful_mfu"] <= record["mfu"] < 1 and record["peak_mem_gib"] > 0
    assert result["phases"]["weight_averaging"]["wall_s"] >= 0
    assert set(result["evaluation_s"]) == {
        "base",
        "contrastive",
        "self_distillation",
        "weight_averaging",
        "multilingual",
    }
    assert "KG linking acc@1" in result["scores"]["weight_averaging"]
    names = pq.read_table(kg / "names.parquet").num_rows
    assert result["index"]["status"] == "ok" and result["index"]["names"] == names
    runs = {r["name"]: r for r in report["runs"]}
    bare = ("phase 1 bare sentence-transformers", "phase 2 bare sentence-transformers")
    assert all(runs[name]["status"] == "ok" for name in bare)
    assert all(v > 0 for v in report["ratios"].values()) and set(report["ratios"]) == {
        "run-all phase 1 / bare",
        "run-all phase 2 / bare",
    }
    assert "| run-all contrastive | ok |" in done.stdout and "index: ok" in done.stdout
