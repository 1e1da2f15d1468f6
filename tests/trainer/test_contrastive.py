from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from sentence_transformers import SentenceTransformer

from kgbuild.core.errors import UserError
from tests.helpers.literal_pairs import pair_rows
from trainer.phase_folder import MARKER
from trainer.phases.contrastive import ContrastiveConfig, train_contrastive


def full_set_mnrl_loss(model: SentenceTransformer) -> float:
    """In-batch-negative loss over all train pairs of distinct cuis, as one fixed batch (a deterministic probe)."""
    seen, anchors, positives = set(), [], []
    for row in pair_rows():
        if row["split"] == "train" and row["cui"] not in seen:
            seen.add(row["cui"])
            anchors.append(row["anchor"])
            positives.append(row["positive"])
    a = model.encode(anchors, convert_to_tensor=True, normalize_embeddings=True)
    p = model.encode(positives, convert_to_tensor=True, normalize_embeddings=True)
    return torch.nn.functional.cross_entropy(20.0 * a @ p.T, torch.arange(len(a))).item()


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["mnrl", "cached_mnrl"])
def test_contrastive_loss_falls_and_the_output_loads(tiny_model, pairs_dir, tmp_path, loss):
    config = ContrastiveConfig(
        loss=loss,
        mini_batch_size=4,
        max_steps=40,
        batch_size=8,
        learning_rate=1e-3,
        warmup_ratio=0.0,
        logging_steps=1,
        save_steps=1000,
    )
    before = full_set_mnrl_loss(SentenceTransformer(str(tiny_model), device="cpu"))
    summary = train_contrastive(str(tiny_model), pairs_dir, tmp_path / "contrastive", config, max_seq_length=32)
    model = SentenceTransformer(str(tmp_path / "contrastive"), device="cpu")
    after = full_set_mnrl_loss(model)
    assert after < before - 0.2, (before, after)
    assert summary["steps"] == 40
    losses = [v for _, v in summary["losses"]]
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10
    assert model.max_seq_length == 32
    marker = json.loads((tmp_path / "contrastive" / MARKER).read_text())
    assert marker["phase"] == "contrastive" and marker["steps"] == 40


def test_existing_output_and_bad_pairs_are_user_errors(tiny_model, pairs_dir, tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(UserError, match="already exists"):
        train_contrastive(str(tiny_model), pairs_dir, tmp_path / "out", ContrastiveConfig(max_steps=1))
    bad = tmp_path / "bad"
    bad.mkdir()
    pq.write_table(pa.table({"anchor": ["a"], "positive": ["b"]}), bad / "pairs.parquet")
    with pytest.raises(UserError, match="missing column") as info:
        train_contrastive(str(tiny_model), bad, tmp_path / "c", ContrastiveConfig(max_steps=1))
    assert info.value.path.endswith("pairs.parquet")
    with pytest.raises(UserError, match="no pairs of split 'train' with kind"):
        train_contrastive(str(tiny_model), pairs_dir, tmp_path / "c", ContrastiveConfig(max_steps=1, kinds=["nope"]))
    one = tmp_path / "one"
    one.mkdir()
    pq.write_table(pa.Table.from_pylist([r for r in pair_rows() if r["cui"] == "C0027051"]), one / "pairs.parquet")
    with pytest.raises(UserError, match="1 concept"):
        train_contrastive(str(tiny_model), one, tmp_path / "c", ContrastiveConfig(max_steps=1))
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
def test_checkpoints_of_another_configuration_are_not_resumed(tiny_model, pairs_dir, tmp_path):
    config = ContrastiveConfig(max_steps=3, batch_size=8, save_steps=1000)
    train_contrastive(str(tiny_model), pairs_dir, tmp_path / "c", config, max_seq_length=32)
    checkpoints = tmp_path / ".c.checkpoints"  # a phase run on its own: hidden beside its output
    assert (checkpoints / "checkpoint-3").is_dir()
    # a finished checkpoint at step 3 would make a resumed 5-step run train only 2 steps on the old state
    summary = train_contrastive(
        str(tiny_model),
        pairs_dir,
        tmp_path / "c",
        ContrastiveConfig(max_steps=5, batch_size=8, save_steps=1000, logging_steps=1),
        max_seq_length=32,
        force=True,
    )
    assert not (checkpoints / "checkpoint-3").exists() and (checkpoints / "checkpoint-5").is_dir()
    assert [step for step, _ in summary["losses"]] == [1, 2, 3, 4, 5]


def test_only_a_sealed_checkpoint_is_resumed(tmp_path):
    """Under torchrun the other processes still write into a checkpoint after the main one wrote its
    trainer_state.json: a kill then left an empty tokenizer_config.json (which failed every resume) or a truncated
    rng_state_1.pth. Only a checkpoint sealed once every process finished it is resumed; the others are removed."""
    from trainer.phase_folder import SEALED, resume_checkpoint

    checkpoints = tmp_path / "checkpoints"
    for step in (2, 4, 6, 8):
        folder = checkpoints / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        (folder / "model.safetensors").write_bytes(b"weights")
        (folder / SEALED).write_text(json.dumps({"global_step": step, "processes": 2}))
    (checkpoints / "checkpoint-8" / SEALED).unlink()  # killed before every process had written its part
    (checkpoints / "checkpoint-6" / SEALED).write_text('{"global_st')  # killed while sealing
    (checkpoints / "checkpoint-4" / "trainer_state.json").write_text("")  # a seal does not vouch for a lost state
    (checkpoints / "phase-fingerprint.txt").write_text("key\n")
    assert resume_checkpoint(checkpoints, "key") == str(checkpoints / "checkpoint-2")
    assert sorted(p.name for p in checkpoints.glob("checkpoint-*")) == ["checkpoint-2"]


def test_every_checkpoint_a_phase_writes_is_sealed(tiny_model, pairs_dir, tmp_path):
    from trainer.phase_folder import SEALED

    checkpoints = tmp_path / "checkpoints"
    train_contrastive(
        tiny_model,
        pairs_dir,
        tmp_path / "c",
        ContrastiveConfig(max_steps=4, batch_size=8, save_steps=2, save_total_limit=5, logging_steps=1),
        max_seq_length=32,
        checkpoints=checkpoints,
    )
    folders = sorted(checkpoints.glob("checkpoint-*"))
    assert [f.name for f in folders] == ["checkpoint-2", "checkpoint-4"]
    for folder in folders:
        step = int(folder.name.split("-")[1])
        assert json.loads((folder / SEALED).read_text()) == {"global_step": step, "processes": 1}


@pytest.mark.slow
def test_a_phase_command_prints_no_library_log_lines_unless_verbose(tiny_model, pairs_dir, tmp_path):
    """Issue 31, item 1: `trainer` commands printed the libraries' INFO logs (device, loading, saving)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = "import sys; from trainer.cli import main; sys.argv[0] = 'trainer'; main()"

    def run(out: str, *extra: str) -> str:
        args = ["contrastive", "--base", str(tiny_model), "--pairs", str(pairs_dir), "--out", str(tmp_path / out)]
        args += ["--set", "contrastive.max_steps=2", "--set", "contrastive.batch_size=4", *extra]
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(root)},
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    quiet = run("quiet")
    for leaked in ("No device provided", "Loading SentenceTransformer", "Saving model"):
        assert leaked not in quiet, quiet
    assert "contrastive: 2 steps; model saved to" in quiet
    # Issue 31, item 11: a phase run on its own leaves no checkpoints folder beside --out once it is done.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiet"]
    assert "Loading SentenceTransformer" in run("verbose", "--verbose")


def test_ctrl_c_in_a_phase_says_what_is_kept_and_how_to_resume(tmp_path):
    """Issue 31, item 11: a Ctrl-C in a phase printed only "interrupted"."""
    from trainer.commands.common import interruptible

    kept = tmp_path / ".final.checkpoints"
    kept.mkdir()
    with pytest.raises(UserError) as stop, interruptible(kept):
        raise KeyboardInterrupt
    assert stop.value.exit_code == 130
    assert ".final.checkpoints" in str(stop.value) and "rerun the same command to resume" in str(stop.value)
