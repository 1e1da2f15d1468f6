"""Evaluation: cosine Spearman ×100 on the biomedical and general similarity sets, and KG linking acc@1/acc@5.

The sets are read from a folder the user gives (--evalsets or KGBUILD_EVALSETS), laid out as ../shared/evalsets
(each subfolder with its SOURCES.md); nothing is copied into the repository. Every pair of each file is scored.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from kgbuild.errors import UserError
from trainer.data import load_linking

Pairs = tuple[list[str], list[str], list[float]]


@dataclass(frozen=True)
class EvalSet:
    name: str
    path: str           # relative to the evalsets folder
    read: Callable[[Path], Pairs]
    about: str


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{column} {text!r} is not a number", path=path, line=line,
                        fix="restore the file from its source (see SOURCES.md)") from None
    if math.isnan(value):
        raise UserError(f"{column} is NaN", path=path, line=line, fix="restore the file from its source")
    return value


def _read_header_table(path: Path, a: str, b: str, score: str, *, delimiter: str, quoting: int) -> Pairs:
    """A delimited file with a header row: the two text columns and the gold score column."""
    s1, s2, gold = [], [], []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter, quoting=quoting)
        missing = [c for c in (a, b, score) if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"missing column(s) {missing} (header: {reader.fieldnames})", path=path, line=1,
                            fix="use the file as described in its SOURCES.md")
        for row in reader:
            line = reader.line_num
            if row[a] is None or row[b] is None or row[score] is None:
                raise UserError("too few fields", path=path, line=line, fix="restore the file from its source")
            s1.append(row[a])
            s2.append(row[b])
            gold.append(_number(row[score], path, line, score))
    return s1, s2, gold


def _tsv(a: str, b: str, score: str) -> Callable[[Path], Pairs]:
    return lambda path: _read_header_table(path, a, b, score, delimiter="\t", quoting=csv.QUOTE_NONE)


def _csv(a: str, b: str, score: str) -> Callable[[Path], Pairs]:
    return lambda path: _read_header_table(path, a, b, score, delimiter=",", quoting=csv.QUOTE_MINIMAL)


def _read_stsb(path: Path) -> Pairs:
    """STS-B: no header; genre, file, year, id, score, sentence1, sentence2 (+ attributions); split on tabs only."""
    s1, s2, gold = [], [], []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 7:
                raise UserError(f"{len(fields)} tab-separated fields, expected at least 7", path=path, line=number,
                                fix="restore the file from its source (see SOURCES.md)")
            gold.append(_number(fields[4], path, number, "score"))
            s1.append(fields[5])
            s2.append(fields[6])
    return s1, s2, gold


EVALSETS: tuple[EvalSet, ...] = (
    EvalSet("BIOSSES", "biosses/biosses.tsv", _tsv("sentence1", "sentence2", "score"),
            "biomedical sentences, 100 pairs"),
    EvalSet("UMNSRS-sim", "umnsrs/UMNSRS_similarity.csv", _csv("Term1", "Term2", "Mean"),
            "clinical terms, 566 pairs"),
    EvalSet("UMNSRS-rel", "umnsrs/UMNSRS_relatedness.csv", _csv("Term1", "Term2", "Mean"),
            "clinical terms, 587 pairs"),
    EvalSet("MayoSRS", "mayosrs/mayosrs.tsv", _tsv("term1", "term2", "score"), "clinical terms, 101 pairs"),
    EvalSet("EHR-Rel-B", "ehr-rel/EHR-RelB.tsv", _tsv("snomed_label_1", "snomed_label_2", "mean_rating"),
            "SNOMED CT concepts, 3,630 pairs"),
    EvalSet("SICK-R", "sick/SICK_test_annotated.txt", _tsv("sentence_A", "sentence_B", "relatedness_score"),
            "general sentences, SemEval-2014 test split, 4,927 pairs"),
    EvalSet("STS-B", "stsb/sts-test.csv", _read_stsb, "general sentences, test split, 1,379 pairs"),
)
SET_NAMES = tuple(s.name for s in EVALSETS)

# Published numbers (cosine Spearman ×100), from notes/evalsets.md. MTEB result files; MTEB's SICK-R scores all
# 9,927 pairs (train+trial+test), not the 4,927-pair test split scored here, so it is indicative only.
REFERENCES: dict[str, dict[str, Any]] = {
    "all-MiniLM-L6-v2": {"source": "MTEB (embeddings-benchmark/mtebpaper results, mteb 0.0.2)",
                         "scores": {"BIOSSES": 81.64, "SICK-R": 77.58, "STS-B": 82.03}},
    "all-mpnet-base-v2": {"source": "MTEB (embeddings-benchmark/results, mteb 1.12.75)",
                          "scores": {"BIOSSES": 80.43, "SICK-R": 80.59, "STS-B": 83.42}},
}


def reference_for(model: str) -> str | None:
    """The published reference that applies to a model path or hub id, by name."""
    name = str(model).lower().replace("_", "-")
    if "minilm-l6" in name:
        return "all-MiniLM-L6-v2"
    if "mpnet-base" in name:
        return "all-mpnet-base-v2"
    return None


def evalsets_folder(given: Path | str | None) -> Path | None:
    """--evalsets, else KGBUILD_EVALSETS; None when neither is set."""
    value = given or os.environ.get("KGBUILD_EVALSETS")
    if not value:
        return None
    folder = Path(value)
    if not folder.is_dir():
        raise UserError("evaluation sets folder not found", path=folder,
                        fix="point --evalsets (or KGBUILD_EVALSETS) at the evalsets folder, e.g. ../shared/evalsets")
    return folder


def spearman(x: list[float] | np.ndarray, y: list[float] | np.ndarray) -> float:
    """Spearman rank correlation ×100 (average ranks for ties)."""
    return float(spearmanr(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)).statistic) * 100


def cosine_scores(model, s1: list[str], s2: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Cosine similarity of each pair; every distinct text is embedded once."""
    texts = list(dict.fromkeys([*s1, *s2]))
    emb = model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
    index = {t: i for i, t in enumerate(texts)}
    a = emb[[index[t] for t in s1]]
    b = emb[[index[t] for t in s2]]
    return np.sum(a.astype(np.float64) * b.astype(np.float64), axis=1)


def linking_accuracy(model, queries: list[str], gold: list[str], cand_cuis: list[str], cand_names: list[str], *,
                     ks: tuple[int, ...] = (1, 5), batch_size: int = 64) -> dict[str, float]:
    """acc@k ×100: the share of queries whose gold cui is among the k nearest candidate names (cosine)."""
    import torch

    cands = torch.from_numpy(model.encode(cand_names, batch_size=batch_size, convert_to_numpy=True,
                                          normalize_embeddings=True))
    cand_cuis_arr = np.asarray(cand_cuis, dtype=object)
    hits = dict.fromkeys(ks, 0)
    k_max = min(max(ks), len(cand_names))
    for start in range(0, len(queries), 1024):   # chunks keep the similarity matrix small on a large KG
        q = torch.from_numpy(model.encode(queries[start:start + 1024], batch_size=batch_size, convert_to_numpy=True,
                                          normalize_embeddings=True))
        top = torch.topk(q @ cands.T, k=k_max, dim=1).indices.numpy()
        for row, cui in zip(top, gold[start:start + 1024], strict=True):
            found = cand_cuis_arr[row] == cui
            for k in ks:
                hits[k] += bool(found[:k].any())
    return {f"acc@{k}": 100.0 * hits[k] / len(queries) for k in ks}


def evaluate_model(model: Any, *, evalsets: Path | None = None, pairs_dir: Path | None = None,
                   sets: list[str] | None = None, linking: bool = True, batch_size: int = 64) -> dict[str, Any]:
    """Scores of one model (a path, hub id or a loaded SentenceTransformer): {set: {"spearman"|acc@k, "n"}}."""
    from sentence_transformers import SentenceTransformer

    if isinstance(model, str | Path):
        from trainer.outputs import model_reference

        model = SentenceTransformer(model_reference(model))
    unknown = [s for s in sets or [] if s not in SET_NAMES]
    if unknown:
        raise UserError(f"unknown evaluation set(s) {unknown}", fix=f"choose from {', '.join(SET_NAMES)}")
    results: dict[str, Any] = {}
    if evalsets is not None:
        for spec in EVALSETS:
            if sets and spec.name not in sets:
                continue
            path = Path(evalsets) / spec.path
            if not path.is_file():
                results[spec.name] = {"skipped": f"{spec.path} not in {evalsets}"}
                continue
            s1, s2, gold = spec.read(path)
            results[spec.name] = {"spearman": spearman(cosine_scores(model, s1, s2, batch_size=batch_size), gold),
                                  "n": len(gold)}
    if linking and pairs_dir is not None:
        loaded = load_linking(pairs_dir, split="test")
        if loaded is None or not loaded[0]:
            results["KG linking"] = {"skipped": f"no linking test split in {pairs_dir}"}
        else:
            queries, gold, cand_cuis, cand_names = loaded
            results["KG linking"] = {**linking_accuracy(model, queries, gold, cand_cuis, cand_names,
                                                        batch_size=batch_size), "n": len(queries)}
    return results


def headline(scores: dict[str, Any]) -> dict[str, float]:
    """Flat {"BIOSSES": 81.25, "KG linking acc@1": …} view of evaluate_model's result."""
    flat = {}
    for name, value in scores.items():
        for metric, number in value.items():
            if metric == "spearman":
                flat[name] = round(number, 2)
            elif metric.startswith("acc@"):
                flat[f"{name} {metric}"] = round(number, 2)
    return flat
