"""`trainer index` / `trainer link` / mention evaluation on a literal KG where every answer is known, with the real
all-MiniLM-L6-v2 (from its wheel) as the encoder."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from kgbuild.errors import UserError
from trainer import linking
from trainer.cli import app
from trainer.linking import Linker, build_index, evaluate_mentions, gold_cuis, make_faiss_index

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
    build_index(minilm, kg, out, progress=False)
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
    build_index(minilm, kg, graph, dtype="float16", progress=False)
    manifest = json.loads((graph / "manifest.json").read_text())
    assert manifest["index"] == {"kind": "hnsw", "dtype": "float16", "m": 32, "ef_construction": 200, "ef_search": 64}
    mentions = ["heart attack", "high blood pressure", "epileptic fit", "anaemia", "sugar diabetes"]
    exact = [[c.cui for c in r] for r in Linker.load(index).link(mentions, top_k=3)]
    assert [[c.cui for c in r] for r in Linker.load(graph).link(mentions, top_k=3)] == exact
    manifest["index"]["ef_search"] = 100  # raised by the user for recall: the loader uses it
    (graph / "manifest.json").write_text(json.dumps(manifest))
    assert Linker.load(graph).index.hnsw.efSearch == 100


def test_an_interrupted_index_build_resumes_from_the_chunks_it_embedded(index, kg, minilm, tmp_path, monkeypatch):
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
        build_index(minilm, kg, out, progress=False)
    work = tmp_path / ".kg.index.embeddings"
    assert not out.exists() and len(list(work.glob("chunk-*.npy"))) == 2
    calls.clear()
    build_index(minilm, kg, out, progress=False)
    assert calls == [4] * ((n - 8) // 4) + [(n - 8) % 4] * bool((n - 8) % 4)  # only what was not embedded yet
    assert not work.exists()  # our own chunks, removed once the index is written
    mentions = ["heart attack", "high blood pressure", "anaemia"]
    resumed, clean = Linker.load(out).link(mentions), Linker.load(index).link(mentions)
    assert [[c.cui for c in r] for r in resumed] == [[c.cui for c in r] for r in clean]
    assert [c.score for r in resumed for c in r] == pytest.approx([c.score for r in clean for c in r], abs=1e-5)


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
    build_index(tiny_model, bare, bare_index, progress=False)
    gold = tmp_path / "gold.tsv"
    gold.write_text("mention\tgold_ids\nheart attack\tD009203\n")
    with pytest.raises(UserError, match="no codes"):
        evaluate_mentions(Linker.load(bare_index), gold)
    assert "no codes" in run(
        "evaluate", "--model", str(tiny_model), "--mentions", str(gold), "--index", str(bare_index)
    )
    # The output folder of index overlapping the KG.
    assert "input --kg" in run("index", "--model", str(tiny_model), "--kg", str(kg), "--out", str(kg / "idx"))
