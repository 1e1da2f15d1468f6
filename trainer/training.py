"""What every training phase shares: the training arguments from a config section, bf16 where it pays, one
progress bar per phase, the process rank under torchrun, and the summary of a finished run."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from kgbuild.console import verbose
from kgbuild.errors import UserError


def bf16_enabled(setting: str) -> bool:
    """bf16 where the GPU supports it ("auto"), never on CPU (slow there and not what the test runs measure)."""
    import torch  # here, not at the top: `trainer --help` and --version must not pay for importing torch

    supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if setting == "true" and not supported:
        raise UserError('bf16 = "true" but this machine has no GPU with bf16', fix='set bf16 = "auto" or "false"')
    return supported if setting == "auto" else setting == "true"


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def barrier() -> None:
    """Under torchrun every process runs the same code; wait here for the main process's single-process steps."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


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
        """One progress display per training phase (kgbuild.progress.Bar): steps, loss, time left; plain lines in a
        log file."""

        def __init__(self, label: str):
            self.label = label
            self.bar = None

        def on_train_begin(self, args, state, control, **kwargs):
            from kgbuild.progress import Bar

            self.bar = Bar(state.max_steps or 0, self.label, enabled=True, unit="steps").__enter__()
            self.bar.advance(state.global_step, reused=True)  # resumed from a checkpoint: not in this run's rate

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.bar is not None and logs and "loss" in logs:
                self.bar.note = f"loss {float(logs['loss']):.4f}"

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step)
                self.bar.__exit__(None, None, None)
                self.bar = None

    return PhaseBar


def _PhaseBar(label: str):  # noqa: N802 — built lazily: transformers is imported only when a phase runs
    return _phase_bar_class()(label)


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
