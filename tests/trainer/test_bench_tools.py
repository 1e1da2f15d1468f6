"""The measuring tools of BENCHMARKS.md that decide a claim: the paired bootstrap's Spearman and the real-vector set of
the linking bench."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from benchmarks import bench_linking, paired_bootstrap


def test_the_bootstrap_spearman_is_scipys_row_by_row_ties_included():
    spearman = paired_bootstrap.spearman
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 5, (50, 40)).astype(float)  # many ties, as in graded similarity sets
    predicted = rng.standard_normal((50, 40))
    ours = spearman(gold, predicted)
    assert ours.shape == (50,)
    assert np.allclose(ours, [100 * spearmanr(g, p).statistic for g, p in zip(gold, predicted, strict=True)])


def test_the_linking_bench_reads_pubtator_and_keeps_spans_that_are_not_gold_mentions(tmp_path):
    bench = bench_linking
    (tmp_path / "bc5cdr").mkdir()
    (tmp_path / "bc5cdr" / "CDR_TestSet.PubTator.txt").write_text(
        "1|t|Lithium causes tremor.\n1|a|Tremor was seen. Renal failure followed.\n1\t0\t7\tLithium\tChemical\tD1\n"
    )
    (tmp_path / "bc5cdr" / "x_mentions.tsv").write_text(
        "pmid\tstart\tend\tmention\tsemantic_type\tgold_ids\tcomposite_parts\n1\t0\t7\tLithium\tChemical\tD1\t\n"
        "1\t15\t21\ttremor\tDisease\tD2\t\n"
    )
    texts, mentions = bench.corpus_texts(tmp_path)
    assert texts == ["Lithium causes tremor.", "Tremor was seen. Renal failure followed."]
    assert mentions == ["Lithium", "tremor"]
    spans = bench.spans(texts, {m.lower() for m in mentions}, 1000)
    # spans stay within a sentence, and a gold mention is left out in any case ("Tremor" as well as "tremor")
    assert {"Lithium causes", "causes tremor", "Renal failure followed", "Tremor was seen"} <= set(spans)
    assert not {"Lithium", "tremor", "Tremor", "tremor Tremor", "seen Renal"} & set(spans)
    # each three-word sentence has 3 + 2 + 1 spans; the title loses its 2 gold words, the first abstract sentence 1
    assert len(spans) == len(set(spans)) == (6 - 2) + (6 - 1) + 6


def test_linking_misses_sorts_each_rank_1_miss_into_the_first_category_it_fits(tmp_path, capsys):
    """benchmarks/linking_misses.py decides what BENCHMARKS.md says a model could not fix: one row per category."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from benchmarks import linking_misses

    kg = tmp_path / "kg"
    kg.mkdir()
    names = [("C", "cancer"), ("P", "prostate cancer"), ("PC", "prostate carcinoma"), ("S", "sarcoma")]
    names += [("B", "breast cancer"), ("BX", "breast carcinoma"), ("D", "diabetes")]
    pq.write_table(pa.table({"cui": [c for c, _ in names], "name": [n for _, n in names]}), kg / "names.parquet")
    edges = [("P", "C"), ("PC", "P"), ("S", "C"), ("B", "C"), ("BX", "B")]
    pq.write_table(
        pa.table({"head_cui": [h for h, _ in edges], "relation": ["is_a"] * 5, "tail_cui": [t for _, t in edges]}),
        kg / "relations.parquet",
    )
    codes = [
        ("C", "MSH", "D000001"),
        ("P", "MSH", "D000002"),
        ("B", "MSH", "D000003"),
        ("BX", "MSH", "D000004"),
        ("S", "MSH", "D000005"),
    ]
    pq.write_table(
        pa.table({k: [row[i] for row in codes] for i, k in enumerate(["cui", "sab", "code"])}), kg / "codes.parquet"
    )

    def row(query, gold_ids, gold, tops, hit=False, resolved=None):
        top = [{"cui": c, "name": c, "score": 1.0 - i / 10} for i, c in enumerate(tops)]
        return {"file": "f.tsv", "protocol": "published", "covered": True, "queries": [query], "top": [top],
                "gold_ids": gold_ids, "gold_concepts": gold, "resolved": resolved, "hit@1": hit}  # fmt: skip

    rows = [
        row("prostate cancer", "D000002", ["P"], ["P"], hit=True),
        row("dm", "D000006", ["D"], ["S"]),  # unresolved short form
        row("sarcomas", "D000001", ["C"], ["S", "C"]),  # the words name another concept (plural folded)
        row("carcinoma of the prostate", "MESH:D000002", ["P"], ["PC"]),  # finer, and PC has no MeSH id
        row("breast tumour", "D000003", ["B"], ["BX"]),  # finer, with a MeSH id of its own
        row("malignancy", "D000002", ["P"], ["C"]),  # above the gold concept
        row("sugar disease", "D000006", ["D"], ["S", "D"]),  # gold at rank 2
        row("something", "D000006", ["D"], ["S", "P"]),  # other
    ]
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert linking_misses.main(["--predictions", str(predictions), "--kg", str(kg)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    # n 8, 1 hit; one miss in each of the 7 categories; ceiling: the hit + the 5 a model could move = 6/8
    assert last == "| f.tsv | 8 | 12.50 | " + " | ".join(["1 (12.5)"] * 7) + " | 75.00 |"
