"""What the phases share: training arguments, the finished-phase marker (resume), and model references."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from kgbuild.atomic import atomic_write_bytes, check_output
from kgbuild.console import verbose
from kgbuild.errors import UserError

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


def save_phase(model: Any, folder: Path, *, name: str, info: dict[str, Any], settings: Any) -> None:
    """Save a phase's model into `folder` (to become `name`) with its phase card, then the marker, last.

    The card replaces sentence-transformers' automatic one, which knows neither the base model nor the phase ("base
    model Unknown", the last loss only); `trainer run-all` gives the run's final model the full card after evaluation.
    """
    from trainer import model_card

    model.save(str(folder), create_model_card=False)
    settings = dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else dict(settings)
    model_card.write(model_card.phase_card(name, info["phase"], info, settings), folder)
    write_marker(folder, info)


def refuse_existing(out: Path, force: bool) -> None:
    """Checked before any training, so a long run does not fail at the very end."""
    if Path(out).exists() and not force:
        raise UserError(
            "output folder already exists", path=out, fix="pass --force to replace it, or choose another --out"
        )
    check_output(out, force=force)  # --force replaces only a folder kgbuild or the trainer wrote


def bf16_enabled(setting: str) -> bool:
    """bf16 where the GPU supports it ("auto"), never on CPU (slow there and not what the test runs measure)."""
    import torch  # here, not at the top: `trainer --help` and --version must not pay for importing torch

    supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if setting == "true" and not supported:
        raise UserError('bf16 = "true" but this machine has no GPU with bf16', fix='set bf16 = "auto" or "false"')
    return supported if setting == "auto" else setting == "true"


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def training_arguments(phase: Any, checkpoints: Path, *, seed: int, **extra: Any):
    """SentenceTransformerTrainingArguments from a phase config section (shared fields of every phase)."""
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    return SentenceTransformerTrainingArguments(
        output_dir=str(checkpoints),
        max_steps=phase.max_steps,
        num_train_epochs=phase.epochs,
        per_device_train_batch_size=phase.batch_size,
        learning_rate=phase.learning_rate,
        warmup_steps=phase.warmup_ratio,  # a float below 1 is a ratio of the total steps
        bf16=bf16_enabled(phase.bf16),
        save_strategy="steps",
        save_steps=phase.save_steps,
        save_total_limit=phase.save_total_limit,
        logging_steps=phase.logging_steps,
        logging_first_step=True,
        seed=seed,
        data_seed=seed,
        report_to="none",
        dataloader_pin_memory=torch.cuda.is_available(),
        dataloader_num_workers=getattr(phase, "dataloader_workers", 0),
        # without a GPU, accelerate forms a multi-process group (gloo) only when told to use the CPU
        use_cpu=not torch.cuda.is_available(),
        # The HF trainer's own bar and its raw log dicts on stdout only with --verbose; quiet() shows ours instead.
        disable_tqdm=not os.environ.get("TRAINER_PROGRESS", "1") == "1" or not verbose(),
        **extra,
    )


def quiet(trainer: Any, label: str) -> Any:
    """Without --verbose: no raw log dicts on stdout (the HF PrinterCallback), one rich bar with the loss and ETA on
    stderr instead (main process only). Returns the trainer."""
    if verbose() or not is_main_process() or os.environ.get("TRAINER_PROGRESS", "1") != "1":
        return trainer
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(_PhaseBar(label))
    return trainer


def _phase_bar_class():
    from transformers import TrainerCallback

    class PhaseBar(TrainerCallback):
        """One progress bar per training phase: steps, loss, time left."""

        def __init__(self, label: str):
            self.label = label
            self.progress = None
            self.task = None

        def on_train_begin(self, args, state, control, **kwargs):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from kgbuild.console import err

            self.progress = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[loss]}"),
                console=err,
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task(
                self.label, total=state.max_steps or None, completed=state.global_step, loss=""
            )

        def on_step_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.update(self.task, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.progress is not None and logs and "loss" in logs:
                self.progress.update(self.task, loss=f"loss {float(logs['loss']):.4f}")

        def on_train_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.update(self.task, completed=state.global_step)
                self.progress.stop()
                self.progress = None

    return PhaseBar


def _PhaseBar(label: str):  # noqa: N802 — built lazily: transformers is imported only when a phase runs
    return _phase_bar_class()(label)


def barrier() -> None:
    """Under torchrun every process runs the same code; wait here for the main process's single-process steps."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def fingerprint(*parts: Any) -> str:
    """A short hash of what a phase's result depends on (its config section, inputs, seed)."""
    blob = json.dumps(
        [dataclasses.asdict(p) if dataclasses.is_dataclass(p) else p for p in parts], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def model_fingerprint(reference: str) -> str:
    """Content hash of a model folder's weights and module list (a hub id stands for itself)."""
    folder = Path(reference)
    digest = hashlib.sha256()
    if not folder.is_dir():
        digest.update(reference.encode())
        return digest.hexdigest()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".safetensors", ".bin", ".json") and path.name != "trainer_phase.json":
            digest.update(str(path.relative_to(folder)).encode())
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def train_summary(trainer: Any, started: float, n_rows: int) -> dict[str, Any]:
    """Steps, the logged loss curve and throughput of a finished `trainer.train()`."""
    history = trainer.state.log_history
    losses = [(h["step"], h["loss"]) for h in history if "loss" in h]
    final = next((h for h in reversed(history) if "train_runtime" in h), {})
    return {
        "steps": trainer.state.global_step,
        "world_size": trainer.args.world_size,  # processes under torchrun / accelerate launch (DDP)
        "epoch": trainer.state.epoch,
        "rows": n_rows,
        "losses": losses,
        "train_runtime_s": final.get("train_runtime"),
        "train_samples_per_second": final.get("train_samples_per_second"),
        "wall_s": round(time.perf_counter() - started, 3),
    }


def model_reference(value: str | Path) -> str:
    """A folder path (checked) or a hub id: fail early with a clear message if it is meant to be a folder. The bases
    we ship offline (all-mpnet-base-v2 with the `mpnet` extra, all-MiniLM-L6-v2) resolve to their local folder."""
    from trainer.models import resolve

    text = str(value)
    if not Path(text).exists():
        text = resolve(text)
    if Path(text).exists():
        if not (Path(text) / "modules.json").is_file() and not (Path(text) / "config.json").is_file():
            raise UserError(
                "not a model folder (no modules.json or config.json)",
                path=text,
                fix="give a sentence-transformers model folder or a hub id",
            )
        return text
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or not _HUB_ID.fullmatch(text):
        raise UserError("model folder not found", path=text, fix="check the path, or train the earlier phase first")
    return text


# What the Hub accepts as a repo id ([org/]name): anything else can only have been meant as a folder.
_HUB_ID = re.compile(r"(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}")
