"""The parts on their own: KG facts and prompt, request keys, output checks, prices, the shard store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from kgbuild.core.contracts import check_table, table_files
from kgbuild.core.errors import UserError
from kgbuild.llm.cache import DefinitionStore, request_key
from kgbuild.llm.checks import check_answer, clean_text, names_concept
from kgbuild.llm.config import CheckConfig
from kgbuild.llm.pricing import load_price
from kgbuild.llm.prompt import TEMPLATE_VERSION, KGFacts, Selection, render_messages

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures


def facts(kg: Path, **selection) -> list:
    with KGFacts(kg, Selection(**selection)) as f:
        return list(f)


def test_targets_lack_a_definition_and_come_most_connected_first(kg):
    got = facts(kg)
    # Appendix has a definition; appendicitis has 4 edges, acute appendicitis 2, the parent and the lonely one 1.
    assert [f.cui for f in got] == ["C0003615", "C0085693", "C0000005", "C0021390"]
    assert [f.cui for f in facts(kg, only_missing=False, order="cui")] == [
        "C0000005",
        "C0003615",
        "C0003617",
        "C0021390",
        "C0085693",
    ]
    assert [f.cui for f in facts(kg, limit=2)] == ["C0003615", "C0085693"]


def test_facts_are_grounded_in_the_kg(kg):
    appendicitis = facts(kg)[0]
    # English, unsuppressed, case-folded duplicates of the preferred name dropped.
    assert appendicitis.synonyms == ["Epityphlitis"]
    assert appendicitis.semantic_types == ["Disease or Syndrome"]
    assert appendicitis.parents == ["Inflammatory disorder of digestive tract"]  # head isa tail: tail is the parent
    # Readable relation sentences; generic RO edges and hierarchy are left out.
    assert appendicitis.relations == ["Appendicitis has finding site Appendix"]
    # Edges count in both directions: the appendix is the tail of two.
    appendix = next(f for f in facts(kg, only_missing=False) if f.cui == "C0003617")
    assert appendix.relations == [
        "Acute appendicitis has finding site Appendix",
        "Appendicitis has finding site Appendix",
    ]


def test_prompt_has_names_and_facts_but_no_codes(kg):
    messages = render_messages(facts(kg)[0])
    user = messages[1]["content"]
    assert [m["role"] for m in messages] == ["system", "user"]
    for expected in (
        'Concept: "Appendicitis"',
        "Epityphlitis",
        "Disease or Syndrome",
        "Is a kind of: Inflammatory disorder of digestive tract",
        "Appendicitis has finding site Appendix",
        "40 to 60 words",
    ):
        assert expected in user
    for code in ("C0003615", "C0021390", "SNOMEDCT", "MSH"):
        assert code not in user


def test_request_key_covers_model_messages_params_and_template():
    messages = [{"role": "user", "content": "x"}]
    key = request_key("m", messages, {"temperature": 0, "max_tokens": 10}, "v1")
    assert key == request_key("m", [dict(messages[0])], {"max_tokens": 10, "temperature": 0}, "v1")  # order-free
    assert (
        len(
            {
                key,
                request_key("m2", messages, {"temperature": 0, "max_tokens": 10}, "v1"),
                request_key("m", messages, {"temperature": 0.5, "max_tokens": 10}, "v1"),
                request_key("m", messages, {"temperature": 0, "max_tokens": 10}, "v2"),
                request_key("m", [{"role": "user", "content": "y"}], {"temperature": 0, "max_tokens": 10}, "v1"),
            }
        )
        == 5
    )
    assert TEMPLATE_VERSION


@pytest.mark.parametrize(
    ("text", "finish", "status"),
    [
        ("Appendicitis is an inflammation of the vermiform appendix " + "word " * 30, "stop", "ok"),
        (
            "Inflammation of the appendix, also called epityphlitis, " + "word " * 30,
            "stop",
            "ok",
        ),  # a synonym names it
        ("Appendicitis is " + "word " * 200, "length", "truncated"),
        ("I'm sorry, but I can't provide a definition for that.", "stop", "refusal"),
        ("As an AI language model I cannot " + "word " * 30, "stop", "refusal"),
        ("", "stop", "empty"),
        ("Appendicitis is an inflammation.", "stop", "too_short"),
        ("Appendicitis " + "word " * 150, "stop", "too_long"),
        ("A disease of the bowel " + "word " * 30, "stop", "unnamed"),
    ],
)
def test_output_checks(text, finish, status):
    got, reason = check_answer(clean_text(text), finish, None, ["Appendicitis", "Epityphlitis"], CheckConfig())
    assert got == status
    assert (reason is None) == (status == "ok")


def test_names_check_is_lenient_about_word_order_and_endings():
    assert names_concept("Acute appendicitis is …", ["Appendicitis, acute"])
    assert names_concept("Fractures of the femur are …", ["Fracture of femur"])
    assert not names_concept("A disorder of the colon", ["Appendicitis, acute"])
    assert clean_text('  Definition: "Appendicitis is x."  ') == "Appendicitis is x."


def test_prices_match_by_prefix_and_batch_halves_them(tmp_path):
    price = load_price("gpt-4o-mini-2024-07-18")
    assert price.model == "gpt-4o-mini"
    assert price.cost(1_000_000, 1_000_000) == pytest.approx(0.75)
    assert price.cost(1_000_000, 1_000_000, batch=True) == pytest.approx(0.375)
    assert load_price("smollm2") is None
    custom = tmp_path / "prices.toml"
    custom.write_text('batch = 0.4\n[models."smollm2"]\ninput = 1.0\noutput = 2.0\n')
    assert load_price("smollm2", custom).cost(10**6, 0, batch=True) == pytest.approx(0.4)
    custom.write_text('[models."x"\ninput = 1')
    with pytest.raises(UserError, match="not valid TOML"):
        load_price("x", custom)


def row(key: str, status: str = "ok", cui: str = "C1", text: str = "Some text") -> dict:
    return {
        "key": key,
        "cui": cui,
        "model": "m",
        "prompt_version": "v",
        "text": text,
        "finish_reason": "stop",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost_usd": 0.0,
        "status": status,
        "error": None,
        "attempts": 1,
        "backend": "online",
        "batch_id": None,
        "created_at": datetime.now(UTC),
    }


def test_store_recovers_the_journal_of_a_killed_run_and_drops_a_torn_line(tmp_path):
    out = tmp_path / "defs"
    journal = out / "journal"
    journal.mkdir(parents=True)
    lines = [json.dumps(row(f"{i:064x}"), default=str) for i in range(3)]
    (journal / "dead-000001.jsonl").write_text("\n".join(lines) + "\n" + lines[0][:40])  # killed mid-write
    (out / "llm_definitions").mkdir()
    (out / "llm_definitions" / ".part-x.parquet.tmp").write_bytes(b"PAR1 half a shard")
    with DefinitionStore(out) as store:
        assert store.recovered_rows == 3
        assert store.skip_keys(retry_failed=False) == {bytes.fromhex(f"{i:064x}"[:32]) for i in range(3)}
    assert not list(journal.glob("*.jsonl"))
    assert not list((out / "llm_definitions").glob(".*"))
    assert all(c.passed for c in check_table("llm_definitions", table_files(out, "llm_definitions")))


def test_store_keeps_one_row_per_key_with_the_best_status(tmp_path):
    out = tmp_path / "defs"
    k1, k2, k3 = "a" * 64, "b" * 64, "c" * 64
    with DefinitionStore(out, flush_rows=1) as store:  # one shard per row
        store.add(row(k1, "error", text=None))
        store.add(row(k2, "too_short"))
        store.add(row(k3, "ok"))
        assert store.skip_keys(retry_failed=False) == {bytes.fromhex(k[:32]) for k in (k2, k3)}
        assert store.skip_keys(retry_failed=True) == {bytes.fromhex(k3[:32])}
    with DefinitionStore(out, flush_rows=1) as store:
        store.add(row(k1, "ok"))  # the error, answered later
        store.add(row(k2, "ok"))  # the check failure, retried
    files = table_files(out, "llm_definitions")
    assert len(files) == 1  # small shards merged, superseded rows dropped
    got = dict(duckdb.sql(f"SELECT key, status FROM read_parquet({files})").fetchall())
    assert got == {k1: "ok", k2: "ok", k3: "ok"}
    assert all(c.passed for c in check_table("llm_definitions", files))


def test_bad_kg_folders_give_one_clear_error(tmp_path, kg):
    with pytest.raises(UserError, match="KG folder not found"):
        facts(tmp_path / "nope")
    (kg / "names.parquet").unlink()
    with pytest.raises(UserError, match="no names table"):
        facts(kg)


def test_facts_come_the_same_a_chunk_at_a_time(kg):
    with KGFacts(kg, Selection(only_missing=False), chunk_rows=2) as chunked:
        small = list(chunked)
    assert small == facts(kg, only_missing=False) and len(small) == 5


def test_two_concepts_with_the_same_prompt_are_sent_once(kg, tmp_path, fake):
    from kgbuild.llm.generate import DefinitionGenerator
    from tests.helpers.llm_helpers import fast_config

    con = duckdb.connect()
    con.sql(
        f"COPY (SELECT * FROM '{kg}/concepts.parquet' UNION ALL "
        f"SELECT 'C0099999', 'Lonely concept', [], 1, false) TO '{kg}/concepts2.parquet'"
    )
    con.sql(
        f"COPY (SELECT * FROM '{kg}/names.parquet' UNION ALL SELECT 'C0099999', 'A99', 'Lonely concept', 'ENG', "
        f"'MSH', 'MH', true, 'N', 0) TO '{kg}/names2.parquet'"
    )
    for t in ("concepts", "names"):
        (kg / f"{t}2.parquet").replace(kg / f"{t}.parquet")
    server = fake()
    summary = DefinitionGenerator(kg, tmp_path / "defs", fast_config(server)).run()
    assert summary.selected == 5 and summary.done == 4 and summary.cached == 1
    assert len(server.received) == 4 and max(server.received.values()) == 1
