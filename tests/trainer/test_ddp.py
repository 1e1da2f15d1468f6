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
from typer.testing import CliRunner

from tests.helpers.run_toml import run_toml
from tests.helpers.tiny_bert import build_tiny_model
from trainer.cli import app
from trainer.data import load_pairs
from trainer.phases.contrastive import ContrastiveConfig, train_contrastive
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


def child_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "TRAINER_PROGRESS": "0",
        **extra,
    }


def torchrun(*args: str, cwd: Path, nproc: int = 2, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(
        torchrun_command(*args, nproc=nproc), env=child_env(), cwd=cwd, capture_output=True, text=True, timeout=timeout
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


def run_project(folder: Path, pairs_dir: Path, *, batch: int) -> Path:
    """A run-all folder with every phase (multilingual too) on dropout-free tiny models: batch `batch` per process."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    build_tiny_model(folder / "base", dropout=0.0)
    build_tiny_model(folder / "multilingual-base", seed=3, dropout=0.0)
    shutil.copytree(pairs_dir, folder / "pairs")
    english = ["heart attack", "fever", "headache", "stroke", "asthma", "anemia", "influenza", "pneumonia"]
    dutch = ["hartaanval", "koorts", "hoofdpijn", "beroerte", "astma", "bloedarmoede", "griep", "longontsteking"]
    pq.write_table(pa.table({"en": english, "xx": dutch}), folder / "en_nl.parquet")
    training = {"max_steps": 3, "batch_size": batch, "learning_rate": 1e-3, "logging_steps": 1}
    toml = run_toml(
        steps=3,
        model={"max_seq_length": 32},
        contrastive=training,
        # from the base: a student equal to its teacher has a loss near 0, whose tiny gradients Adam's normalisation
        # turns into steps that float rounding decides
        self_distillation={**training, "student": "base"},
        multilingual={
            **training,
            "batch_size": batch // 2,
            "enabled": True,
            "student": "multilingual-base",
            "parallel": "en_nl.parquet",
        },
    )
    (folder / "run.toml").write_text(toml, encoding="utf-8")
    return folder


@pytest.mark.slow
def test_run_all_under_torchrun_scores_like_one_process_with_the_total_batch(pairs_dir, tmp_path, monkeypatch):
    """Every phase under two gloo processes (contrastive, self-distillation with the teacher's embeddings shared,
    averaging and evaluation on the main process, multilingual) gives the model one process gives with the total
    batch: same losses, same vectors within float tolerance, same scores."""
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)  # linking only: keeps the tiny run fast
    two = run_project(tmp_path / "two", pairs_dir, batch=4)
    one = run_project(tmp_path / "one", pairs_dir, batch=8)
    done = torchrun("run-all", "--config", str(two / "run.toml"), cwd=two)
    assert done.stderr.count("weight_averaging: KG linking") == 1  # evaluated once, by the main process
    result = CliRunner().invoke(app, ["run-all", "--config", str(one / "run.toml")])
    assert result.exit_code == 0, result.output

    m2, m1 = (json.loads((f / "run" / "manifest.json").read_text()) for f in (two, one))
    assert m2["world_size"] == 2 and m1["world_size"] == 1
    assert {name: p["status"] for name, p in m2["phases"].items()} == {
        "contrastive": "trained",
        "self_distillation": "trained",
        "weight_averaging": "averaged",
        "multilingual": "trained",
    }
    for phase in ("contrastive", "self_distillation", "multilingual"):
        assert m2["phases"][phase]["world_size"] == 2
        assert m2["phases"][phase]["dataloader_workers"] == 0  # chosen (unset): no GPU here, so none
        losses2 = [loss for _, loss in m2["phases"][phase]["losses"]]
        losses1 = [loss for _, loss in m1["phases"][phase]["losses"]]
        assert losses2 == pytest.approx(losses1, rel=1e-3), phase
    # the teachers' embeddings: each process embedded half of the texts, not all of them
    for phase in ("self_distillation", "multilingual"):
        shares = m2["phases"][phase]["teacher_texts_per_process"]
        assert (
            len(shares) == 2 and min(shares) > 0 and sum(shares) == m1["phases"][phase]["teacher_texts_per_process"][0]
        )
    for folder in ("contrastive", "self_distillation", "final", "multilingual"):
        texts = ["heart attack", "koorts", "type 2 diabetes mellitus"]
        a = SentenceTransformer(str(two / "run" / folder), device="cpu").encode(texts)
        b = SentenceTransformer(str(one / "run" / folder), device="cpu").encode(texts)
        assert a == pytest.approx(b, abs=1e-3), folder
    for phase, scores in m1["scores"].items():
        assert m2["scores"][phase]["headline"] == pytest.approx(scores["headline"], abs=1e-6), phase


def run_until_checkpoint(cmd: list[str], checkpoints: Path, *, after: int, cwd: Path) -> int:
    """Start `cmd`, kill it (and its processes) once a checkpoint newer than step `after` is sealed (complete in
    every process), as a crash or a lost node would; return that checkpoint's step."""
    import time

    import psutil

    from trainer.phase_folder import SEALED

    def kill() -> None:  # torchrun starts each worker in a session of its own: kill them by the process tree
        parent = psutil.Process(proc.pid)
        for process in [*parent.children(recursive=True), parent]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        proc.wait()

    log = cwd / f"torchrun-after-{after}.log"  # a file, not a pipe: a full pipe would stall the run
    stderr = log.open("w")
    proc = subprocess.Popen(cmd, env=child_env(), cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            steps = [
                int(c.name.split("-")[1])
                for c in checkpoints.glob("checkpoint-*")
                if (c / SEALED).is_file() and int(c.name.split("-")[1]) > after
            ]
            if steps:
                kill()
                return max(steps)
            time.sleep(0.05)
        raise AssertionError(f"no checkpoint after step {after}: {log.read_text()[-2000:]}")
    finally:
        if proc.poll() is None:
            kill()
        stderr.close()


@pytest.mark.slow
def test_a_run_killed_under_torchrun_resumes_under_torchrun_and_then_in_one_process(tiny_model, pairs_dir, tmp_path):
    out = tmp_path / "contrastive"
    checkpoints = tmp_path / ".contrastive.checkpoints"
    args = (
        *("contrastive", "--base", str(tiny_model), "--pairs", str(pairs_dir), "--out", str(out)),
        *("--set=contrastive.max_steps=12", "--set=contrastive.batch_size=2", "--set=contrastive.save_steps=2"),
        "--set=model.max_seq_length=16",
    )
    first = run_until_checkpoint(torchrun_command(*args), checkpoints, after=0, cwd=tmp_path)
    second = run_until_checkpoint(torchrun_command(*args), checkpoints, after=first, cwd=tmp_path)
    assert not out.exists() and second > first
    done = subprocess.run(
        [sys.executable, "-m", "trainer", *args], env=child_env(), cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resuming from checkpoint-{second}" in done.stderr
    marker = json.loads((out / "trainer_phase.json").read_text())
    assert marker["steps"] == 12 and marker["world_size"] == 1
    assert SentenceTransformer(str(out), device="cpu").encode(["heart attack"]).shape == (1, 32)
