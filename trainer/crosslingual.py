"""Cross-lingual linking: a name of a held-out concept in another language (build-pairs --parallel-lang writes them to
crosslingual_linking.parquet) linked among the English preferred names of linking_candidates, acc@1/acc@5 per
language. An English model scores low here and a BioLORD-2023-M student should not: the figure the multilingual phase
is for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, silent
from kgbuild.core.tables import table_files

PREFIX = "XL linking"  # result names: "XL linking SPA", one per language


def load_crosslingual(folder: Path, *, split: str = "test") -> dict[str, tuple[list[str], list[str]]]:
    """{lang: (queries, gold cuis)} of the `split` rows; {} when the folder has no cross-lingual set."""
    files = table_files(Path(folder), "crosslingual_linking")
    if not files:
        return {}
    sets: dict[str, tuple[list[str], list[str]]] = {}
    for file in files:
        have = pq.read_schema(file).names
        missing = [c for c in ("query", "cui", "lang", "split") if c not in have]
        if missing:
            raise UserError(
                f"missing column(s) {missing} (found {have})",
                path=file,
                fix="rebuild it with kgbuild build-pairs --parallel-lang",
            )
        table = pq.read_table(file, columns=["query", "cui", "lang", "split"]).to_pylist()
        for row in table:
            if row["split"] == split:
                queries, gold = sets.setdefault(row["lang"], ([], []))
                queries.append(row["query"])
                gold.append(row["cui"])
    return dict(sorted(sets.items()))


def crosslingual_scores(
    model: Any,
    folder: Path,
    candidates: tuple[list[str], list[str]] | None,
    *,
    batch_size: int = 64,
    label: str = "",
    report: Reporter = silent,
) -> dict[str, dict[str, Any]]:
    """{"XL linking SPA": {"acc@1", "acc@5", "n"}, …} for each language of the test split; {} without the set."""
    from trainer.evaluate import linking_accuracy

    sets = load_crosslingual(folder)
    if not sets:
        return {}
    if candidates is None:
        return {f"{PREFIX} {lang}": {"skipped": f"no linking_candidates in {folder}"} for lang in sets}
    cand_cuis, cand_names = candidates
    return {
        f"{PREFIX} {lang}": {
            **linking_accuracy(
                model,
                queries,
                gold,
                cand_cuis,
                cand_names,
                batch_size=batch_size,
                label=f"{label} {PREFIX} {lang}".strip(),
                report=report,
            ),
            "n": len(queries),
        }
        for lang, (queries, gold) in sets.items()
    }
