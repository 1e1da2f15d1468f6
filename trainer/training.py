"""What every training phase shares: the training arguments from a config section, bf16 where it pays, the
progress of each phase reported as events, the process rank under torchrun, and the summary of a finished run."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from kgbuild.core.console import verbose
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter


def bf16_enabled(setting: str) -> bool:
    """bf16 where the GPU supports it ("auto"), never on CPU (slow there and not what the test runs measure)."""
    import torch  # here, not at the top: `trainer --help` and --version must not pay for importing torch

    supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if setting == "true" and not supported:
        raise UserError('bf16 = "true" but this machine has no GPU with bf16', fix='set bf16 = "auto" or "false"')
    return supported if setting == "auto" else setting == "true"


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def world_size() -> int:
    """Processes training together (torchrun / accelerate launch set WORLD_SIZE); 1 when run plainly."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def join_processes() -> None:
    """Under torchrun: join the process group now (accelerate's, which the trainer then uses), before any model is
    loaded, so that each process's models go to its own GPU and the work before training (the teacher's embeddings)
    can be shared across the processes. Nothing when run plainly."""
    if world_size() > 1:
        import torch
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available())  # CPU: gloo, as training_arguments' use_cpu asks


def encode_shared(model: Any, texts: list[str], *, batch_size: int, show_progress_bar: bool = False):
    """`model`'s embeddings of `texts` (a float32 array), computed once across the processes of a torchrun: each
    embeds its contiguous share and the shares are gathered, so every process holds them all. Returns the array and
    the number of texts each process embedded."""
    import numpy as np
    import torch.distributed as dist

    size = world_size()
    if size == 1 or not (dist.is_available() and dist.is_initialized()):
        vectors = model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=show_progress_bar
        )
        return vectors.astype(np.float32, copy=False), [len(texts)]
    rank = dist.get_rank()
    bounds = [len(texts) * i // size for i in range(size + 1)]
    share = texts[bounds[rank] : bounds[rank + 1]]
    mine = (
        model.encode(
            share, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=show_progress_bar and rank == 0
        ).astype(np.float32, copy=False)
        if share
        else np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
    )
    shares: list[Any] = [None] * size
    dist.all_gather_object(shares, mine)
    return np.concatenate(shares), [len(share) for share in shares]


def barrier() -> None:
    """Under torchrun every process runs the same code; wait here for the main process's single-process steps."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


# The workers that took the host time between steps from 26-56% to under 1% on an H200 with 16 CPU threads
# (BENCHMARKS.md, "The same with 6 DataLoader workers"); more only share the same cores.
MAX_AUTO_WORKERS = 6


def dataloader_workers(setting: int | None) -> int:
    """A phase's DataLoader workers: the setting when given; unset, on a GPU machine one per CPU core this process
    can spare (its share of the cores, less one for itself), at most MAX_AUTO_WORKERS; without a GPU none, since the
    workers would take cores from the training itself."""
    import torch

    if setting is not None:
        return setting
    if not torch.cuda.is_available():
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    per_process = cores // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(MAX_AUTO_WORKERS, per_process - 1))


def training_arguments(phase: Any, checkpoints: Path, *, seed: int, evaluate: bool = False, **extra: Any):
    """SentenceTransformerTrainingArguments from a phase config section (shared fields of every phase); `evaluate`:
    the trainer's evaluator runs at every save_steps (step 4, `evaluate_during_training`)."""
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    if evaluate:
        extra = {"eval_strategy": "steps", "eval_steps": phase.save_steps, **extra}

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
        dataloader_num_workers=dataloader_workers(getattr(phase, "dataloader_workers", 0)),
        # without a GPU, accelerate forms a multi-process group (gloo) only when told to use the CPU
        use_cpu=not torch.cuda.is_available(),
        # The HF trainer's own bar and its raw log dicts on stdout only with --verbose; report_progress() sends ours.
        disable_tqdm=not os.environ.get("TRAINER_PROGRESS", "1") == "1" or not verbose(),
        **extra,
    )


def report_progress(trainer: Any, label: str, report: Reporter) -> Any:
    """Without --verbose: no raw log dicts on stdout (the HF PrinterCallback); the main process reports the phase's
    steps, loss and time left to `report` as a Task named `label` (kgbuild.core.events: the CLI's Renderer draws the
    one progress display, a library call is silent). Returns the trainer."""
    if verbose() or os.environ.get("TRAINER_PROGRESS", "1") != "1":
        return trainer
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    if is_main_process():
        trainer.add_callback(_progress_callback_class()(label, report))
    return trainer


def _progress_callback_class():  # built lazily: transformers is imported only when a phase runs
    from transformers import TrainerCallback

    from kgbuild.core.events import Task

    class PhaseProgress(TrainerCallback):
        """A training phase as a Task: started with the step count, moved to each global step with the last loss."""

        def __init__(self, label: str, report: Reporter):
            self.label, self.report = label, report
            self.task: Task | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.task = Task(self.report, self.label, state.max_steps or 0, unit="steps").__enter__()
            if state.global_step:  # resumed from a checkpoint: not in this run's rate
                self.task.update(state.global_step, reused=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if self.task is not None:
                self.task.update(state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.task is not None and logs and "loss" in logs:
                self.task.note = f"loss {float(logs['loss']):.4f}"

        def on_train_end(self, args, state, control, **kwargs):
            if self.task is not None:
                self.task.update(state.global_step)
                self.task.__exit__(None, None, None)
                self.task = None

    return PhaseProgress


def train_summary(trainer: Any, started: float, n_rows: int) -> dict[str, Any]:
    """Steps, the logged loss curve and throughput of a finished `trainer.train()`."""
    history = trainer.state.log_history
    losses = [(h["step"], h["loss"]) for h in history if "loss" in h]
    final = next((h for h in reversed(history) if "train_runtime" in h), {})
    # step 4's figures, when the trainer had an evaluator (evaluate_during_training)
    evaluations = [h for h in history if any(k.startswith("eval_") for k in h)]
    return {
        **({"evaluations": evaluations} if evaluations else {}),
        "steps": trainer.state.global_step,
        "world_size": trainer.args.world_size,  # processes under torchrun / accelerate launch (DDP)
        "dataloader_workers": trainer.args.dataloader_num_workers,  # as set, or as chosen from the cores
        "epoch": trainer.state.epoch,
        "rows": n_rows,
        "losses": losses,
        "train_runtime_s": final.get("train_runtime"),
        "train_samples_per_second": final.get("train_samples_per_second"),
        "wall_s": round(time.perf_counter() - started, 3),
    }
