from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer

from trainer.data import load_pairs
from trainer.sampler import CuiBatchSampler

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_contrastive_phase_under_torchrun_with_two_cpu_processes(tiny_model, pairs_dir, tmp_path):
    out = tmp_path / "contrastive"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "TRAINER_PROGRESS": "0",
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        "-m",
        "trainer",
        "contrastive",
        "--base",
        str(tiny_model),
        "--pairs",
        str(pairs_dir),
        "--out",
        str(out),
        "--set",
        "contrastive.max_steps=4",
        "--set",
        "contrastive.batch_size=4",
        "--set",
        "model.max_seq_length=32",
    ]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    marker = json.loads((out / "trainer_phase.json").read_text())
    assert marker["world_size"] == 2 and marker["steps"] == 4
    # the gloo group shards the cui-aware batches: each process walks half of one epoch's plan
    pairs = load_pairs(pairs_dir)
    plan = CuiBatchSampler(pairs.dataset, batch_size=4, drop_last=True, cuis=pairs.cuis, seed=42)
    assert marker["epoch"] == pytest.approx(4 / math.ceil(len(plan) / 2), abs=1e-3)

    trained = SentenceTransformer(str(out), device="cpu")
    base = SentenceTransformer(str(tiny_model), device="cpu")
    assert trained.encode(["heart attack"]).shape == (1, 32)
    key = next(k for k in trained.state_dict() if k.endswith("word_embeddings.weight"))
    assert not torch.equal(trained.state_dict()[key], base.state_dict()[key])
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp folder left
