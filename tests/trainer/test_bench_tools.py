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
