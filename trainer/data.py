"""Training data from a build-pairs folder, loaded with `datasets` and reduced to the columns a loss takes, in order.

The sentence-transformers collator feeds every non-label column to the loss by position, so the cui (which only
the batch sampler needs) is returned beside the dataset, never inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq

from kgbuild.core.errors import UserError
from kgbuild.core.tables import table_files

if TYPE_CHECKING:  # imported where used: `trainer --help` must not pay for loading datasets
    import datasets

PAIR_COLUMNS = ("anchor", "positive", "cui", "kind", "split")
LOSS_COLUMNS = ["anchor", "positive"]  # MultipleNegativesRankingLoss: (anchor, positive), in-batch negatives


@dataclass
class Pairs:
    dataset: datasets.Dataset  # columns anchor, positive (loss order)
    cuis: list[str]  # cui of each row, for the cui-aware batch sampler
    files: list[str]


def _files(folder: Path, table: str, fix: str) -> list[str]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("not a folder", path=folder, fix=fix)
    files = table_files(folder, table)
    if not files:
        raise UserError(f"no {table}.parquet here", path=folder, fix=fix)
    return files


def _require_columns(files: list[str], wanted: tuple[str, ...] | list[str]) -> None:
    for file in files:
        have = pq.read_schema(file).names
        missing = [c for c in wanted if c not in have]
        if missing:
            raise UserError(
                f"missing column(s) {missing} (found {have})",
                path=file,
                fix="give the output folder of `kgbuild build-pairs` (pairs: anchor, positive, cui, kind, split)",
            )


def pair_files(folder: Path) -> list[str]:
    files = _files(folder, "pairs", "give the output folder of `kgbuild build-pairs --out PAIRS_DIR`")
    _require_columns(files, PAIR_COLUMNS)
    return files


def load_pairs(folder: Path, *, split: str = "train", kinds: list[str] | None = None) -> Pairs:
    """The `split` rows of pairs.parquet (optionally only some kinds) as a dataset (anchor, positive) + their cuis."""
    files = pair_files(folder)
    import datasets

    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    wanted = set(kinds or [])
    ds = ds.filter(
        lambda batch: [
            s == split and (not wanted or k in wanted) for s, k in zip(batch["split"], batch["kind"], strict=True)
        ],
        batched=True,
        desc=f"pairs ({split})",
    )
    if len(ds) == 0:
        what = f"split {split!r}" + (f" with kind in {sorted(wanted)}" if wanted else "")
        raise UserError(
            f"no pairs of {what}", path=files[0], fix="check the build-pairs output and the config's kinds"
        )
    cuis = ds["cui"][:]  # a slice reads the column at once; element-wise access to a Column is slow
    return Pairs(dataset=ds.select_columns(LOSS_COLUMNS), cuis=cuis, files=files)


def distillation_texts(folder: Path, *, columns: list[str], kinds: list[str] | None = None) -> list[str]:
    """The distinct training texts (names, definitions, descriptions) of the train split, in first-seen order."""
    pairs = load_pairs(folder, split="train", kinds=kinds)
    texts: dict[str, None] = {}
    for column in columns:
        texts.update(dict.fromkeys(t for t in pairs.dataset[column][:] if t))
    return list(texts)


def load_linking(folder: Path, *, split: str = "test") -> tuple[list[str], list[str], list[str], list[str]] | None:
    """(queries, gold cuis, candidate cuis, candidate names) from build-pairs' linking tables; None when absent."""
    folder = Path(folder)
    if not table_files(folder, "linking") or not table_files(folder, "linking_candidates"):
        return None
    links = _files(folder, "linking", "")
    cands = _files(folder, "linking_candidates", "")
    _require_columns(links, ("query", "cui", "split"))
    _require_columns(cands, ("cui", "name"))
    import datasets

    link_ds = datasets.load_dataset("parquet", data_files=links, split="train").filter(
        lambda batch: [s == split for s in batch["split"]], batched=True
    )
    cand_ds = datasets.load_dataset("parquet", data_files=cands, split="train")
    return link_ds["query"][:], link_ds["cui"][:], cand_ds["cui"][:], cand_ds["name"][:]


def parallel_files(path: Path) -> list[str]:
    """The parallel table's files: a Parquet file, or a build-pairs folder holding parallel.parquet."""
    path = Path(path)
    files = [str(path)] if path.is_file() else table_files(path, "parallel") if path.is_dir() else []
    if not files:
        raise UserError(
            "no parallel table here",
            path=path,
            fix="give a folder written by kgbuild build-pairs --parallel-lang (or a Parquet file with columns en, xx)",
        )
    return files


def _own_table(files: list[str]) -> bool:
    """A table of the user's own: the two text columns only (no language, concept or split)."""
    return pq.read_schema(files[0]).names == ["en", "xx"]


def load_parallel(path: Path, *, split: str = "train") -> datasets.Dataset:
    """The parallel texts (en, xx) for multilingual distillation: the `split` rows of a build-pairs parallel table
    (so no dev/test concept is distilled), or every row of a two-column table of the user's own."""
    # DuckDB: only this check needs it, not the training data
    from kgbuild.core.contracts import check_table
    from kgbuild.core.engine import connect

    files = parallel_files(path)
    if _own_table(files):
        # the contract's rules on en/xx, without the columns build-pairs adds
        rows, empty = (
            connect()
            .execute(
                "SELECT count(*), count(*) FILTER (coalesce(en, '') = '' OR coalesce(xx, '') = '') "
                "FROM read_parquet(?)",
                [files],
            )
            .fetchone()
        )
        failed = ([f"{empty} row(s) with an empty en or xx"] if empty else []) + ([] if rows else ["no rows"])
    else:
        failed = [f"{c.name}: {c.detail}" for c in check_table("parallel", files) if not c.passed]
    if failed:
        raise UserError(
            f"parallel table breaks its contract: {'; '.join(failed[:6])}",
            path=files[0],
            fix="see data_contracts/parallel.odcs.yaml (columns en, xx, lang, cui, kind, "
            "split as build-pairs writes them, or en, xx alone; non-empty text)",
        )
    import datasets

    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    if not _own_table(files):
        ds = ds.filter(lambda batch: [s == split for s in batch["split"]], batched=True, desc=f"parallel ({split})")
        if len(ds) == 0:
            raise UserError(
                f"the parallel table has no {split} rows",
                path=files[0],
                fix="build it again with more concepts (or other --train-pct)",
            )
    return ds.select_columns(["en", "xx"])


def parallel_languages(path: Path) -> list[str]:
    """The languages (names.lang codes) of a build-pairs parallel table, [] for a table of the user's own."""
    files = parallel_files(path)
    if _own_table(files):
        return []
    langs: set[str] = set()
    for file in files:
        langs.update(v for v in pq.read_table(file, columns=["lang"]).column("lang").unique().to_pylist() if v)
    return sorted(langs)
