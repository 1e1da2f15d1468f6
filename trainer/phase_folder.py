"""A phase's output folder: refused or replaced (--force), saved with its card, marked finished last (the
marker is what resume trusts), and its checkpoints kept only while the phase is unfinished."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kgbuild.atomic import atomic_dir, atomic_write_bytes, check_output
from kgbuild.errors import UserError
from trainer.training import barrier, is_main_process

MARKER = "trainer_phase.json"  # written last into a phase's folder: its presence means the phase finished


def finished(folder: Path) -> dict[str, Any] | None:
    """The marker of a complete phase output (a loadable model folder plus marker), else None."""
    folder = Path(folder)
    marker = folder / MARKER
    if not (marker.is_file() and (folder / "modules.json").is_file()):
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def write_marker(folder: Path, info: dict[str, Any]) -> None:
    atomic_write_bytes(Path(folder) / MARKER, json.dumps(info, indent=2, default=str).encode())


def save_phase(model: Any, out: Path, *, info: dict[str, Any], settings: Any) -> None:
    """Save a phase's model to `out` with its phase card, then the marker, last: written beside `out` and renamed
    into place when complete, by the main process only (under DDP every process reaches this line).

    The card replaces sentence-transformers' automatic one, which knows neither the base model nor the phase ("base
    model Unknown", the last loss only); `trainer run-all` gives the run's final model the full card after evaluation.
    """
    from trainer import model_card

    if not is_main_process():
        return
    out = Path(out)
    settings = settings.model_dump(mode="json") if isinstance(settings, BaseModel) else dict(settings)
    with atomic_dir(out, force=True) as folder:
        model.save(str(folder), create_model_card=False)
        model_card.write(model_card.phase_card(out.name, info["phase"], info, settings), folder)
        write_marker(folder, info)


def refuse_existing(out: Path, force: bool) -> None:
    """Checked before any training, so a long run does not fail at the very end."""
    if Path(out).exists() and not force:
        raise UserError(
            "output folder already exists", path=out, fix="pass --force to replace it, or choose another --out"
        )
    check_output(out, force=force)  # --force replaces only a folder kgbuild or the trainer wrote


def drop_checkpoints(checkpoints: Path) -> None:
    """Delete a finished phase's checkpoint folder (written by the trainer itself), and its parent once empty."""
    checkpoints = Path(checkpoints)
    if not is_main_process() or not checkpoints.is_dir():
        return
    if not (checkpoints / "phase-fingerprint.txt").is_file():  # only a folder resume_checkpoint made is ours
        return
    shutil.rmtree(checkpoints, ignore_errors=True)
    try:
        checkpoints.parent.rmdir()
    except OSError:  # other phases' checkpoints are still there
        pass


def resume_checkpoint(checkpoints: Path, key: str) -> str | None:
    """The newest checkpoint of an interrupted run of this same phase configuration, else None.

    Checkpoints of another configuration are removed: resuming them would silently skip training
    (e.g. a finished checkpoint at max_steps) or mix two configurations.
    """
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints = Path(checkpoints)
    stamp = checkpoints / "phase-fingerprint.txt"
    if is_main_process():
        if checkpoints.is_dir() and (not stamp.is_file() or stamp.read_text().strip() != key):
            shutil.rmtree(checkpoints)
        checkpoints.mkdir(parents=True, exist_ok=True)
        stamp.write_text(key + "\n")
    barrier()
    return get_last_checkpoint(str(checkpoints))
