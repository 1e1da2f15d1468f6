"""Benchmark of the linking index (`trainer index` / `trainer link`) against exact search, in one run.

Vectors (--vectors):
  real       all-MiniLM-L6-v2 embeddings of real biomedical text: every distinct 1- to 8-word span of the PubMed
             titles and abstracts of the NCBI-disease and BC5CDR corpora (--evalsets), less the gold mention
             strings, plus the names of a KG (--kg, e.g. HPO's 41,498), up to --n; the queries are the corpora's
             distinct gold mentions, embedded by the same model. Embeddings are cached in --cache (resumable).
  synthetic  --n normalised 384-d vectors around n/20 random centres, queries near database vectors.
Measured on the same vectors and queries:
  1. exact search: `sentence_transformers.util.semantic_search` (the peer named by the issue) and faiss IndexFlatIP;
  2. the index `trainer index` builds (trainer.linking.make_faiss_index: HNSW) at float32, float16 and int8 (--dtypes):
     build time, size, and queries/s and recall@5 against exact search at several efSearch;
  3. the alternative measured and not chosen: faiss IVF (nlist 4·√n, float16) at several nprobe;
  4. end to end: mentions/s of `Linker.link` with all-MiniLM-L6-v2 encoding included (--minilm).
recall@5 is the share of the exact top-5 found; with --vectors real it is also given for the queries that have a
name at cosine ≥ 0.9 (a mention with a close name in the KG, the usual linking case) and for the rest.

Usage:
    python benchmarks/bench_linking.py --vectors real --evalsets ../shared/evalsets --kg kg --cache linkbench \\
        --n 1000000 --minilm --json report.json
    python benchmarks/bench_linking.py --vectors synthetic --n 1000000 --queries 5000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic(n: int, d: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
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


def corpus_texts(evalsets: Path) -> tuple[list[str], list[str]]:
    """(titles and abstracts, distinct gold mentions) of the NCBI-disease and BC5CDR files of an evalsets folder."""
    texts = []
    files = [*(evalsets / "bc5cdr").glob("*.PubTator.txt"), *(evalsets / "ncbi-disease").glob("*corpus.txt")]
    for path in sorted(files):  # PubTator: pmid|t|title and pmid|a|abstract lines
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if m := re.match(r"^\d+\|[ta]\|(.*)$", line):
                texts.append(m.group(1))
    mentions = set()
    for path in sorted(evalsets.glob("*/*_mentions.tsv")):
        with path.open(encoding="utf-8") as fh:
            mentions |= {row["mention"] for row in csv.DictReader(fh, delimiter="\t")}
    if not texts or not mentions:
        sys.exit(f"{evalsets}: no NCBI-disease or BC5CDR corpus files (point --evalsets at ../shared/evalsets)")
    return texts, sorted(mentions)


def spans(texts: list[str], skip: set[str], limit: int) -> list[str]:
    """Distinct 1- to 8-word spans within sentences, less `skip` (lower case), shuffled (seed 0), the first `limit`."""
    found = set()
    for text in texts:
        for sentence in re.split(r"(?<=[.;:?!])\s+", text):
            words = re.findall(r"[A-Za-z0-9][A-Za-z0-9\-'/]*", sentence)
            for n in range(1, 9):
                for i in range(len(words) - n + 1):
                    span = " ".join(words[i : i + n])
                    if span.lower() not in skip:
                        found.add(span)
    found = sorted(found)
    random.Random(0).shuffle(found)
    return found[:limit]


def embed_cached(model, texts: list[str], cache: Path, name: str) -> np.ndarray:
    """Embeddings of `texts`, cached in cache/name/ by chunk as `trainer index` caches them (resumable; a cache of
    other texts is replaced)."""
    from kgbuild.core.render import Renderer
    from trainer.linking import _digest, _embed_resumable

    chunks = _embed_resumable(model, texts, cache / name, _digest(texts), batch_size=256, report=Renderer())
    return np.concatenate(chunks)


def minilm():
    """all-MiniLM-L6-v2 from its wheel, resolved as the trainer resolves a base (offline)."""
    from sentence_transformers import SentenceTransformer

    from trainer.models import MINILM, model_reference

    return SentenceTransformer(model_reference(MINILM), device="cpu")


def real(args) -> tuple[np.ndarray, np.ndarray, dict]:
    from trainer.linking import kg_names

    model = minilm()
    texts, mentions = corpus_texts(args.evalsets)
    parts, info = [], {}
    if args.kg:
        _, names = kg_names(args.kg, "all")
        parts.append(embed_cached(model, names, args.cache, "kg-names"))
        info["kg_names"] = len(names)
    rest = args.n - sum(len(p) for p in parts)
    chosen = spans(texts, {m.lower() for m in mentions}, rest)
    parts.append(embed_cached(model, chosen, args.cache, "spans"))
    info |= {"spans": len(chosen), "abstracts_and_titles": len(texts), "queries": len(mentions)}
    return np.concatenate(parts), embed_cached(model, mentions, args.cache, "mentions"), info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", choices=("real", "synthetic"), default="synthetic")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=5000, help="synthetic queries")
    parser.add_argument("--evalsets", type=Path, help="real: the evaluation sets folder (NCBI-disease, BC5CDR)")
    parser.add_argument("--kg", type=Path, help="real: a KG whose names join the index (kgbuild extract output)")
    parser.add_argument("--cache", type=Path, default=Path("linkbench-cache"), help="real: embeddings cache")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float16", "int8"])
    parser.add_argument("--minilm", action="store_true", help="also end-to-end mentions/s with all-MiniLM-L6-v2")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()

    import faiss
    import torch
    from sentence_transformers import util

    from trainer import linking

    report: dict = {"vectors": args.vectors, "cpus": os.cpu_count(), "faiss_threads": faiss.omp_get_max_threads()}
    t0 = time.perf_counter()
    if args.vectors == "real":
        if args.evalsets is None:
            parser.error("--vectors real needs --evalsets")
        x, q, info = real(args)
        report |= info
    else:
        x, q = synthetic(args.n, 384, args.queries)
    report |= {"n": len(x), "dim": x.shape[1], "queries": len(q), "make_vectors_s": round(time.perf_counter() - t0)}
    print(json.dumps(report), flush=True)

    def timed_search(index, k: int = 5) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        _, ids = index.search(q, k)
        return ids, len(q) / (time.perf_counter() - started)

    # 1. the exact peers
    t0 = time.perf_counter()
    hits = util.semantic_search(torch.from_numpy(q), torch.from_numpy(x), top_k=5, corpus_chunk_size=100_000)
    st_qps = len(q) / (time.perf_counter() - t0)
    exact = np.array([[h["corpus_id"] for h in row] for row in hits])
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    top, _ = flat.search(q, 1)
    flat_ids, flat_qps = timed_search(flat)
    del flat
    near = top[:, 0] >= 0.9  # queries with a close name: the usual linking case

    def recall(found: np.ndarray) -> dict[str, float]:
        share = np.array([len(set(a) & set(b)) / 5 for a, b in zip(found, exact, strict=True)])
        out = {"recall@5": round(float(share.mean()), 4)}
        if args.vectors == "real":
            out |= {"recall@5 top1>=0.9": round(float(share[near].mean()), 4)}
            out |= {"recall@5 top1<0.9": round(float(share[~near].mean()), 4)}
        return out

    report["queries_with_a_name_at_0.9"] = int(near.sum())
    report["exact"] = {"semantic_search_qps": round(st_qps), "faiss_flat_qps": round(flat_qps), **recall(flat_ids)}
    print(json.dumps(report["exact"]), flush=True)

    def size_mb(index) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            faiss.write_index(index, f"{tmp}/i.faiss")
            return round(os.path.getsize(f"{tmp}/i.faiss") / 1e6, 1)

    # 2. the index trainer index builds
    report["index"], keep = [], None
    for dtype in args.dtypes:
        t0 = time.perf_counter()
        index, chosen = linking.make_faiss_index(x, dtype)
        build_s = time.perf_counter() - t0
        rows = []
        for ef in (32, 64, 128):
            index.hnsw.efSearch = ef
            ids, qps = timed_search(index)
            rows.append({"ef_search": ef, "qps": round(qps), **recall(ids)})
        entry = {**chosen, "build_s": round(build_s, 1), "size_mb": size_mb(index), "search": rows}
        entry["mb_per_million"] = round(entry["size_mb"] / (len(x) / 1e6), 1)
        report["index"].append(entry)
        print(json.dumps(entry), flush=True)
        index.hnsw.efSearch = linking.EF_SEARCH
        keep = index if dtype == "float32" or keep is None else keep

    # 3. the alternative: IVF, float16
    nlist = int(4 * np.sqrt(len(x)))
    ivf = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(x.shape[1]), x.shape[1], nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    t0 = time.perf_counter()
    ivf.train(x[np.random.default_rng(0).choice(len(x), min(len(x), 64 * nlist), replace=False)])
    ivf.add(x)
    rows = [{"build_s": round(time.perf_counter() - t0, 1), "size_mb": size_mb(ivf), "nlist": nlist}]
    for nprobe in (8, 16, 32, 64):
        ivf.nprobe = nprobe
        ids, qps = timed_search(ivf)
        rows.append({"nprobe": nprobe, "qps": round(qps), **recall(ids)})
    report["ivf_float16"] = rows
    print(json.dumps(rows), flush=True)
    del ivf

    # 4. end to end with MiniLM
    if args.minilm:
        cuis = np.array([f"C{i:07d}" for i in range(len(x))], dtype=object)
        linker = linking.Linker(keep, cuis, cuis, minilm(), {})
        mentions = [f"acute disorder number {i} of the left organ" for i in range(2000)]
        t0 = time.perf_counter()
        linker.link(mentions, top_k=5)
        s = time.perf_counter() - t0
        report["end_to_end"] = {"mentions": len(mentions), "mentions_per_s": round(len(mentions) / s, 1)}
        print(json.dumps(report["end_to_end"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
