"""A phase's output folder: refused or replaced (--force), saved with its card, marked finished last (the
marker is what resume trusts), and its checkpoints kept only while the phase is unfinished."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kgbuild.core.atomic import atomic_dir, atomic_write_bytes, check_output, check_overlap
from kgbuild.core.console import shown
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, say, silent
from trainer.training import barrier, is_main_process, report_progress, world_size

MARKER = "trainer_phase.json"  # written last into a phase's folder: its presence means the phase finished
SEALED = "checkpoint_sealed.json"  # written last into a checkpoint, once every process has written its part


def finished(folder: Path) -> dict[str, Any] | None:
    """The marker of a complete phase output (a loadable model folder plus marker), else None."""
    folder = Path(folder)
    marker = folder / MARKER
    if not (marker.is_file() and (folder / "modules.json").is_file()):
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def write_marker(folder: Path, info: dict[str, Any]) -> None:
    atomic_write_bytes(Path(folder) / MARKER, json.dumps(info, indent=2, default=str).encode())


def save_phase(model: Any, out: Path, *, info: dict[str, Any], settings: Any, report: Reporter = silent) -> None:
    """Save a phase's model to `out` with its phase card, then the marker, last: written beside `out` and renamed
    into place when complete, by the main process only (under DDP every process reaches this line).

    The card replaces sentence-transformers' automatic one, which knows neither the base model nor the phase ("base
    model Unknown", the last loss only); `trainer run-all` gives the run's final model the full card after evaluation.
    """
    from trainer import model_card

    if not is_main_process():
        return
    out = Path(out)
    check_model(model, out.name)  # a NaN or collapsed model is never saved as a finished phase
    settings = settings.model_dump(mode="json") if isinstance(settings, BaseModel) else dict(settings)
    with atomic_dir(out, force=True, report=report) as folder:
        model.save(str(folder), create_model_card=False)
        model_card.write(model_card.phase_card(out.name, info["phase"], info, settings), folder)
        write_marker(folder, info)


# Texts whose embeddings show a collapsed model: unrelated, so a healthy model gives them different vectors.
_PROBES = ("myocardial infarction", "type 2 diabetes mellitus", "fracture of the femur", "the cat sat on the mat")


def check_model(model: Any, name: str) -> None:
    """A phase's model must have finite parameters and tell texts apart (not all embeddings equal or zero); else
    the phase fails with one line and is not marked finished (a learning rate of inf trains a NaN model, exit 0)."""
    import torch

    bad = sum(int((~torch.isfinite(p)).sum()) for p in model.parameters())
    if bad:
        raise UserError(
            f"the {name} model has {bad:,} parameters that are NaN or infinite, so it was not saved",
            fix="lower the learning rate (or check the weights of the average) and rerun",
        )
    vectors = model.encode(list(_PROBES), convert_to_tensor=True, show_progress_bar=False).float()
    if not torch.isfinite(vectors).all() or float(vectors.abs().max()) == 0.0 or bool((vectors == vectors[0]).all()):
        raise UserError(
            f"the {name} model gives the same (or no) embedding to unrelated texts: it collapsed, so it was not saved",
            fix="lower the learning rate, train fewer steps or check the pairs, then rerun",
        )


def refuse_existing(
    out: Path, force: bool, *, inputs: dict[str, Path | None] | None = None, report: Reporter = silent
) -> None:
    """Checked before any training, so a long run does not fail at the very end: an output over an input (in any
    direction) is refused even with --force, and --force replaces only a folder kgbuild or the trainer wrote."""
    inputs = {k: Path(v) for k, v in (inputs or {}).items() if v is not None and Path(v).exists()}
    check_overlap(out, inputs)
    if Path(out).exists() and not force:
        raise UserError(
            "output folder already exists", path=out, fix="pass --force to replace it, or choose another --out"
        )
    check_output(out, force=force, report=report)


@dataclass
class PhaseRun:
    """One run of a phase into `out`: the one place that refuses an existing output (or replaces it with `force`),
    resumes from the checkpoints of an interrupted run of the same configuration and saves the model with its marker.

    `checkpoints`: default hidden beside `out` (run-all keeps them in its run folder); `marker`: what run-all adds to
    the finished marker (the fingerprint); `report`: where the training progress goes (kgbuild.core.events);
    `callbacks`: more transformers TrainerCallbacks for the trainer (benchmarks/gpu_check.py's meter)."""

    out: Path
    force: bool = False
    checkpoints: Path | None = None
    marker: dict[str, Any] = field(default_factory=dict)
    report: Reporter = silent
    callbacks: list | None = None

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.checkpoints = Path(self.checkpoints or checkpoints_for(self.out))
        self.marker = dict(self.marker or {})
        self.started = time.perf_counter()

    def refuse(self, inputs: dict[str, Path | None]) -> None:
        """Before any model is loaded: refuse_existing, with the inputs named as the command names them."""
        refuse_existing(self.out, self.force, inputs=inputs, report=self.report)

    def train(self, trainer: Any, label: str, key: str) -> None:
        """`trainer.train()` with its progress reported as `label`, resumed from the newest checkpoint of an
        interrupted run with the same fingerprint `key`."""
        report_progress(trainer, label, self.report)
        trainer.add_callback(_seal_callback_class()())
        trainer.train(resume_from_checkpoint=resume_checkpoint(self.checkpoints, key, report=self.report))

    def save(self, model: Any, phase: str, summary: dict[str, Any], settings: Any) -> None:
        info = {"phase": phase, **summary, **self.marker}
        save_phase(model, self.out, info=info, settings=settings, report=self.report)

    def arguments(self) -> dict[str, Any]:
        """The keywords of a phase function (train_contrastive, ...) that make this same run."""
        return {
            "force": self.force,
            "checkpoints": self.checkpoints,
            "marker": self.marker,
            "report": self.report,
            "callbacks": self.callbacks,
        }


def checkpoints_for(out: Path) -> Path:
    """Where a phase run on its own keeps its checkpoints: hidden beside --out (run-all keeps them in its run folder),
    so that a killed run resumes and no `checkpoints/` folder appears among the user's files."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoints"


def drop_checkpoints(checkpoints: Path) -> None:
    """Delete a finished phase's checkpoint folder (written by the trainer itself), and run-all's `checkpoints/`
    once empty."""
    checkpoints = Path(checkpoints)
    if not is_main_process() or not checkpoints.is_dir():
        return
    if not (checkpoints / "phase-fingerprint.txt").is_file():  # only a folder resume_checkpoint made is ours
        return
    shutil.rmtree(checkpoints, ignore_errors=True)
    if checkpoints.parent.name == "checkpoints":
        try:
            checkpoints.parent.rmdir()
        except OSError:  # other phases' checkpoints are still there
            pass


def resume_checkpoint(checkpoints: Path, key: str, *, report: Reporter = silent) -> str | None:
    """The newest complete checkpoint of an interrupted run of this same phase configuration, else None; what it
    removes and what it resumes from is said to `report`.

    Checkpoints of another configuration are removed: resuming them would silently skip training
    (e.g. a finished checkpoint at max_steps) or mix two configurations. So are checkpoints that a kill, SIGTERM or a
    full disk left half-written (not sealed: _complete): resuming one failed on every rerun until it was deleted by
    hand.
    """
    checkpoints = Path(checkpoints)
    stamp = checkpoints / "phase-fingerprint.txt"
    if is_main_process():
        if checkpoints.is_dir() and (not stamp.is_file() or stamp.read_text().strip() != key):
            shutil.rmtree(checkpoints)
        checkpoints.mkdir(parents=True, exist_ok=True)
        stamp.write_text(key + "\n")
        for partial in [c for c in _checkpoints(checkpoints) if not _complete(c)]:
            shutil.rmtree(partial)  # inside our own checkpoints folder (stamped above)
            say(report, "resume", f"{partial.name} was left incomplete by an interrupted run: removed")
    barrier()
    found = _checkpoints(checkpoints)
    if found and is_main_process():
        say(report, "resume", f"resuming from {found[0].name} of an interrupted run ({shown(found[0])})")
    return str(found[0]) if found else None


def _checkpoints(folder: Path) -> list[Path]:
    """checkpoint-N folders, newest (highest N) first."""
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-", 1)[1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-", 1)[1]), reverse=True)


def _complete(checkpoint: Path) -> bool:
    """Sealed (SEALED, written once every process finished writing the checkpoint) and with a readable
    trainer_state.json. Files are not trusted by their look: under torchrun the other processes still write into a
    checkpoint after the main one wrote its state, and a kill then left a truncated or empty file (an empty
    tokenizer_config.json once failed every resume)."""
    try:
        seal = json.loads((checkpoint / SEALED).read_text(encoding="utf-8"))
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    step = checkpoint.name.split("-", 1)[1]
    return isinstance(seal, dict) and isinstance(state, dict) and str(seal.get("global_step")) == step


def _seal_callback_class():  # built lazily: transformers is imported only when a phase runs
    from transformers import TrainerCallback

    class SealCheckpoint(TrainerCallback):
        """The trainer calls on_save in every process once it has written its part of a checkpoint: when all have
        (the barrier), the main process seals the checkpoint, the one sign resume_checkpoint trusts."""

        def on_save(self, args, state, control, **kwargs):
            barrier()
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if is_main_process() and folder.is_dir():
                seal = {"global_step": state.global_step, "processes": world_size()}
                atomic_write_bytes(folder / SEALED, json.dumps(seal).encode())

    return SealCheckpoint
