"""How sure is a difference between two models on the similarity sets? A paired bootstrap over the pairs of each set.

Each model embeds each set once; every resample draws the set's pairs with replacement, the same draw for both
models, and computes both cosine Spearman ×100 and their difference. Reported per set: each model's score, the
difference and its 95% interval (percentiles of the resampled differences). A target such as "within −1.0 of the
base" is met with confidence only when the whole interval is above −1.0; a difference whose interval holds 0 is not
resolved by the set.

Usage:
    python benchmarks/paired_bootstrap.py BASE MODEL --evalsets ../shared/evalsets [--sets BIOSSES MayoSRS] \\
        [--resamples 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cosines(model, pairs) -> np.ndarray:
    s1, s2, _ = pairs
    texts = list(dict.fromkeys([*s1, *s2]))  # each distinct text once, as trainer evaluate embeds them
    row = {t: i for i, t in enumerate(texts)}
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    return np.einsum("ij,ij->i", vectors[[row[t] for t in s1]], vectors[[row[t] for t in s2]])


def spearman(gold: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Spearman ×100 of each row of (resamples × pairs) arrays: Pearson of average ranks, as scipy computes it."""
    from scipy.stats import rankdata

    a, b = rankdata(gold, axis=-1), rankdata(predicted, axis=-1)
    a -= a.mean(axis=-1, keepdims=True)
    b -= b.mean(axis=-1, keepdims=True)
    return 100 * (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("model")
    parser.add_argument("--evalsets", type=Path, required=True)
    parser.add_argument("--sets", nargs="*", help="default: every public set found")
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    from trainer.evaluate import read_set, sets_to_score
    from trainer.models import model_reference

    chosen = [(spec, paths) for spec, paths in sets_to_score(args.evalsets, args.sets) if paths]
    models = [SentenceTransformer(model_reference(m), device="cpu") for m in (args.base, args.model)]
    rng = np.random.default_rng(args.seed)
    report = {"base": args.base, "model": args.model, "resamples": args.resamples, "sets": {}}
    print("| set | pairs | base | model | difference | 95% interval |\n|---|---:|---:|---:|---:|---|")
    for spec, paths in chosen:
        pairs = read_set(spec, paths)
        gold = np.asarray(pairs[2], dtype=float)
        base, model = (cosines(m, pairs) for m in models)
        diffs = []
        for start in range(0, args.resamples, 500):  # in blocks: SICK-R's 9,927 pairs × 10,000 would take GBs
            draws = rng.integers(0, len(gold), (min(500, args.resamples - start), len(gold)))
            diffs.append(spearman(gold[draws], model[draws]) - spearman(gold[draws], base[draws]))
        diffs = np.concatenate(diffs)
        low, high = np.percentile(diffs, [2.5, 97.5])
        b, m = spearman(gold, base), spearman(gold, model)
        row = {"pairs": len(gold), "base": b, "model": m, "difference": m - b, "low": low, "high": high}
        report["sets"][spec.name] = {k: round(float(v), 2) for k, v in row.items()}
        print(f"| {spec.name} | {len(gold):,} | {b:.2f} | {m:.2f} | {m - b:+.2f} | {low:+.2f} to {high:+.2f} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
