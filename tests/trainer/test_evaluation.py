from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import (
    EmbeddingSimilarityEvaluator,
    InformationRetrievalEvaluator,
)
from typer.testing import CliRunner

from kgbuild.core.errors import UserError
from trainer.cli import app
from trainer.evaluate import (
    MEDNLI_S_GOLD,
    REFERENCES,
    build_evaluators,
    evaluate_model,
    linking_accuracy,
    run_evaluator,
    similarity_evaluator,
)
from trainer.models import display_name


def hand_spearman(x: list[float], y: list[float]) -> float:
    """Spearman without ties: 1 - 6 Σd² / (n (n² - 1)), ×100."""
    rank = lambda v: {value: i + 1 for i, value in enumerate(sorted(v))}  # noqa: E731
    rx, ry = rank(x), rank(y)
    d2 = sum((rx[a] - ry[b]) ** 2 for a, b in zip(x, y, strict=True))
    n = len(x)
    return 100 * (1 - 6 * d2 / (n * (n * n - 1)))


def spearman(x, y) -> float:
    """The reference: scipy's Spearman (average ranks for ties) ×100."""
    return float(spearmanr(x, y).statistic) * 100


BIOSSES_ROWS = [
    ("Acute myocardial infarction of the heart.", "Heart attack caused by blocked blood vessel.", 3.6),
    ("The patient has a high fever.", "Fever is a common symptom of infection.", 2.4),
    ("Chronic kidney disease progresses slowly.", "Renal failure can be chronic.", 3.0),
    ("Asthma is an inflammatory disease of the lung.", "The stock market fell sharply.", 0.2),
    ("Insulin lowers blood glucose.", "Diabetes mellitus is treated with insulin.", 2.8),
    ("Headache and nausea are common.", "Migraine causes headache.", 1.9),
]


def write_evalsets(folder: Path) -> Path:
    (folder / "biosses").mkdir(parents=True)
    lines = ["id\tsentence1\tsentence2\tannotator_a\tannotator_b\tannotator_c\tannotator_d\tannotator_e\tscore"]
    lines += [f"{i}\t{a}\t{b}\t0\t0\t0\t0\t0\t{s}" for i, (a, b, s) in enumerate(BIOSSES_ROWS, 1)]
    (folder / "biosses" / "biosses.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "stsb").mkdir()
    rows = [f"main-news\tfile\t2016\t{i:04d}\t{s}\t{a}\t{b}" for i, (a, b, s) in enumerate(BIOSSES_ROWS)]
    (folder / "stsb" / "sts-test.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_evaluator_reproduces_a_hand_computed_spearman(tiny_model, tmp_path):
    folder = write_evalsets(tmp_path / "evalsets")
    model = SentenceTransformer(str(tiny_model), device="cpu")
    a = model.encode([r[0] for r in BIOSSES_ROWS], normalize_embeddings=True)
    b = model.encode([r[1] for r in BIOSSES_ROWS], normalize_embeddings=True)
    cosines = [float(np.dot(x, y)) for x, y in zip(a, b, strict=True)]
    expected = hand_spearman(cosines, [r[2] for r in BIOSSES_ROWS])
    results = evaluate_model(model, evalsets=folder)
    assert results["BIOSSES"]["n"] == 6 and results["STS-B"]["n"] == 6
    assert results["BIOSSES"]["spearman"] == pytest.approx(expected, abs=1e-6)
    assert results["STS-B"]["spearman"] == pytest.approx(expected, abs=1e-6)
    assert "skipped" in results["SICK-R"]


def test_scores_come_from_sentence_transformers_evaluators_each_distinct_text_embedded_once(
    tiny_model, pairs_dir, tmp_path
):
    folder = write_evalsets(tmp_path / "evalsets")
    evaluators = build_evaluators(folder, pairs_dir)  # what a trainer could be given; absent sets are left out
    assert [e.name for e in evaluators] == ["BIOSSES", "STS-B", "KG-linking"]
    assert [type(e) for e in evaluators[2:]] == [InformationRetrievalEvaluator]
    assert all(isinstance(e, EmbeddingSimilarityEvaluator) for e in evaluators[:2])
    model = SentenceTransformer(str(tiny_model), device="cpu")
    # repeated sentences (as in SICK-R) are embedded once; the figure is the library's own
    s1 = [r[0] for r in BIOSSES_ROWS] * 2
    s2 = [r[1] for r in BIOSSES_ROWS] + [r[1] for r in reversed(BIOSSES_ROWS)]
    gold = [r[2] for r in BIOSSES_ROWS] + [r[2] / 2 for r in BIOSSES_ROWS]
    plain = EmbeddingSimilarityEvaluator(s1, s2, gold, main_similarity="cosine")(model)["spearman_cosine"]
    encoded: list[int] = []
    encode = model.encode
    model.encode = lambda texts, **kw: encoded.append(len(texts)) or encode(texts, **kw)
    ours = run_evaluator(similarity_evaluator("dup", (s1, s2, gold)), model)
    assert encoded == [len(BIOSSES_ROWS) * 2] and ours["n"] == 12
    assert ours["spearman"] == pytest.approx(100 * plain, abs=1e-9)


def test_malformed_rows_name_file_and_line(tiny_model, tmp_path):
    folder = write_evalsets(tmp_path / "evalsets")
    path = folder / "stsb" / "sts-test.csv"
    path.write_text(path.read_text() + "main-news\tfile\t2016\t0099\tnot-a-score\tx\ty\n")
    with pytest.raises(UserError, match="not a number") as info:
        evaluate_model(str(tiny_model), evalsets=folder, sets=["STS-B"])
    assert info.value.line == len(BIOSSES_ROWS) + 1 and info.value.path == str(path)
    with pytest.raises(UserError, match="unknown evaluation set"):
        evaluate_model(str(tiny_model), evalsets=folder, sets=["NoSuchSet"])


def test_linking_accuracy_counts_gold_cuis_among_the_nearest_names(tiny_model):
    model = SentenceTransformer(str(tiny_model), device="cpu")
    names = ["myocardial infarction", "diabetes mellitus", "asthma", "pneumonia", "headache", "fever", "anemia"]
    cuis = [f"C{i}" for i in range(len(names))]
    # exact names are their own nearest neighbour (cosine 1); an unknown cui can never be found
    scores = linking_accuracy(model, names[:4] + ["fever"], cuis[:4] + ["C999"], cuis, names)
    assert scores == {"acc@1": 80.0, "acc@5": 80.0}


def test_cli_evaluate_writes_a_table_and_json_with_kg_linking(tiny_model, pairs_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)  # the dev call below names no evalsets: linking only
    folder = write_evalsets(tmp_path / "evalsets")
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--model",
            str(tiny_model),
            "--base",
            str(tiny_model),
            "--evalsets",
            str(folder),
            "--pairs",
            str(pairs_dir),
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    scores = doc["scores"][str(tiny_model)]  # --base naming the same model is scored once
    assert list(doc["scores"]) == [str(tiny_model)]
    assert set(scores) >= {"BIOSSES", "STS-B", "KG linking"}
    assert scores["KG linking"]["n"] == 4  # the synonyms of the two test concepts (2 + 2)
    assert "BIOSSES" in result.stdout and "acc@1" in result.stdout
    # the dev split, for choosing a recipe without looking at the test concepts: its own row
    dev = CliRunner().invoke(
        app, ["evaluate", str(tiny_model), "--pairs", str(pairs_dir), "--linking-split", "dev", "--format", "json"]
    )
    assert dev.exit_code == 0, dev.output
    rows = json.loads(dev.stdout)["scores"][str(tiny_model)]
    assert list(rows) == ["KG linking dev"] and rows["KG linking dev"]["n"] == 2  # the one dev concept's synonyms
    bad = CliRunner().invoke(app, ["evaluate", str(tiny_model), "--pairs", str(pairs_dir), "--linking-split", "train"])
    assert bad.exit_code == 1 and "unknown linking split 'train'" in bad.output


@pytest.mark.slow
def test_several_models_in_one_table_with_an_average_row_formats_provenance_and_plot(tiny_model, tmp_path):
    from tests.helpers.tiny_bert import build_tiny_model

    other = build_tiny_model(tmp_path / "other", seed=1)
    folder = write_evalsets(tmp_path / "evalsets")
    args = ["evaluate", str(tiny_model), str(other), "--evalsets", str(folder)]
    markdown = CliRunner().invoke(
        app, [*args, "--format", "markdown", "--json", str(tmp_path / "s.json"), "--plot", str(tmp_path / "s.png")]
    )
    assert markdown.exit_code == 0, markdown.output
    lines = markdown.stdout.strip().splitlines()
    short = [display_name(tiny_model), display_name(other)]  # the last two parts of each path
    assert short == ["/".join(Path(m).parts[-2:]) for m in (tiny_model, other)]
    assert lines[0] == f"| set | metric | n | {short[0]} | {short[1]} |"
    assert lines[2].startswith("| BIOSSES | spearman | 6 |") and lines[-1].startswith(
        "| average | spearman | 2 sets |"
    )
    doc = json.loads((tmp_path / "s.json").read_text())
    first = doc["scores"][str(tiny_model)]
    assert lines[2].split(" | ")[3] == f"{first['BIOSSES']['spearman']:.2f}"
    prov = doc["provenance"]
    assert prov["toolkit"].startswith("kgbuild ") and len(prov["models"]) == 2
    assert prov["models"][0]["fingerprint"] != prov["models"][1]["fingerprint"]
    assert {s["name"] for s in prov["evalsets"]} == {"BIOSSES", "STS-B"} and all(
        len(s["sha256"]) == 64 for s in prov["evalsets"]
    )
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    as_csv = CliRunner().invoke(app, [*args, "--format", "csv"]).stdout.splitlines()
    assert as_csv[0] == f"set,metric,n,{short[0]},{short[1]}" and as_csv[1].startswith("BIOSSES,spearman,6,")
    as_json = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    assert set(as_json["scores"]) == {str(tiny_model), str(other)}


def test_a_model_that_does_not_exist_is_one_line(tmp_path):
    # a path, and names that cannot be hub ids (today's "internal error: Repo id must use alphanumeric chars")
    for name in (str(tmp_path / "nope"), "my model", "run\\final", "run/final:2"):
        result = CliRunner().invoke(app, ["evaluate", name])
        assert result.exit_code == 1, name
        [line] = result.stderr.strip().splitlines()
        assert "model folder not found" in line and name in line and "Repo id" not in result.stderr


def evaluate_cli(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args])


def test_a_missing_set_is_one_line_naming_its_file(tiny_model, tmp_path):
    folder = write_evalsets(tmp_path / "evalsets")
    named = evaluate_cli(str(tiny_model), "--evalsets", str(folder), "--only", "SICK-R")
    assert named.exit_code == 1
    [line] = named.stderr.strip().splitlines()
    assert str(folder / "sick" / "SICK_train.txt") in line and "trainer evalsets fetch" in line
    # SICK-R is MTEB's: all three files; only the SemEval test file is a layout to fix, not a smaller SICK-R
    (folder / "sick").mkdir()
    (folder / "sick" / "SICK_test_annotated.txt").write_text("pair_ID\tsentence_A\tsentence_B\trelatedness_score\n")
    partial = evaluate_cli(str(tiny_model), "--evalsets", str(folder))
    assert partial.exit_code == 1 and "SICK-R needs sick/SICK_train.txt" in partial.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = evaluate_cli(str(tiny_model), "--evalsets", str(empty))
    assert none.exit_code == 1 and "no evaluation set found" in none.stderr and str(empty) in none.stderr
    restricted = evaluate_cli(str(tiny_model), "--evalsets", str(empty), "--only", "MedSTS")
    assert restricted.exit_code == 1 and "medsts/medsts.tsv" in restricted.stderr and "n2c2" in restricted.stderr


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: t.replace("\t3.6\n", "\tthree\n"), "score 'three' is not a number"),
        (lambda t: t.replace("\tscore\n", "\tgold\n", 1), "missing column(s) ['score']"),
        (lambda t: t.replace("Acute", "Ac\udcffute"), "not UTF-8 text"),
    ],
)
def test_a_corrupt_set_file_is_one_line_naming_it(tiny_model, tmp_path, damage, message):
    folder = write_evalsets(tmp_path / "evalsets")
    path = folder / "biosses" / "biosses.tsv"
    path.write_bytes(damage(path.read_text()).encode("utf-8", "surrogateescape"))
    result = evaluate_cli(str(tiny_model), "--evalsets", str(folder))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}") and message in line and "internal error" not in result.stderr


def test_medsts_and_mednli_s_are_scored_when_the_user_puts_them_in_the_folder(tiny_model, tmp_path):
    """Invented rows in the distributed forms: n2c2-2019 ClinicalSTS (s1, s2, score; no header), MedNLI JSON lines."""
    folder = write_evalsets(tmp_path / "evalsets")
    absent = evaluate_model(str(tiny_model), evalsets=folder)
    assert "MedSTS" not in absent and "MedNLI-S" not in absent  # access-controlled sets: no row when absent
    (folder / "medsts").mkdir()
    rows = [(a, b, s) for a, b, s in BIOSSES_ROWS]
    (folder / "medsts" / "medsts.tsv").write_text("".join(f"{a}\t{b}\t{s + 1:.1f}\n" for a, b, s in rows))
    labels = ["entailment", "neutral", "contradiction", "entailment", "neutral", "contradiction"]
    (folder / "mednli").mkdir()
    (folder / "mednli" / "mli_test_v1.jsonl").write_text(
        "".join(
            json.dumps({"sentence1": a, "sentence2": b, "gold_label": label, "pairID": str(i)}) + "\n"
            for i, ((a, b, _), label) in enumerate(zip(rows, labels, strict=True))
        )
    )
    model = SentenceTransformer(str(tiny_model), device="cpu")
    cosines = [
        float(np.dot(x, y))
        for x, y in zip(
            model.encode([r[0] for r in rows], normalize_embeddings=True),
            model.encode([r[1] for r in rows], normalize_embeddings=True),
            strict=True,
        )
    ]
    results = evaluate_model(model, evalsets=folder)
    assert results["MedSTS"]["n"] == 6 and results["MedNLI-S"]["n"] == 6
    assert results["MedSTS"]["spearman"] == pytest.approx(spearman(cosines, [s for _, _, s in rows]))
    assert MEDNLI_S_GOLD["entailment"] > MEDNLI_S_GOLD["neutral"] > MEDNLI_S_GOLD["contradiction"]
    assert results["MedNLI-S"]["spearman"] == pytest.approx(spearman(cosines, [MEDNLI_S_GOLD[x] for x in labels]))
    with open(folder / "mednli" / "mli_test_v1.jsonl", "a") as fh:
        fh.write(json.dumps({"sentence1": "a", "sentence2": "b", "gold_label": "maybe"}) + "\n")
    bad = evaluate_cli(str(tiny_model), "--evalsets", str(folder))
    assert bad.exit_code == 1 and "mli_test_v1.jsonl:7: gold_label 'maybe'" in bad.stderr


@pytest.mark.slow
def test_minilm_sick_r_is_mteb_s_figure(minilm, evalsets):
    """SICK-R scored as MTEB does (all 9,927 pairs) gives MTEB's published all-MiniLM-L6-v2 figure (about a minute)."""
    results = evaluate_model(str(minilm), evalsets=evalsets, sets=["SICK-R"])
    assert results["SICK-R"]["n"] == 9927
    assert round(results["SICK-R"]["spearman"], 2) == REFERENCES["all-MiniLM-L6-v2"]["scores"]["SICK-R"] == 77.58


@pytest.mark.slow
def test_minilm_scores_match_the_published_measurements(minilm, evalsets):
    """all-MiniLM-L6-v2 on the small sets (the full table is in BENCHMARKS.md)."""
    results = evaluate_model(str(minilm), evalsets=evalsets, sets=["BIOSSES", "UMNSRS-sim", "MayoSRS"])
    got = {name: round(r["spearman"], 2) for name, r in results.items()}
    assert got == {"BIOSSES": 81.25, "UMNSRS-sim": 41.38, "MayoSRS": 45.55}


def test_mention_rows_give_the_n_of_each_figure_the_published_systems_and_stay_out_of_the_average():
    from trainer.commands.evaluate import comparison_rows

    mentions = {"n": 960, "covered": 813, "coverage": 84.69, "scored": 813, "acc@1": 73.55, "acc@5": 82.41}
    scores = {
        "/runs/exp/final": {
            "BIOSSES": {"spearman": 80.0, "n": 100},
            "mentions ncbi_disease_test_mentions.tsv (published)": mentions,
            "mentions ncbi_disease_test_mentions.tsv (published, no abbreviations)": {
                "n": 960,
                "scored": 813,
                "acc@1": 54.86,
                "acc@5": 62.98,
            },
        }
    }
    header, rows = comparison_rows(scores, [])
    assert header == ["set", "metric", "n", "exp/final", "BioSyn-SapBERT (MEDIC/CTD)", "SapBERT (MEDIC)"]
    table = {(r[0], r[1]): r[2:] for r in rows}
    published = "mentions ncbi_disease_test_mentions.tsv (published)"
    assert table[(published, "coverage")] == ["960", "84.69", "", ""]
    assert table[(published, "acc@1")] == ["813", "73.55", "92.40", "92.30"]
    assert table[(published, "acc@5")] == ["813", "82.41", "95.80", ""]
    # the published systems resolved abbreviations: their figures sit on that row only
    assert table[(published.replace(")", ", no abbreviations)"), "acc@1")] == ["813", "54.86", "", ""]
    assert not any(r[0] == "average" for r in rows)  # BIOSSES alone: no coverage, no mention acc, no average of one


def test_the_score_table_fits_80_columns_with_a_legend_and_never_averages_spearman_with_accuracy(
    tiny_model, pairs_dir, tmp_path
):
    """Issue 31, item 3: two models made a 110-column table; Spearman and accuracies were averaged in one row."""
    import shutil

    folder = write_evalsets(tmp_path / "evalsets")
    models = [tmp_path / "experiment-with-a-long-name" / "final", tmp_path / "another-long-experiment" / "final"]
    for m in models:
        shutil.copytree(tiny_model, m)
    args = ["evaluate", *map(str, models), "--evalsets", str(folder), "--pairs", str(pairs_dir)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    assert "M1 = experiment-with-a-long-name/final" in lines and "M2 = another-long-experiment/final" in lines
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    averages = {r[1]: r[2] for r in rows if r[0] == "average"}
    assert averages == {"spearman": "2 sets"}  # KG linking acc@1 is not averaged with the Spearman figures
    assert all(r[2] for r in rows if r[0])  # n on every row


def test_published_figures_attach_only_to_a_model_identified_exactly(minilm, tiny_model, tmp_path):
    """Issue 31, item 4: references were matched by substring ("mpnet" in a run folder's name)."""
    import shutil

    from trainer.evaluate import reference_for

    look_alike = tmp_path / "all-MiniLM-L6-v2-finetuned" / "mpnet-base"
    shutil.copytree(tiny_model, look_alike)  # named like both, weights of neither
    assert reference_for(str(look_alike)) is None
    assert reference_for("sentence-transformers/paraphrase-multilingual-mpnet-base-v2") is None
    renamed = tmp_path / "final"
    shutil.copytree(minilm, renamed)  # the very weights under any name
    assert reference_for(str(renamed)) == reference_for("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"


def test_evaluation_prints_a_plain_progress_line_per_set_and_model_in_a_log_file(tiny_model, pairs_dir, tmp_path):
    """Issue 31, item 2: `trainer evaluate` on the sets was 16 min without a line when stderr was a log file."""
    folder = write_evalsets(tmp_path / "evalsets")
    args = ["evaluate", str(tiny_model), "--evalsets", str(folder), "--pairs", str(pairs_dir)]
    result = CliRunner().invoke(app, args, env={"KGBUILD_PROGRESS_EVERY_S": "0"})
    assert result.exit_code == 0, result.output
    name = display_name(tiny_model)
    lines = result.stderr.splitlines()
    for row in ("BIOSSES", "STS-B", "KG linking"):
        mine = [line for line in lines if line.startswith(f"{name} {row}: ")]
        assert mine and "(100%)" in mine[-1] and "texts/s" in mine[-1], result.stderr
    assert any("ETA" in line for line in lines)
    quiet = CliRunner().invoke(app, [*args, "--format", "csv"], env={"KGBUILD_PROGRESS_EVERY_S": "600"})
    assert quiet.exit_code == 0 and "%)" not in quiet.stderr  # sets scored in under 5 s: no line at all
