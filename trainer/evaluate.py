"""Evaluation: cosine Spearman ×100 on the biomedical and general similarity sets, and KG linking acc@1/acc@5.

The sets are read from a folder the user gives (--evalsets or KGBUILD_EVALSETS), laid out as ../shared/evalsets
(each subfolder with its SOURCES.md; `trainer evalsets fetch DIR` downloads the public ones); nothing is copied into
the repository. Every pair of each file is scored. MedSTS and MedNLI-S are access-controlled: they are scored when the
user has put them in the same folder (layout in the README), and left out of the table otherwise.

The figures come from sentence-transformers' own evaluators (EmbeddingSimilarityEvaluator and
InformationRetrievalEvaluator), so a trainer can run the same ones and put them in its model card (`build_evaluators`).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kgbuild.core.console import verbose
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, Task, silent
from trainer.crosslingual import crosslingual_scores
from trainer.data import load_linking

Pairs = tuple[list[str], list[str], list[float]]
LINKING = "KG linking"  # the row of KG linking acc@k on the test split
LINKING_SPLITS = ("test", "dev")  # dev is for choosing a recipe, test for reporting it


def linking_row(split: str) -> str:
    """The row name of KG linking on a split: "KG linking" (test), "KG linking dev"."""
    return LINKING if split == "test" else f"{LINKING} {split}"


@dataclass(frozen=True)
class EvalSet:
    name: str
    paths: tuple[str, ...]  # relative to the evalsets folder; a set with several files scores their pairs together
    read: Callable[[Path], Pairs]
    about: str
    default: bool = True  # False: scored only when named (--only, [evaluate] sets)
    restricted: str = ""  # how to obtain an access-controlled set; absent, it is left out of the table


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(
            f"{column} {text!r} is not a number",
            path=path,
            line=line,
            fix="restore the file from its source (see SOURCES.md)",
        ) from None
    if math.isnan(value):
        raise UserError(f"{column} is NaN", path=path, line=line, fix="restore the file from its source")
    return value


def _text(path: Path, newline: str | None = None) -> io.StringIO:
    """The file's text; one that is not UTF-8 (a binary or re-encoded copy) is one error naming it."""
    try:
        return io.StringIO(path.read_bytes().decode("utf-8"), newline=newline)
    except UnicodeDecodeError as exc:
        raise UserError(
            f"not UTF-8 text (byte {exc.start})",
            path=path,
            fix="restore the file from its source (trainer evalsets fetch, or see SOURCES.md)",
        ) from None


def _read_header_table(path: Path, a: str, b: str, score: str, *, delimiter: str, quoting: int) -> Pairs:
    """A delimited file with a header row: the two text columns and the gold score column."""
    s1, s2, gold = [], [], []
    with _text(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter, quoting=quoting)
        missing = [c for c in (a, b, score) if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(
                f"missing column(s) {missing} (header: {reader.fieldnames})",
                path=path,
                line=1,
                fix="use the file as described in its SOURCES.md",
            )
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
    with _text(path) as fh:
        for number, line in enumerate(fh, start=1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 7:
                raise UserError(
                    f"{len(fields)} tab-separated fields, expected at least 7",
                    path=path,
                    line=number,
                    fix="restore the file from its source (see SOURCES.md)",
                )
            gold.append(_number(fields[4], path, number, "score"))
            s1.append(fields[5])
            s2.append(fields[6])
    return s1, s2, gold


def _read_medsts(path: Path) -> Pairs:
    """MedSTS / n2c2-2019 ClinicalSTS: no header; sentence1, sentence2, score (0–5), tab-separated."""
    s1, s2, gold = [], [], []
    with _text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 3:
                raise UserError(
                    f"{len(fields)} tab-separated fields, expected 3 (sentence1, sentence2, score)",
                    path=path,
                    line=number,
                    fix="use the n2c2 2019 ClinicalSTS file as distributed",
                )
            s1.append(fields[0])
            s2.append(fields[1])
            gold.append(_number(fields[2], path, number, "score"))
    return s1, s2, gold


# MedNLI-S: MedNLI read as a similarity task, as BioLORD-2023 reports it. The paper's exact gold values are not known
# to us (notes/biolord.md); Spearman only uses their order, so any entailment > neutral > contradiction is the same.
MEDNLI_S_GOLD = {"entailment": 1.0, "neutral": 0.5, "contradiction": 0.0}


def _read_mednli_s(path: Path) -> Pairs:
    """MedNLI (PhysioNet) JSON lines with sentence1, sentence2, gold_label; the label becomes the gold score."""
    s1, s2, gold = [], [], []
    with _text(path) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                a, b, label = row["sentence1"], row["sentence2"], row["gold_label"]
            except (ValueError, KeyError, TypeError) as exc:
                what = f"missing field {exc}" if isinstance(exc, KeyError) else "not a JSON object"
                raise UserError(
                    f"{what} (each line needs sentence1, sentence2, gold_label)",
                    path=path,
                    line=number,
                    fix="use the MedNLI file as distributed by PhysioNet",
                ) from None
            if label not in MEDNLI_S_GOLD:
                raise UserError(
                    f"gold_label {label!r} is not one of {', '.join(MEDNLI_S_GOLD)}",
                    path=path,
                    line=number,
                    fix="use the MedNLI file as distributed by PhysioNet",
                )
            s1.append(a)
            s2.append(b)
            gold.append(MEDNLI_S_GOLD[label])
    return s1, s2, gold


_SICK = _tsv("sentence_A", "sentence_B", "relatedness_score")
_FETCH = "run `trainer evalsets fetch DIR` and point --evalsets at DIR"

EVALSETS: tuple[EvalSet, ...] = (
    EvalSet(
        "BIOSSES", ("biosses/biosses.tsv",), _tsv("sentence1", "sentence2", "score"), "biomedical sentences, 100 pairs"
    ),
    EvalSet(
        "UMNSRS-sim", ("umnsrs/UMNSRS_similarity.csv",), _csv("Term1", "Term2", "Mean"), "clinical terms, 566 pairs"
    ),
    EvalSet(
        "UMNSRS-rel", ("umnsrs/UMNSRS_relatedness.csv",), _csv("Term1", "Term2", "Mean"), "clinical terms, 587 pairs"
    ),
    EvalSet("MayoSRS", ("mayosrs/mayosrs.tsv",), _tsv("term1", "term2", "score"), "clinical terms, 101 pairs"),
    EvalSet(
        "EHR-Rel-B",
        ("ehr-rel/EHR-RelB.tsv",),
        _tsv("snomed_label_1", "snomed_label_2", "mean_rating"),
        "SNOMED CT concepts, 3,630 pairs",
    ),
    # MTEB's SICK-R is all 9,927 pairs as one test set; named so, our figure compares with MTEB's.
    EvalSet(
        "SICK-R",
        ("sick/SICK_train.txt", "sick/SICK_trial.txt", "sick/SICK_test_annotated.txt"),
        _SICK,
        "general sentences, all 9,927 pairs (train + trial + test), as MTEB's SICK-R",
    ),
    EvalSet(
        "SICK-R-test",
        ("sick/SICK_test_annotated.txt",),
        _SICK,
        "general sentences, SemEval-2014 test split only, 4,927 pairs (SentEval's protocol)",
        default=False,
    ),
    EvalSet("STS-B", ("stsb/sts-test.csv",), _read_stsb, "general sentences, test split, 1,379 pairs"),
    EvalSet(
        "MedSTS",
        ("medsts/medsts.tsv",),
        _read_medsts,
        "clinical sentences, 0–5 (n2c2 2019 ClinicalSTS form)",
        restricted="MedSTS is shared by n2c2 (DBMI Data Portal) under a data use agreement; put the "
        "clinicalSTS2019.train.txt you received there (layout in the README)",
    ),
    EvalSet(
        "MedNLI-S",
        ("mednli/mli_test_v1.jsonl",),
        _read_mednli_s,
        "clinical sentence pairs of the MedNLI test split, entailment > neutral > contradiction",
        restricted="MedNLI is on PhysioNet (credentialed access); put its mli_test_v1.jsonl there "
        "(layout in the README)",
    ),
)
SET_NAMES = tuple(s.name for s in EVALSETS)

# Published numbers (cosine Spearman ×100), from notes/evalsets.md: MTEB result files. Our SICK-R, like MTEB's, scores
# all 9,927 pairs (train+trial+test), so the three rows compare directly.
REFERENCES: dict[str, dict[str, Any]] = {
    "all-MiniLM-L6-v2": {
        "source": "MTEB (embeddings-benchmark/mtebpaper results, mteb 0.0.2)",
        "scores": {"BIOSSES": 81.64, "SICK-R": 77.58, "STS-B": 82.03},
    },
    "all-mpnet-base-v2": {
        "source": "MTEB (embeddings-benchmark/results, mteb 1.12.75)",
        "scores": {"BIOSSES": 80.43, "SICK-R": 80.59, "STS-B": 83.42},
    },
}


def reference_for(model: str) -> str | None:
    """The published reference of a model identified exactly (trainer.models.known_base), never by its name."""
    from trainer.models import known_base

    found = known_base(model)
    return found if found in REFERENCES else None


def evalsets_folder(given: Path | str | None) -> Path | None:
    """--evalsets, else KGBUILD_EVALSETS; None when neither is set."""
    value = given or os.environ.get("KGBUILD_EVALSETS")
    if not value:
        return None
    folder = Path(value)
    if not folder.is_dir():
        raise UserError(
            "evaluation sets folder not found",
            path=folder,
            fix="point --evalsets (or KGBUILD_EVALSETS) at the evalsets folder, e.g. ../shared/evalsets",
        )
    return folder


def similarity_evaluator(name: str, pairs: Pairs, *, batch_size: int = 64):
    """sentence-transformers' EmbeddingSimilarityEvaluator on a set's pairs: cosine Spearman (spearman_cosine)."""
    s1, s2, gold = pairs
    return _deduplicating_similarity_evaluator()(
        s1, s2, gold, batch_size=batch_size, main_similarity="cosine", name=name, show_progress_bar=verbose()
    )


@functools.cache
def _deduplicating_similarity_evaluator() -> type:
    """EmbeddingSimilarityEvaluator that embeds every distinct text once (the library embeds both columns in full):
    SICK-R's 9,927 pairs hold 6,077 distinct sentences, not 19,854. A class made on first use: sentence-transformers
    (torch) is imported only when something is scored."""
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    class DeduplicatingSimilarityEvaluator(EmbeddingSimilarityEvaluator):
        _cache: tuple[dict[str, int], np.ndarray] | None = None

        def __call__(self, model, *args, **kwargs):
            texts = list(dict.fromkeys([*self.sentences1, *self.sentences2]))
            self._cache = ({t: i for i, t in enumerate(texts)}, super().embed_inputs(model, texts))
            try:
                return super().__call__(model, *args, **kwargs)
            finally:
                self._cache = None

        def embed_inputs(self, model, sentences, **kwargs):
            if self._cache is None or self.precision or kwargs:  # quantised embeddings are calibrated per call
                return super().embed_inputs(model, sentences, **kwargs)
            index, embeddings = self._cache
            return embeddings[[index[t] for t in sentences]]

    return DeduplicatingSimilarityEvaluator


def linking_evaluator(
    name: str,
    queries: list[str],
    gold: list[str],
    cand_cuis: list[str],
    cand_names: list[str],
    *,
    ks: tuple[int, ...] = (1, 5),
    batch_size: int = 64,
):
    """sentence-transformers' InformationRetrievalEvaluator for KG linking: each query (a held-out name) against every
    candidate name (cosine); relevant are the candidates of its gold cui, so acc@k is the share of queries whose gold
    cui is among the k nearest candidate names.

    Ids are row numbers, zero-padded so that the library's tie order (corpus id) is the candidates' order, and each
    candidate row is its own document (a cui with several names has them all). A query whose cui has no candidate
    counts as a miss, as before: it gets a relevant id that is in no corpus (the library would drop it otherwise).
    """
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    from sentence_transformers.util import cos_sim

    width = len(str(max(len(queries), len(cand_names))))
    corpus = {f"{i:0{width}d}": text for i, text in enumerate(cand_names)}
    by_cui: dict[str, set[str]] = {}
    for cid, cui in zip(corpus, cand_cuis, strict=True):
        by_cui.setdefault(cui, set()).add(cid)
    ids = [f"{i:0{width}d}" for i in range(len(queries))]
    relevant = {qid: by_cui.get(cui) or {"no candidate"} for qid, cui in zip(ids, gold, strict=True)}
    k = max(ks)
    # The library scores all queries against one corpus chunk at a time: a chunk keeps that matrix near 64M floats.
    chunk = max(1024, min(50_000, 2**26 // max(1, len(queries))))
    return InformationRetrievalEvaluator(
        dict(zip(ids, queries, strict=True)),
        corpus,
        relevant,
        corpus_chunk_size=chunk,
        accuracy_at_k=list(ks),
        mrr_at_k=[k],
        ndcg_at_k=[k],
        precision_recall_at_k=[k],
        map_at_k=[k],
        score_functions={"cosine": cos_sim},
        main_score_function="cosine",
        batch_size=batch_size,
        show_progress_bar=verbose(),
        name=name,
    )


def _n(evaluator) -> int:
    return len(evaluator.queries) if hasattr(evaluator, "queries") else len(evaluator.scores)


def _texts(evaluator) -> int:
    """How many texts an evaluator embeds: queries and candidates, or each distinct sentence of a pair set once."""
    if hasattr(evaluator, "corpus"):
        return len(evaluator.queries) + len(evaluator.corpus)
    return len(dict.fromkeys([*evaluator.sentences1, *evaluator.sentences2]))


@contextlib.contextmanager
def encoding_progress(model, total: int, label: str, report: Reporter) -> Iterator[None]:
    """The texts `model` embeds inside the block, reported as the step `label` (kgbuild.core.events): a forward hook
    counts each batch, so the embeddings are computed exactly as without it. Nothing is hooked for `silent`."""
    if report is silent:
        yield
        return
    with Task(report, label, total, unit="texts", transient=True) as task:  # the score line follows

        def count(module, args, output) -> None:
            embeddings = output.get("sentence_embedding") if hasattr(output, "get") else None
            task.advance(len(embeddings) if embeddings is not None else 0)

        hook = model.register_forward_hook(count)
        try:
            yield
        finally:
            hook.remove()


def run_evaluator(evaluator, model, *, label: str = "", report: Reporter = silent) -> dict[str, float]:
    """One evaluator's figures in our units: {"spearman": ×100} or {"acc@k": %}, with "n". `report` hears the
    progress of its texts as the step `label`."""
    with encoding_progress(model, _texts(evaluator), label, report):
        metrics = evaluator(model)
    prefix = f"{evaluator.name}_" if evaluator.name else ""
    n = _n(evaluator)
    if hasattr(evaluator, "accuracy_at_k"):
        # from the hit count, so a figure is exactly 100 * hits / n (as counted by hand)
        return {
            **{
                f"acc@{k}": 100.0 * round(metrics[f"{prefix}cosine_accuracy@{k}"] * n) / n
                for k in evaluator.accuracy_at_k
            },
            "n": n,
        }
    return {"spearman": float(metrics[f"{prefix}spearman_cosine"]) * 100, "n": n}


def linking_accuracy(
    model,
    queries: list[str],
    gold: list[str],
    cand_cuis: list[str],
    cand_names: list[str],
    *,
    ks: tuple[int, ...] = (1, 5),
    batch_size: int = 64,
    label: str = "",
    report: Reporter = silent,
) -> dict[str, float]:
    """acc@k ×100: the share of queries whose gold cui is among the k nearest candidate names (cosine)."""
    scores = run_evaluator(
        linking_evaluator("", queries, gold, cand_cuis, cand_names, ks=ks, batch_size=batch_size),
        model,
        label=label,
        report=report,
    )
    scores.pop("n")
    return scores


def _check_names(sets: list[str] | None) -> None:
    unknown = [s for s in sets or [] if s not in SET_NAMES]
    if unknown:
        raise UserError(f"unknown evaluation set(s) {unknown}", fix=f"choose from {', '.join(SET_NAMES)}")


def sets_to_score(evalsets: Path, sets: list[str] | None = None) -> list[tuple[EvalSet, list[Path] | None]]:
    """(set, its files) for each set to score, files None for a public set that is absent (a "skipped" row).

    A set named in `sets` must be there, a set with several files must have them all, and a folder that holds no set
    at all is refused: each of these is one error naming the file. An absent access-controlled set is left out.
    """
    _check_names(sets)
    chosen, found = [], 0
    for spec in EVALSETS:
        named = bool(sets) and spec.name in sets
        if sets and not named or not sets and not spec.default:
            continue
        paths = [Path(evalsets) / p for p in spec.paths]
        missing = [p for p in paths if not p.is_file()]
        if not missing:
            chosen.append((spec, paths))
            found += 1
            continue
        how = spec.restricted or _FETCH
        if named or len(missing) < len(paths):
            what = (
                f"{spec.name} needs {', '.join(spec.paths)}; this file is missing"
                if len(paths) > 1
                else f"evaluation set {spec.name} not found"
            )
            raise UserError(what, path=missing[0], fix=how)
        if not spec.restricted:
            chosen.append((spec, None))
    if not found:
        raise UserError(
            "no evaluation set found in this folder (e.g. biosses/biosses.tsv)",
            path=evalsets,
            fix=f"give the folder that holds the set folders; to get them, {_FETCH}",
        )
    return chosen


def read_set(spec: EvalSet, paths: list[Path]) -> Pairs:
    """The pairs of every file of a set, in order; too few pairs to rank is an error naming the file."""
    s1, s2, gold = [], [], []
    for path in paths:
        a, b, g = spec.read(path)
        s1 += a
        s2 += b
        gold += g
    if len(gold) < 2:
        raise UserError(
            f"{spec.name}: {len(gold)} pair(s), too few to rank",
            path=paths[-1],
            fix="restore the file from its source (trainer evalsets fetch, or see SOURCES.md)",
        )
    return s1, s2, gold


def load_model(name: str | Path):
    """A SentenceTransformer from a folder or hub id; a name that is neither is one line naming it."""
    from sentence_transformers import SentenceTransformer

    from trainer.models import model_reference

    reference = model_reference(name)
    try:
        return SentenceTransformer(reference)
    except OSError as exc:  # not on the Hub, or the Hub unreachable and not cached
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"model not found: not a folder here, and not loadable from the Hugging Face Hub ({first})",
            path=str(name),
            fix="check the folder path or hub id (a hub model needs the network once, "
            "or HF_HOME pointing at a cache that holds it)",
        ) from None


def evaluation_plan(
    evalsets: Path | None = None,
    pairs_dir: Path | None = None,
    *,
    sets: list[str] | None = None,
    linking: bool = True,
    linking_split: str = "test",
    batch_size: int = 64,
) -> dict[str, Any]:
    """{row name: its sentence-transformers evaluator, or why the row is skipped}, in the order of the table."""
    _check_names(sets)
    chosen = sets_to_score(evalsets, sets) if evalsets is not None else []
    plan: dict[str, Any] = {}
    for spec, paths in chosen:
        plan[spec.name] = (
            f"{spec.paths[0]} not in {evalsets}"
            if paths is None
            else similarity_evaluator(spec.name, read_set(spec, paths), batch_size=batch_size)
        )
    if linking and pairs_dir is not None:
        if linking_split not in LINKING_SPLITS:
            raise UserError(f"unknown linking split {linking_split!r}", fix=f"use one of {', '.join(LINKING_SPLITS)}")
        row = linking_row(linking_split)
        loaded = load_linking(pairs_dir, split=linking_split)
        if loaded is None or not loaded[0]:
            plan[row] = f"no linking {linking_split} split in {pairs_dir}"
        else:
            plan[row] = linking_evaluator(row.replace(" ", "-"), *loaded, batch_size=batch_size)
    return plan


def build_evaluators(
    evalsets: Path | None = None,
    pairs_dir: Path | None = None,
    *,
    sets: list[str] | None = None,
    linking: bool = True,
    linking_split: str = "test",
    batch_size: int = 64,
) -> list[Any]:
    """The evaluators of a run (the sets present, and KG linking), the ones `evaluate_model` scores with; a
    SentenceTransformerTrainer can take them (evaluator=SequentialEvaluator(...)) and its model card reports them."""
    plan = evaluation_plan(
        evalsets, pairs_dir, sets=sets, linking=linking, linking_split=linking_split, batch_size=batch_size
    )
    return [e for e in plan.values() if not isinstance(e, str)]


def evaluate_model(
    model: Any,
    *,
    evalsets: Path | None = None,
    pairs_dir: Path | None = None,
    sets: list[str] | None = None,
    linking: bool = True,
    linking_split: str = "test",
    batch_size: int = 64,
    label: str | None = None,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Scores of one model (a path, hub id or a loaded SentenceTransformer): {set: {"spearman"|acc@k, "n"}}.
    `report` hears one step per set, its texts counted, named "`label` SET" (default: the model's short name); the
    CLI renders it as a bar per set on a terminal, a plain line at an interval in a log file."""
    plan = evaluation_plan(
        evalsets, pairs_dir, sets=sets, linking=linking, linking_split=linking_split, batch_size=batch_size
    )
    if label is None:
        from trainer.models import display_name

        label = display_name(model) if isinstance(model, str | Path) else "model"
    if isinstance(model, str | Path):
        model = load_model(model)
    results = {
        name: {"skipped": e} if isinstance(e, str) else run_evaluator(e, model, label=f"{label} {name}", report=report)
        for name, e in plan.items()
    }
    if linking and pairs_dir is not None:
        # build-pairs --parallel-lang: the same candidates, queried in each other language (trainer/crosslingual.py)
        loaded = load_linking(pairs_dir, split=linking_split)
        results.update(
            crosslingual_scores(
                model, pairs_dir, loaded and loaded[2:], batch_size=batch_size, label=label, report=report
            )
        )
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
