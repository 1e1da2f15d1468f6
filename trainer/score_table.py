"""The score table of `trainer evaluate` and of `trainer run-all`'s summary: a row per (set, metric) with the n it is
computed over, a column per model, then the published figures; rendered within 80 columns.

A table wider than 80 columns names its model and reference columns by codes (M1, M2, …, R1, …) with a legend under
it, and a table still too wide is cut into several, each with the set, metric and n columns.
"""

from __future__ import annotations

import csv
import io
from typing import Any

WIDTH = 80  # every line of a table fits a standard terminal
FIXED = 3  # the set, metric and n columns, repeated in each part of a cut table
SET_WIDTH = 24  # a longer set name (a mention file's, with its protocol) wraps within its cell


def _metrics(name: str, result: dict) -> list[str]:
    if "spearman" in result or not any(k.startswith("acc@") for k in result):
        return ["spearman"]
    coverage = ["coverage"] if "coverage" in result else []  # mention files: the share whose gold is in the KG
    return coverage + sorted(k for k in result if k.startswith("acc@"))


def _mention_level(result: dict) -> bool:
    """A mention file's result (coverage, and accuracy over the covered mentions only)."""
    return "scored" in result


def comparison_rows(
    scores: dict[str, dict], references: list[str], labels: list[str] | None = None
) -> tuple[list[str], list[list[str]]]:
    """(header, rows): a row per (set, metric) with the n it is computed over, a column per model (`labels`, else a
    short name), then the references (the similarity figures of the bases, the published linking systems on the sets
    they reported); last, per metric, the average of each model over the sets every model has, with the number of
    sets as its n. Spearman and accuracies are never averaged together, and mention files stay out: their coverage is
    not an accuracy, and their accuracy is over the covered ones."""
    from trainer.evaluate import REFERENCES
    from trainer.mentions import LINKING_REFERENCES, published_figure
    from trainer.models import display_name

    names = labels or [display_name(m) for m in scores]
    if len(set(names)) < len(names):  # two models with one short name: the full names tell them apart
        names = list(scores)
    order: list[tuple[str, str]] = []
    for result in scores.values():
        for name, value in result.items():
            for metric in _metrics(name, value):
                if (name, metric) not in order:
                    order.append((name, metric))
    # a reference column only where it has a figure: the base's similarity sets, the linking systems' test files
    references = [r for r in references if any(m == "spearman" and n in REFERENCES[r]["scores"] for n, m in order)]
    linking_refs = [r for r in LINKING_REFERENCES if any(published_figure(r, n, m) is not None for n, m in order)]
    header = [
        "set",
        "metric",
        "n",
        *names,
        *(f"published {r}" for r in references),
        *(f"{r} ({LINKING_REFERENCES[r]['dictionary_short']})" for r in linking_refs),
    ]
    rows: list[list[str]] = []
    common: dict[str, list[str]] = {}  # metric: the sets every model has a figure of
    for name, metric in order:
        key = "scored" if metric.startswith("acc@") else "n"  # the n an accuracy is over: the covered mentions
        n = next((str(r[name].get(key, r[name].get("n"))) for r in scores.values() if "n" in r.get(name, {})), "")
        cells = []
        for result in scores.values():
            value = result.get(name, {})
            number = value.get(metric)
            cells.append("—" if "skipped" in value or number is None else f"{number:.2f}")
        published = [
            f"{REFERENCES[r]['scores'][name]:.2f}" if metric == "spearman" and name in REFERENCES[r]["scores"] else ""
            for r in references
        ]
        for r in linking_refs:
            figure = published_figure(r, name, metric)
            published.append("" if figure is None else f"{figure:.2f}")
        rows.append([name, metric, n or "—", *cells, *published])
        mention_level = any(_mention_level(r.get(name, {})) for r in scores.values())
        if not mention_level and all(c != "—" for c in cells):
            common.setdefault(metric, []).append(name)
    padding = [""] * (len(references) + len(linking_refs))
    for metric, sets in common.items():
        if len(sets) < 2:  # the average of one set is that set's row
            continue
        means = [sum(scores[m][name][metric] for name in sets) / len(sets) for m in scores]
        rows.append(["average", metric, f"{len(sets)} sets", *(f"{v:.2f}" for v in means), *padding])
    return header, rows


def _width(columns: list[list[str]]) -> int:
    """The width rich gives a table of these columns (box lines and one space of padding each side); the first column
    is the set's, at most SET_WIDTH wide."""
    widths = [max(len(c) for c in column) for column in columns]
    if columns and columns[0][0] == "set":
        widths[0] = min(widths[0], SET_WIDTH)
    return 1 + sum(w + 3 for w in widths)


def _parts(header: list[str], rows: list[list[str]]) -> list[list[int]]:
    """The column indexes of each table: the fixed columns, then as many of the others as fit in WIDTH."""
    columns = [[h, *(r[i] for r in rows)] for i, h in enumerate(header)]
    base = _width(columns[:FIXED])
    parts: list[list[int]] = [[]]
    used = base
    for i in range(FIXED, len(header)):
        need = _width([columns[i]]) - 1
        if parts[-1] and used + need > WIDTH:
            parts.append([])
            used = base
        parts[-1].append(i)
        used += need
    return [list(range(FIXED)) + p for p in parts]


def render(header: list[str], rows: list[list[str]], fmt: str, title: str, *, models: int | None = None) -> str:
    """The table as markdown, csv, or (fmt "table") boxes within WIDTH columns: long column names become codes
    explained in a legend (M for the `models` columns, R for the published ones after them), and the columns that
    still do not fit go to another table."""
    if fmt == "markdown":
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---:" if i > 1 else "---" for i in range(len(header))) + "|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue()
    from rich.console import Console
    from rich.table import Table

    shown, legend = list(header), []
    if _width([[h, *(r[i] for r in rows)] for i, h in enumerate(header)]) > WIDTH:
        models = len(header) - FIXED if models is None else models
        for i in range(FIXED, len(header)):
            code = f"M{i - FIXED + 1}" if i - FIXED < models else f"R{i - FIXED - models + 1}"
            if len(header[i]) > len(code):
                shown[i] = code
                legend.append(f"{code} = {header[i]}")
    console = Console(file=io.StringIO(), width=WIDTH, markup=False, highlight=False, soft_wrap=False)
    for k, part in enumerate(_parts(shown, rows)):
        table = Table(title=title if k == 0 else None)
        for i in part:
            table.add_column(shown[i], max_width=SET_WIDTH if i == 0 else None, overflow="fold")
        for r in rows:
            table.add_row(*(r[i] for i in part))
        console.print(table)
    for line in legend:
        console.print(line, overflow="fold", soft_wrap=False)
    return console.file.getvalue()


def run_rows(manifest: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """A run-all manifest's scores (the base's, then after each phase) as comparison rows, phases as the columns."""
    scores = {name: entry.get("results") or {} for name, entry in (manifest.get("scores") or {}).items()}
    reference = (manifest.get("reference") or {}).get("name")
    return comparison_rows(scores, [reference] if reference else [], labels=list(scores))
