"""benchmarks/gpu_check.py in its CPU mode (--device cpu --tiny): every run reports every figure, and the token
counts are exact where the batches are known (one batch per epoch holds every row)."""

from __future__ import annotations

import json
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
