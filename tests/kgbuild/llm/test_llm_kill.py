"""kill -9 mid-run, then a rerun: nothing answered and delivered is lost, nothing is paid twice, the table stays valid.

The generator runs in a real subprocess against the loopback server in this process; the server SIGKILLs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from kgbuild.core.contracts import check_table, table_files
from kgbuild.llm.generate import DefinitionGenerator
from tests.helpers.llm_fake_server import Action
from tests.helpers.llm_helpers import fast_config, write_kg

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import sys
from kgbuild.llm.config import RetryPolicy
from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig
config = GenerateConfig(base_url=sys.argv[3], concurrency=8, flush_rows=int(sys.argv[4]), flush_seconds=3600,
                        retry=RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05),
                        batch=sys.argv[5] == "batch", batch_poll_s=0.05, batch_max_lines=int(sys.argv[6]))
DefinitionGenerator(sys.argv[1], sys.argv[2], config).run()
"""


def start_child(
    kg: Path, out: Path, base_url: str, *, flush_rows: int = 5, mode: str = "online", batch_lines: int = 50_000
) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test"}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(kg), str(out), base_url, str(flush_rows), mode, str(batch_lines)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )


def keys_on_disk(out: Path) -> tuple[set[str], int]:
    """(distinct keys in the shards and the journals' complete lines, journal lines). A kill between a shard's
    rename and its journal's unlink leaves the same rows in both: hence distinct keys."""
    keys: set[str] = set()
    for f in table_files(out, "llm_definitions"):
        keys.update(k for (k,) in duckdb.sql(f"SELECT key FROM read_parquet('{f}')").fetchall())
    lines = 0
    for journal in (out / "journal").glob("*.jsonl") if (out / "journal").exists() else ():
        try:
            text = journal.read_text()
        except FileNotFoundError:  # flushed into a shard and removed while we looked: its keys are in the shard
            continue
        for line in text.splitlines(keepends=True):
            if line.endswith("\n"):
                keys.add(json.loads(line)["key"])
                lines += 1
    return keys, lines


def ok_rows(out: Path) -> dict[str, str]:
    return dict(duckdb.sql(f"SELECT cui, status FROM read_parquet('{out}/llm_definitions/*.parquet')").fetchall())


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, 23])
def test_kill_9_mid_run_then_rerun_loses_nothing_and_pays_nothing_twice(tmp_path, fake, kill_after):
    kg = write_kg(tmp_path / "kg", n_extra=60)  # 64 targets
    out = tmp_path / "defs"
    arrived = threading.Event()

    def plan(call):
        if sum(server.paid.values()) >= kill_after:
            arrived.set()
            return Action(delay_s=30, drop=True)  # requests after the kill point hang: the ones in flight
        return None

    server = fake(plan=plan)
    child = start_child(kg, out, server.base_url, flush_rows=5)
    try:
        assert arrived.wait(60), child.stderr.read().decode() if child.poll() is not None else "no request arrived"
        # Kill once the child has recorded every answer it was sent (the rest hang in flight), so that the
        # test can count exactly; a kill between delivery and journal would only lose those in-flight answers.
        deadline = time.monotonic() + 20
        while len(keys_on_disk(out)[0]) < sum(server.paid.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    paid_before_kill = sum(server.paid.values())
    assert paid_before_kill >= kill_after

    # What the killed run left reads as a valid table already (shards are whole or absent).
    files = table_files(out, "llm_definitions")
    if files:
        assert all(c.passed for c in check_table("llm_definitions", files))
    keys, in_journal = keys_on_disk(out)
    assert len(keys) == paid_before_kill  # every delivered answer is on disk, in a shard or the journal

    server.plan = None
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()

    assert summary.recovered_rows == in_journal
    assert summary.cached == paid_before_kill  # every answer the killed run received was kept
    assert summary.done == 64 - paid_before_kill  # and only the rest was sent
    assert set(ok_rows(out).values()) == {"ok"} and len(ok_rows(out)) == 64  # 0 lost
    assert len(server.paid) == 64 and max(server.paid.values()) == 1  # 0 paid twice
    assert not list((out / "journal").glob("*.jsonl"))
