"""Entity linking with a trained model: an index of the KG's names, and a linker that maps mentions to concepts.

    index = build_index("run/final", "kg", "kg.index")          # `trainer index`
    linker = Linker.load("kg.index")                            # `trainer link`
    linker.link(["heart attack"], top_k=5)                      # [[Candidate(cui, name, score), ...]]

The index is faiss (faiss-cpu): exact inner-product search below `EXACT_BELOW` names, an HNSW graph above it (M 32,
efConstruction 200, efSearch 64), with float32, float16 or int8 storage. Chosen by measurement on 1M real
all-MiniLM-L6-v2 vectors with real mentions as queries (BENCHMARKS.md, "Entity linking"): HNSW reaches recall@5
0.990-0.996 of exact search (int8 to float32) at 7,400-9,400 queries/s on 2 cores; an IVF index (nlist 4·√n) builds
ten times faster but stays at 0.95-0.96 at every nprobe that keeps it above 1,500 queries/s.

An index folder holds `index.faiss`, `names.parquet` (row id → cui, name) and `manifest.json` (the model's
fingerprint and path, the KG's manifest, counts, storage, search parameters). Embedding a large KG is resumable:
finished chunks are kept beside the output until the index is written. `--devices` splits the embedding of each
chunk across several GPUs or CPU processes (sentence-transformers' multi-process pool); the chunks and the index are
the same as those of one device.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import string
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kgbuild.core.atomic import atomic_dir, check_output, write_errors
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, Task, silent
from kgbuild.core.manifest import changed_file, file_records
from kgbuild.sources.codes import bare_code, xref_code
from trainer.hashing import model_fingerprint
from trainer.models import display_name, model_reference, resolve

EXACT_BELOW = 50_000  # below this many names an exact search is fast enough and has recall 1
HNSW_M = 32  # links per node
# How wide the graph is built: faiss's default (40) left recall@5 at 0.976 on 1M real names even at efSearch 256; 200
# gives 0.996, for a build about 3 times as long (6.5 min per million names on 2 cores).
EF_CONSTRUCTION = 200
EF_SEARCH = 64  # recall@5 0.996 at 8,800 queries/s on 1M (float16); kept in the manifest, so it can be raised there
# Names embedded per resumable chunk: 8,192 take about 13 s on 2 CPU cores (650 names/s), so a killed build loses
# seconds, not the 100 s of the 65,536 before; 11M names make 1,343 small files.
CHUNK = 8_192
STEP = 1_024  # names encoded between two moves of the progress bar
ADD_BLOCK = 65_536  # vectors added to the index at a time (memory: one block of float32 beside the index)
DTYPES = ("float32", "float16", "int8")
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Candidate:
    cui: str
    name: str
    score: float


def _faiss():
    try:
        import faiss
    except ImportError:
        raise UserError("faiss is not installed", fix="pip install faiss-cpu (a dependency of kgbuild)") from None
    return faiss


# -- reading the KG ---------------------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower case, each run of punctuation and spaces one space: the published systems' form of mentions and names
    (BioSyn's TextPreprocess), so "Wilson's disease" and "wilson s disease" embed alike."""
    return " ".join(_PUNCTUATION.split(text.lower())).strip()


_PUNCTUATION = re.compile(r"[\s" + re.escape(string.punctuation) + r"]+")


def kg_names(kg: Path, which: str, langs: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(cuis, names) to index: every kept name (`all`; only those of `langs` when given), or the preferred name of
    each concept (`preferred`); one row per distinct (cui, name), names compared case-sensitively as written."""
    import duckdb

    from kgbuild.core.contracts import table_files

    if which not in ("all", "preferred"):
        raise UserError(f"unknown --names {which!r}", fix="use --names all or --names preferred")
    if langs and which == "preferred":
        raise UserError("--lang chooses among all names", fix="use --names all with --lang, or leave --lang out")
    kg = Path(kg)
    if not kg.is_dir():
        raise UserError("KG folder not found", path=kg, fix="give the output folder of `kgbuild extract`")
    if which == "preferred":
        files, query = table_files(kg, "concepts"), "SELECT cui, preferred_name AS name FROM read_parquet($f)"
    else:
        files, query = table_files(kg, "names"), "SELECT DISTINCT cui, name FROM read_parquet($f)"
        if langs:  # names.lang holds the UMLS language codes (ENG, SPA, …)
            query += " WHERE lang IN (SELECT unnest($langs::VARCHAR[]))"
    if not files:
        table = "concepts" if which == "preferred" else "names"
        raise UserError(
            f"the KG has no {table} table",
            path=kg / f"{table}.parquet",
            fix="give the output folder of `kgbuild extract`",
        )
    try:
        where = "AND" if " WHERE " in query else "WHERE"
        rows = duckdb.sql(
            f"{query} {where} name IS NOT NULL AND trim(name) <> '' ORDER BY cui, name",
            params={"f": files, **({"langs": list(langs)} if langs else {})},
        ).fetchall()
    except duckdb.Error as exc:
        raise UserError(
            f"cannot read the KG ({str(exc).splitlines()[0]})",
            path=kg,
            fix="run `kgbuild validate` on it, or extract it again",
        ) from None
    if not rows and langs:
        raise UserError(f"the KG has no names in {', '.join(langs)}", path=kg, fix="check --lang (e.g. --lang ENG)")
    if not rows:
        raise UserError("the KG has no names to index", path=kg, fix="check the extract filters (--lang, --sab)")
    return [r[0] for r in rows], [r[1] for r in rows]


def _kg_codes(kg: Path) -> Any | None:
    """The KG's codes table (cui, sab, code) as Arrow, or None for a KG extracted before it existed."""
    import duckdb

    from kgbuild.core.contracts import table_files

    files = table_files(kg, "codes")
    if not files:
        return None
    return duckdb.sql(
        "SELECT DISTINCT cui, sab, code FROM read_parquet($f) ORDER BY sab, code, cui", params={"f": files}
    ).to_arrow_table()


# -- building ---------------------------------------------------------------------------------------------------------


def parse_devices(spec: str | None) -> list[str] | None:
    """`--devices`: N (the first N GPUs), cpu:N (N CPU processes) or a list such as cuda:0,cuda:1; None or one
    device: no pool (the model's own device, or that one)."""
    if spec is None:
        return None
    import torch

    spec = spec.strip().lower()
    gpus = torch.cuda.device_count()
    fix = "e.g. --devices 2 (two GPUs), --devices cpu:2 (two CPU processes) or --devices cuda:0,cuda:1"
    if spec.isdigit() or spec.startswith("cpu:"):
        count = spec.removeprefix("cpu:")
        if not count.isdigit() or int(count) < 1:
            raise UserError(f"--devices {spec!r} is not a number of devices", fix=fix)
        if spec.startswith("cpu:"):
            return ["cpu"] * int(count)
        if int(count) > gpus:
            raise UserError(
                f"--devices {spec} asks for {count} GPUs but this machine has {gpus}",
                fix="use --devices cpu:N for N CPU processes, or fewer GPUs",
            )
        return [f"cuda:{i}" for i in range(int(count))]
    devices = [d.strip() for d in spec.split(",") if d.strip()]
    for device in devices:
        kind, _, number = device.partition(":")
        if kind == "cpu" and not number:
            continue
        if kind != "cuda" or not number.isdigit():
            raise UserError(f"--devices: {device!r} is not a device", fix=fix)
        if int(number) >= gpus:
            raise UserError(f"--devices: {device} is not on this machine ({gpus} GPUs)", fix=fix)
    if not devices:
        raise UserError(f"--devices {spec!r} names no device", fix=fix)
    return devices


def _embed_resumable(
    model: Any,
    names: list[str],
    work: Path,
    key: str,
    *,
    batch_size: int,
    report: Reporter,
    pool: dict[str, Any] | None = None,
) -> list[np.ndarray]:
    """Normalised float32 embeddings of `names`, a chunk at a time; chunks already in `work` (same key) are reused,
    so an interrupted run on a large KG picks up where it stopped. The chunks come back memory-mapped from `work`:
    the index reads them one at a time, so 11M names (17 GB of float32) are never in memory together. `pool`: a
    multi-process pool (start_multi_process_pool) that splits each block of names across its devices."""
    work.mkdir(parents=True, exist_ok=True)
    key = f"{key}:chunk {CHUNK}"  # chunks of another size (an earlier version's) are not these chunks
    stamp = work / "key.txt"
    if stamp.is_file() and stamp.read_text().strip() != key:  # another model or KG: nothing to reuse
        for stale in work.glob("chunk-*.npy"):  # the folder and its lock stay: the lock is held
            stale.unlink()
    stamp.write_text(key + "\n")
    n_chunks = max(1, math.ceil(len(names) / CHUNK))
    step = STEP * (len(pool["processes"]) if pool else 1)  # a block per device between two moves of the bar
    parts = []
    with Task(report, "embedding names", len(names), unit="names") as task:
        for i in range(n_chunks):
            path = work / f"chunk-{i:06d}.npy"
            part_names = names[i * CHUNK : (i + 1) * CHUNK]
            if not path.is_file():  # a chunk already there is not read here: the index maps it below
                blocks = []
                for start in range(0, len(part_names), step):  # the bar moves within a chunk on a slow machine
                    block = part_names[start : start + step]
                    blocks.append(
                        model.encode(
                            block,
                            batch_size=batch_size,
                            convert_to_numpy=True,
                            normalize_embeddings=True,
                            show_progress_bar=False,
                            **({"pool": pool} if pool else {}),
                        ).astype(np.float32)
                    )
                    task.advance(len(block))
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, np.concatenate(blocks))
                tmp.replace(path)
            else:
                task.advance(len(part_names), reused=True)
            parts.append(np.load(path, mmap_mode="r"))
    return parts


def make_faiss_index(
    vectors: np.ndarray | Sequence[np.ndarray], dtype: str, *, seed: int = 0, report: Reporter = silent
) -> tuple[Any, dict[str, Any]]:
    """The faiss index of normalised vectors (inner product = cosine) and what was chosen. `vectors` is one array or
    its consecutive chunks (memory-mapped ones are read a chunk at a time)."""
    faiss = _faiss()
    if dtype not in DTYPES:
        raise UserError(f"unknown --dtype {dtype!r}", fix=f"use one of {', '.join(DTYPES)}")
    parts = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    n, d = sum(len(p) for p in parts), parts[0].shape[1]
    quantizer_type = {"float16": faiss.ScalarQuantizer.QT_fp16, "int8": faiss.ScalarQuantizer.QT_8bit}.get(dtype)
    ip = faiss.METRIC_INNER_PRODUCT
    if n < EXACT_BELOW:
        index = faiss.IndexFlatIP(d) if quantizer_type is None else faiss.IndexScalarQuantizer(d, quantizer_type, ip)
        kind, params = "exact", {}
    else:
        index = (
            faiss.IndexHNSWFlat(d, HNSW_M, ip)
            if quantizer_type is None
            else faiss.IndexHNSWSQ(d, quantizer_type, HNSW_M, ip)
        )
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.hnsw.efSearch = EF_SEARCH
        kind, params = "hnsw", {"m": HNSW_M, "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH}
    if not index.is_trained:  # int8: the value range of each dimension, from a sample
        rng = np.random.default_rng(seed)
        index.train(_rows(parts, np.sort(rng.choice(n, min(n, 100_000), replace=False))))
    # A chunk at a time: memory holds the index and one chunk; the progress moves while a large graph is built (an
    # exact index is filled in no time: not reported).
    with Task(report if kind == "hnsw" else silent, "indexing names", n, unit="names") as task:
        for part in parts:
            for start in range(0, len(part), ADD_BLOCK):
                block = np.ascontiguousarray(part[start : start + ADD_BLOCK], dtype=np.float32)
                index.add(block)
                task.advance(len(block))
    return index, {"kind": kind, "dtype": dtype, **params}


def _rows(parts: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows (sorted numbers over the concatenation) of consecutive chunks, without concatenating them."""
    out, start = [], 0
    for part in parts:
        inside = rows[(rows >= start) & (rows < start + len(part))] - start
        out.append(np.asarray(part[inside], dtype=np.float32))
        start += len(part)
    return np.concatenate(out)


def build_index(
    model: str | Path,
    kg: Path,
    out: Path,
    *,
    names: str = "all",
    dtype: str = "float32",
    force: bool = False,
    batch_size: int = 128,
    report: Reporter = silent,
    normalized: bool = False,
    threads: int | None = None,
    devices: str | None = None,
    langs: Sequence[str] = (),
) -> dict[str, Any]:
    """Embed the KG's names with `model` (only those of `langs` when given) and write the index folder `out`; returns
    its manifest.

    `normalized`: embed each name in its `normalize`d form (the linker then normalises queries alike); `threads`: CPU
    threads for the encoder and faiss (default: theirs), shared by the CPU processes of `devices`; `devices`: the
    embedding split across devices (parse_devices); `report` hears the steps "embedding names" and (for a graph
    index) "indexing names"."""
    from sentence_transformers import SentenceTransformer

    faiss = _faiss()
    out, kg = Path(out), Path(kg)
    if dtype not in DTYPES:
        raise UserError(f"unknown --dtype {dtype!r}", fix=f"use one of {', '.join(DTYPES)}")
    targets = parse_devices(devices)
    reference = model_reference(model)
    if Path(
        reference
    ).exists():  # recorded absolute: the index is used from other folders than the one it was built in
        reference = str(Path(reference).resolve())
    check_output(
        out,
        force=force,
        inputs={"--kg": kg, **({"--model": Path(reference)} if Path(reference).exists() else {})},
        report=report,
    )
    if threads is not None:
        if threads < 1:
            raise UserError("--threads must be at least 1", fix="e.g. --threads 4")
        import torch

        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)
    cuis, texts = kg_names(kg, names, langs)
    fingerprint = model_fingerprint(reference)
    work = out.parent / f".{out.name}.embeddings"
    embedded = [normalize(t) for t in texts] if normalized else texts
    key = f"{fingerprint}:{names}:{len(texts)}:{_digest(embedded)}"
    with write_errors(out):  # the chunks are written beside --out: a full disk there is one line too
        work.mkdir(parents=True, exist_ok=True)
        lock = _lock(work, out)  # held until the index is written: two builds into one --out never share the chunks
        encoder = SentenceTransformer(
            reference, device="cpu" if targets and len(targets) > 1 else (targets or [None])[0]
        )
        with _pool(encoder, targets, threads) as pool:
            chunks = _embed_resumable(encoder, embedded, work, key, batch_size=batch_size, report=report, pool=pool)
    index, chosen = make_faiss_index(chunks, dtype, report=report)
    from datetime import UTC, datetime

    manifest = {
        "kind": "kgbuild-linking-index",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "reference": str(reference),
            "name": display_name(reference),
            "fingerprint": fingerprint,
            "dimension": int(chunks[0].shape[1]),
            "max_seq_length": encoder.max_seq_length,
        },
        "kg": kg_provenance(kg),
        "names": names,
        "langs": list(langs) or None,
        "normalized": normalized,
        "rows": len(texts),
        "concepts": len(set(cuis)),
        "index": chosen,
        "devices": targets or [str(encoder.device)],
    }
    import pyarrow as pa
    import pyarrow.parquet as pq

    codes = _kg_codes(kg)
    manifest["codes"] = None if codes is None else codes.num_rows
    with atomic_dir(out, force=force, report=report) as tmp:
        faiss.write_index(index, str(tmp / "index.faiss"))
        pq.write_table(pa.table({"cui": cuis, "name": texts}), tmp / "names.parquet", compression="zstd")
        if codes is not None:  # carried forward: mention evaluation maps gold codes to concepts from the index alone
            pq.write_table(codes, tmp / "codes.parquet", compression="zstd")
        # What the index is, file by file: a changed, shuffled or truncated file is found when the index is loaded.
        manifest["files"] = file_records(tmp, ["index.faiss", "names.parquet", "codes.parquet"])
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)  # our own chunks: the index is written
    lock.close()
    return manifest


@contextlib.contextmanager
def _pool(encoder: Any, targets: list[str] | None, threads: int | None) -> Iterator[dict[str, Any] | None]:
    """sentence-transformers' multi-process pool on `targets` (two or more), stopped on the way out; None for one."""
    if not targets or len(targets) < 2:
        yield None
        return
    import os

    cpus = targets.count("cpu")
    saved = os.environ.get("OMP_NUM_THREADS")
    if cpus:  # the workers read it when they start: CPU processes share the cores instead of each taking them all
        os.environ["OMP_NUM_THREADS"] = str(max(1, (threads or os.cpu_count() or 1) // cpus))
    try:
        pool = encoder.start_multi_process_pool(targets)
    finally:
        if cpus and saved is None:
            del os.environ["OMP_NUM_THREADS"]
        elif cpus:
            os.environ["OMP_NUM_THREADS"] = saved
    try:
        yield pool
    finally:
        encoder.stop_multi_process_pool(pool)


def _lock(work: Path, out: Path) -> Any:
    """An exclusive lock on the embeddings folder of `out` (released by the kernel if the holder dies)."""
    import fcntl

    handle = open(work / ".lock", "a+")  # noqa: SIM115 — held for the whole build
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise UserError(
            "another trainer index is building this index",
            path=out,
            fix="wait for it to finish, or choose another --out",
        ) from None
    return handle


def kg_provenance(kg: Path) -> dict[str, Any]:
    """What the index was built from: the KG folder, its UMLS release or ontology name and version, the extract's
    filters and the sources table (kgbuild.core.lineage reads them, as for every other step)."""
    from kgbuild.core.lineage import origin

    entry = origin(kg)["origins"][0]
    ontology = entry["ontology"] or {}
    return {
        "folder": str(kg),
        "origin": entry["origin"],
        "release": entry["release"] or ontology.get("version"),
        "ontology": {k: ontology.get(k) for k in ("name", "version")} if ontology else None,
        "filters": entry["filters"],
        "sources": [{k: s.get(k) for k in ("sab", "name", "version")} for s in entry["sources"]],
    }


def index_model(manifest: dict[str, Any]) -> str:
    """The model an index was built with: its recorded folder, or, when that folder is gone (a base from a wheel in
    another environment), the base's name, which resolves to this environment's copy; the fingerprint is checked
    on load either way."""
    reference = manifest["model"]["reference"]
    name = manifest["model"].get("name")
    if not Path(reference).exists() and name and resolve(name) != name:
        return name
    if not Path(reference).exists() and (Path(reference).is_absolute() or len(Path(reference).parts) > 2):
        # a folder, not a hub id (owner/name): moved or deleted since the index was built
        raise UserError(
            f"the model the index was built with is not here: {reference}",
            fix="pass --model with that model (its fingerprint is checked against the index)",
        )
    return reference


# -- linking ----------------------------------------------------------------------------------------------------------


class Linker:
    """Mentions → top-k concepts. Candidates of one concept are merged: its score is that of its best name."""

    def __init__(
        self,
        index: Any,
        cuis: np.ndarray,
        names: np.ndarray,
        encoder: Any,
        manifest: dict[str, Any],
        codes: dict[tuple[str, str], set[str]] | None = None,
    ):
        self.index = index
        self.cuis = cuis
        self.names = names
        self.encoder = encoder
        self.manifest = manifest
        self.codes = codes  # (sab, code) -> cuis, from the KG's codes table; None when the KG had none

    @classmethod
    def load(cls, folder: Path | str, *, model: str | Path | None = None, verify: bool = False) -> Linker:
        """Open an index folder; `model` (default: the one the index was built with) must be that same model. The
        files are checked against the manifest first (sizes, row counts, and the hashes of the name and code tables;
        with `verify`, of index.faiss too): a changed index is one error, never wrong concepts with exit 0."""
        import pyarrow.parquet as pq
        from sentence_transformers import SentenceTransformer

        faiss = _faiss()
        folder = Path(folder)
        manifest = cls.read_manifest(folder)
        check_files(folder, manifest, verify=verify)
        reference = model_reference(str(model) if model is not None else index_model(manifest))
        if model_fingerprint(reference) != manifest["model"]["fingerprint"]:
            raise UserError(
                f"the index was built with another model ({manifest['model']['reference']}) than {reference}",
                path=folder / MANIFEST,
                fix="link with the model the index was built with, or rebuild the index with this one",
            )
        try:
            index = faiss.read_index(str(folder / "index.faiss"))
            table = pq.read_table(folder / "names.parquet", columns=["cui", "name"])
            code_rows = (
                pq.read_table(folder / "codes.parquet").to_pylist() if (folder / "codes.parquet").is_file() else None
            )
        except (
            RuntimeError,
            OSError,
            ValueError,
            KeyError,
        ) as exc:  # faiss and Arrow say "RuntimeError"/"ArrowInvalid"
            raise _damaged(folder, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}") from None
        if not index.ntotal == table.num_rows == manifest.get("rows", table.num_rows):
            raise _damaged(
                folder, f"index.faiss holds {index.ntotal:,} vectors, names.parquet {table.num_rows:,} rows"
            )
        if "ef_search" in manifest["index"]:
            index.hnsw.efSearch = manifest["index"]["ef_search"]
        if "nprobe" in manifest["index"]:  # an IVF index of an earlier version
            index.nprobe = manifest["index"]["nprobe"]
        codes = None
        if code_rows is not None:
            codes = {}
            for row in code_rows:
                codes.setdefault((row["sab"].upper(), row["code"]), set()).add(row["cui"])
        encoder = SentenceTransformer(reference)
        return cls(
            index,
            np.array(table.column("cui").to_pylist(), dtype=object),
            np.array(table.column("name").to_pylist(), dtype=object),
            encoder,
            manifest,
            codes,
        )

    @staticmethod
    def read_manifest(folder: Path | str) -> dict[str, Any]:
        """The manifest of an index folder; a folder that is not an index is one error."""
        folder = Path(folder)
        manifest = _read_json(folder / MANIFEST)
        if manifest.get("kind") != "kgbuild-linking-index" or not (folder / "index.faiss").is_file():
            raise UserError(
                "not a linking index (no manifest.json or index.faiss from `trainer index`)",
                path=folder,
                fix="build one with `trainer index --model M --kg KG --out INDEX`",
            )
        model, index = manifest.get("model"), manifest.get("index")
        if not (isinstance(model, dict) and {"reference", "fingerprint"} <= model.keys() and isinstance(index, dict)):
            raise _damaged(folder, "its manifest.json lacks the model or the index block")
        return manifest

    def encode(self, mentions: list[str], *, batch_size: int = 128) -> np.ndarray:
        return self.encoder.encode(
            mentions, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        ).astype(np.float32)

    def search(self, vectors: np.ndarray, top_k: int = 5) -> list[list[Candidate]]:
        """Top-k concepts of each query vector. Names are searched 4·k deep so that k distinct concepts remain
        after merging a concept's names."""
        depth = min(self.index.ntotal, max(4 * top_k, top_k + 8))
        scores, ids = self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), depth)
        results = []
        for row_scores, row_ids in zip(scores, ids, strict=True):
            best: dict[str, Candidate] = {}
            for score, i in zip(row_scores, row_ids, strict=True):
                if i < 0:
                    continue
                cui = self.cuis[i]
                if cui not in best:  # results come best first: the first name of a concept is its best
                    best[cui] = Candidate(cui, self.names[i], float(score))
                if len(best) == top_k:
                    break
            results.append(list(best.values()))
        return results

    def link(self, mentions: list[str], top_k: int = 5, *, batch_size: int = 128) -> list[list[Candidate]]:
        if top_k < 1:
            raise UserError("--top-k must be at least 1", fix="e.g. --top-k 5")
        if self.manifest.get("normalized"):  # the names were embedded normalised: the queries must be too
            mentions = [normalize(m) for m in mentions]
        out: list[list[Candidate]] = []
        for start in range(0, len(mentions), 4096):  # bounded memory on long mention files
            out += self.search(self.encode(mentions[start : start + 4096], batch_size=batch_size), top_k)
        return out


# -- mention-level evaluation -----------------------------------------------------------------------------------------


# Prefixes of gold ids in mention corpora -> the KG's sab. NCBI-disease and BC5CDR write MeSH ids bare (D012345,
# C012345) and OMIM ids as OMIM:123456.
def gold_codes(gold: str) -> list[tuple[str, str, str]]:
    """(sab, code, id as written) of each id of a gold id field: ids joined by `|` (several concepts) or `+` (a
    composite mention), read as the KG's codes were (kgbuild.sources.codes, one namespace table): MESH:D003920,
    D003920, C0011849."""
    found = []
    for part in re.split(r"[|+,;]", gold):
        part = part.strip()
        if not part or part == "-1":
            continue
        code = xref_code(part) if ":" in part else bare_code(part)
        if code is not None:
            found.append((*code, part))
    return found


def gold_cuis(gold: str, codes: dict[tuple[str, str], set[str]], known: set[str]) -> set[str]:
    """The KG concepts of a gold id field (gold_codes)."""
    found: set[str] = set()
    for sab, local, part in gold_codes(gold):
        if sab == "UMLS" and local in known:
            found.add(local)
        found |= codes.get((sab, local), set()) | codes.get((sab, part), set())
    return found


# -- mention files ----------------------------------------------------------------------------------------------------


DOCUMENT_COLUMNS = ("text", "document")  # a mention's document, given on its row
DOCUMENT_ID_COLUMNS = ("document_id", "doc_id", "pmid")  # or its id in a --documents file


def read_mentions(path: str | Path) -> list[dict[str, str | None]]:
    """Mentions from a file: Parquet or TSV with a `mention` column (and optionally the document, as a `text` or
    `document` column, or its id, as `document_id`, `doc_id` or `pmid`), or plain text (one per line); `-` reads plain
    text from stdin. Each row: {"mention", "document", "document_id"}."""
    if str(path) == "-":
        try:  # bytes, decoded strictly: binary or Latin-1 input is one error, not a traceback
            text = sys.stdin.buffer.read().decode("utf-8") if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise UserError(
                f"standard input is not UTF-8 text (byte {exc.start})", fix="pipe UTF-8 text, one mention per line"
            ) from None
        rows = [{"mention": line} for line in text.splitlines()]
        source = "standard input"
    else:
        path = Path(path)
        if not path.is_file():
            raise UserError("mention file not found", path=path, fix="give a .txt (one per line), .tsv or .parquet")
        if path.suffix in (".parquet", ".tsv"):
            rows = read_table(path, "mention", optional=(*DOCUMENT_COLUMNS, *DOCUMENT_ID_COLUMNS))
        else:
            rows = [{"mention": line} for line in read_text(path).splitlines()]
        source = str(path)
    mentions = [
        {
            "mention": r["mention"],
            "document": next((r[c] for c in DOCUMENT_COLUMNS if r.get(c)), None),
            "document_id": next((str(r[c]) for c in DOCUMENT_ID_COLUMNS if r.get(c) not in (None, "")), None),
        }
        for r in rows
        if r["mention"] and r["mention"].strip()
    ]
    if not mentions:
        raise UserError(
            f"no mentions in {source}", path=None if str(path) == "-" else path, fix="give one mention per line"
        )
    return mentions


def read_table(path: Path, required: str, *, optional: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Rows of a Parquet file, or of a TSV with a header, holding the column `required` and those of `optional` that
    are there; a TSV without `required` in its header is read as one `required` value per line."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise UserError(f"not a readable Parquet file ({exc})", path=path, fix="check the file") from None
        if required not in table.column_names:
            raise UserError(
                f"no `{required}` column (columns: {table.column_names})",
                path=path,
                fix=f"name the column `{required}`",
            )
        kind = table.schema.field(required).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise UserError(
                f"the `{required}` column holds {kind}, not text", path=path, fix=f"store `{required}` as strings"
            )
        columns = [required, *(c for c in optional if c in table.column_names)]
        return table.select(columns).to_pylist()
    lines = read_text(path).splitlines()
    header = lines[0].split("\t") if lines else []
    if required not in header:
        if len(header) > 1:  # columns, but none named `required`: its header would be read as a value
            raise UserError(
                f"no `{required}` column in the header (columns: {header})",
                path=path,
                line=1,
                fix=f"name the column `{required}`, or give one value per line without tabs",
            )
        return [{required: line} for line in lines]
    columns = {c: header.index(c) for c in (required, *optional) if c in header}
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) <= columns[required]:
            raise UserError("too few fields", path=path, line=number, fix="one row per line, tab-separated")
        rows.append({c: fields[i] if i < len(fields) else None for c, i in columns.items()})
    return rows


def read_text(path: Path) -> str:
    """A text file's content; one that is not UTF-8 is one error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", path=path, fix="save it as UTF-8") from None


# -- helpers ----------------------------------------------------------------------------------------------------------


def _damaged(folder: Path, what: str) -> UserError:
    return UserError(
        f"this index is damaged or was changed after it was built ({what})",
        path=folder,
        fix="rebuild it with `trainer index --model M --kg KG --out INDEX --force`",
    )


def check_files(folder: Path, manifest: dict[str, Any], *, verify: bool = False) -> None:
    """Each file of the index against the manifest: present, its size, and the sha256 of the small tables (always:
    a shuffled names.parquet keeps its size) and of index.faiss (with `verify`: it can be GBs). Indexes of earlier
    versions carry no file list: nothing to check."""
    what = changed_file(folder, manifest.get("files") or {}, hash_skip=() if verify else ("index.faiss",))
    if what is not None:
        raise _damaged(folder, what)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"unreadable JSON ({exc})", path=path, fix="restore the file") from None


def _digest(texts: Iterable[str]) -> str:
    import hashlib

    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8") + b"\x00")
    return h.hexdigest()[:16]
