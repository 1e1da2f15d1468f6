from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from tiny_bert import build_tiny_model

from trainer.config import ContrastiveConfig
from trainer.data import load_pairs
from trainer.phases.contrastive import train_contrastive
from trainer.sampler import CuiBatchSampler

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_command(*args: str, nproc: int = 2) -> list[str]:
    """`python -m torch.distributed.run` with `nproc` processes (gloo on CPU) running `trainer ARGS`."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(nproc),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        "-m",
        "trainer",
        *args,
    ]


def test_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "TRAINER_PROGRESS": "0",
        **extra,
    }


def torchrun(*args: str, cwd: Path, nproc: int = 2, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(
        torchrun_command(*args, nproc=nproc), env=test_env(), cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_contrastive_phase_under_torchrun_with_two_cpu_processes(tiny_model, pairs_dir, tmp_path):
    out = tmp_path / "contrastive"
    torchrun(
        *("contrastive", "--base", str(tiny_model), "--pairs", str(pairs_dir), "--out", str(out)),
        *("--set", "contrastive.max_steps=4", "--set", "contrastive.batch_size=4", "--set", "model.max_seq_length=32"),
        cwd=tmp_path,
        timeout=300,
    )

    marker = json.loads((out / "trainer_phase.json").read_text())
    assert marker["world_size"] == 2 and marker["steps"] == 4
    # the gloo group shards the cui-aware plan of global batches (4 rows per process): each process walks one part
    # of each global batch, so an epoch has as many steps as the plan has global batches of 8
    pairs = load_pairs(pairs_dir, split="train")
    plan = CuiBatchSampler(pairs.dataset, batch_size=8, drop_last=True, cuis=pairs.cuis, seed=42)
    assert marker["epoch"] == pytest.approx(4 / len(plan), abs=1e-3)

    trained = SentenceTransformer(str(out), device="cpu")
    base = SentenceTransformer(str(tiny_model), device="cpu")
    assert trained.encode(["heart attack"]).shape == (1, 32)
    key = next(k for k in trained.state_dict() if k.endswith("word_embeddings.weight"))
    assert not torch.equal(trained.state_dict()[key], base.state_dict()[key])
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp folder left


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["mnrl", "cached_mnrl"])
def test_two_processes_share_their_negatives_a_step_has_the_loss_of_one_process_with_the_total_batch(
    loss, pairs_dir, tmp_path
):
    """Phase 1 under torchrun gathers the embeddings of both processes: with batch 4 on each of two processes the
    logged losses equal those of one process with batch 8 on the same global batches (no dropout in this model, so
    the split of a batch cannot change its forward pass)."""
    model = build_tiny_model(tmp_path / "tiny", dropout=0.0)
    settings = {
        "max_steps": 3,
        "learning_rate": 1e-3,
        "loss": loss,
        "mini_batch_size": 3,
        "save_steps": 100,
        "logging_steps": 1,
    }
    torchrun(
        "contrastive",
        *("--base", str(model), "--pairs", str(pairs_dir), "--out", str(tmp_path / "two")),
        *(f"--set=contrastive.{k}={v!r}".replace("'", '"') for k, v in {**settings, "batch_size": 4}.items()),
        "--set=model.max_seq_length=32",
        cwd=tmp_path,
    )
    one = train_contrastive(
        str(model),
        pairs_dir,
        tmp_path / "one",
        ContrastiveConfig(**settings, batch_size=8),
        max_seq_length=32,
    )
    two = json.loads((tmp_path / "two" / "trainer_phase.json").read_text())
    assert two["world_size"] == 2 and one["world_size"] == 1
    first_two, first_one = two["losses"][0][1], one["losses"][0][1]
    assert first_two == pytest.approx(first_one, rel=1e-4)  # step 1: the same global batch, the same weights
    # and the same gradients (DDP averages the processes' gradients of their shares of one loss): the same steps
    assert [loss for _, loss in two["losses"]] == pytest.approx([loss for _, loss in one["losses"]], rel=1e-3)
