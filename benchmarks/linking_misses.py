"""What the rank-1 misses of a mention-linking evaluation are, and how many a better model could fix.

Reads the `--predictions` file of `trainer evaluate --mentions` and the KG the index was built from, and puts each
kept mention whose rank-1 concept is wrong into the first category it fits:
  unresolved short form   the query is one short token (2–6 characters, e.g. "dm", "vhl"): an abbreviation the
                          document does not define, or that Schwartz–Hearst did not find
  exact name, other concept  the query, normalised, is a name of the rank-1 concept, which does not carry the gold
                          id: the vocabulary names the mention's words as another concept than the gold's
  finer, no gold-kind code  the rank-1 concept is a descendant (is_a) of a gold concept and carries no code of the
                          gold ids' kind (no MeSH id where the gold is MeSH): the vocabulary is finer than the gold
                          ids ("prostate carcinoma" under "prostate cancer"), and its answer cannot be a gold id
  under the gold concept  a descendant of a gold concept that has a code of its own of the gold's kind
  above the gold concept  the rank-1 concept is an ancestor of a gold concept
  gold in the top 5       none of the above, and a gold concept is ranked 2–5
  other                   none of the above
The first two are not a model's to fix: the ranking is right for the words. The third is the vocabulary's granularity
(the concept that fits the words best has no gold id), which a model can still move by preferring the coarser gold
concept where the words fit it too (the DOID linking recipe halves it). The ceiling is acc@1 if a model fixed every
miss but the first two (a generous bound: some misses are annotation choices, such as a mention linked to a broader
concept than the one it names, and some a vocabulary's mapping of a gold id to an unrelated concept).

Usage:
    trainer evaluate --index idx --protocol published --mentions DEV.tsv --predictions preds.jsonl
    python benchmarks/linking_misses.py --predictions preds.jsonl --kg kg [--protocol published]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.linking import gold_codes, normalize  # noqa: E402

CATEGORIES = (
    "unresolved short form",
    "exact name, other concept",
    "finer, no gold-kind code",
    "under the gold concept",
    "above the gold concept",
    "gold in the top 5",
    "other",
)
MODEL_FIXABLE = set(CATEGORIES) - {"unresolved short form", "exact name, other concept"}


def normalise(text: str) -> str:
    """The linker's normal form (trainer.linking.normalize) with a plural "s" dropped, so "prostate carcinomas" names
    "prostate carcinoma"."""
    words = normalize(text).split()
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


def rows(kg: Path, table: str, query: str) -> list[tuple]:
    """`query` over the KG table `table` (read as `t`)."""
    return duckdb.sql(
        f"with t as (select * from read_parquet($file)) {query}", params={"file": str(kg / table)}
    ).fetchall()


def hierarchy(kg: Path) -> nx.DiGraph:
    """child → parent is_a edges: a concept's ancestors are its descendants in this graph."""
    graph = nx.DiGraph()
    graph.add_edges_from(rows(kg, "relations.parquet", "select head_cui, tail_cui from t where relation = 'is_a'"))
    return graph


def ancestors(cui: str, graph: nx.DiGraph) -> set[str]:
    return nx.descendants(graph, cui) if cui in graph else set()


def category(row: dict, names: dict[str, set[str]], parents: nx.DiGraph, sabs: dict[str, set[str]]) -> str:
    gold = set(row["gold_concepts"])
    gold_kinds = {sab for sab, _, _ in gold_codes(row["gold_ids"])}  # the namespaces the gold ids are written in
    # the first part of the mention that misses at rank 1 (a composite is a miss when any part is)
    for query, top in zip(row["queries"], row["top"], strict=True):
        if top and top[0]["cui"] in gold:
            continue
        first = top[0]["cui"] if top else None
        if len(query.split()) == 1 and 2 <= len(query) <= 6 and not row.get("resolved"):
            return "unresolved short form"
        if first and normalise(query) in names[first]:
            return "exact name, other concept"
        if first and gold & ancestors(first, parents):
            if not gold_kinds & sabs[first]:
                return "finer, no gold-kind code"
            return "under the gold concept"
        if first and any(first in ancestors(g, parents) for g in gold):
            return "above the gold concept"
        if any(hit["cui"] in gold for hit in top[1:5]):
            return "gold in the top 5"
        return "other"
    return "other"  # every part hits at rank 1 but the row says it missed: count it where a model could fix it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=Path, required=True, help="trainer evaluate --predictions file")
    parser.add_argument("--kg", type=Path, required=True, help="the KG folder the index was built from")
    parser.add_argument("--protocol", default="published")
    args = parser.parse_args(argv)

    names: dict[str, set[str]] = defaultdict(set)
    for cui, name in rows(args.kg, "names.parquet", "select cui, name from t"):
        names[cui].add(normalise(name))
    parents = hierarchy(args.kg)
    sabs: dict[str, set[str]] = defaultdict(set)  # the namespaces each concept has a code in
    for cui, sab in rows(args.kg, "codes.parquet", "select distinct cui, sab from t"):
        sabs[cui].add(sab)

    per_file: dict[str, Counter] = defaultdict(Counter)
    with args.predictions.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["protocol"] != args.protocol or not row["covered"]:
                continue
            counts = per_file[row["file"]]
            counts["n"] += 1
            counts["hit"] += bool(row["hit@1"])
            if not row["hit@1"]:
                counts[category(row, names, parents, sabs)] += 1

    print("| file | n | acc@1 | " + " | ".join(CATEGORIES) + " | ceiling acc@1 |")
    print("|---|---:|---:|" + "---:|" * (len(CATEGORIES) + 1))
    for file, counts in sorted(per_file.items()):
        n = counts["n"]
        cells = [f"{counts[c]} ({100 * counts[c] / n:.1f})" for c in CATEGORIES]
        ceiling = 100 * (counts["hit"] + sum(counts[c] for c in MODEL_FIXABLE)) / n
        print(f"| {file} | {n} | {100 * counts['hit'] / n:.2f} | " + " | ".join(cells) + f" | {ceiling:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
