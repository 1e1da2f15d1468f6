"""Issue 25, items 2, 3, 8, 10 and 11: how a run stops. Ctrl-C and SIGTERM keep the answers in flight (a second
signal gives them up and says how many); a full disk stops sending and keeps what was received; a server that only
echoes or refuses, or only rate-limits, is stopped fast; a budget that cannot cover one request is said at once.
Billing is counted by the loopback server, not by the client under test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from test_llm_kill import ROOT, keys_on_disk

from kgbuild.core.errors import UserError
from kgbuild.llm.client import RunStopped
from kgbuild.llm.config import RetryPolicy
from kgbuild.llm.generate import DefinitionGenerator
from tests.helpers.llm_fake_server import Action
from tests.helpers.llm_helpers import fast_config, write_kg

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures


def rows(out: Path) -> list[dict]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/llm_definitions/*.parquet')").to_arrow_table().to_pylist()


def start_cli(kg: Path, out: Path, base_url: str, *extra: str) -> subprocess.Popen:
    """`kgbuild generate-definitions` as a user starts it, in its own process (signals go to it alone)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test"}
    args = ["--kg", str(kg), "--out", str(out), "--base-url", base_url, "--concurrency", "8", "--no-progress"]
    code = "import sys; from kgbuild.cli import main; sys.argv[0] = 'kgbuild'; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "generate-definitions", *args, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


# -- 2: Ctrl-C and SIGTERM -----------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_first_signal_waits_for_the_answers_in_flight_and_keeps_them(tmp_path, fake, sig):
    kg = write_kg(tmp_path / "kg", n_extra=60)  # 64 targets
    out = tmp_path / "defs"
    server = fake(plan=lambda call: Action(delay_s=1.5))  # 8 in flight at a time, each answered after 1.5 s
    child = start_cli(kg, out, server.base_url)
    try:
        assert wait_for(lambda: server.n_chat >= 8), "no request arrived"
        child.send_signal(sig)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    stderr = stderr.decode()
    assert child.returncode == 130, stderr
    assert f"interrupted ({signal.Signals(sig).name})" in stderr and "Traceback" not in stderr
    assert "waiting" in stderr and "in flight" in stderr  # the countdown was shown
    paid = sum(server.paid.values())
    assert paid >= 8 and len(rows(out)) == paid  # every request sent was answered, paid and kept: none dropped
    assert server.n_chat == paid  # nothing was sent after the signal but what was already in flight

    server.plan = None
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    assert summary.cached == paid and summary.done == 64 - paid
    assert len(server.paid) == 64 and max(server.paid.values()) == 1


@pytest.mark.slow
def test_a_second_signal_gives_up_the_answers_in_flight_and_says_how_many(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=20)
    out = tmp_path / "defs"
    server = fake(plan=lambda call: Action(delay_s=20))  # answers that would come much later
    child = start_cli(kg, out, server.base_url)
    try:
        assert wait_for(lambda: server.n_chat >= 8), "no request arrived"
        child.send_signal(signal.SIGINT)
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
    stderr = stderr.decode()
    assert child.returncode == 130 and "Traceback" not in stderr, stderr
    assert "aborted by a second SIGINT: 8 request(s) in flight" in stderr and "were given up" in stderr


@pytest.mark.slow
def test_a_signal_during_a_batch_download_lets_it_finish_and_keeps_its_rows(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=26)
    out = tmp_path / "defs"
    downloading = threading.Event()

    def fault(method, path):
        if method == "GET" and path.endswith("/content") and not downloading.is_set():
            downloading.set()
            return ("delay", 2.0)  # the results of the finished batch take a while to come
        return None

    server = fake(http_fault=fault)
    child = start_cli(kg, out, server.base_url, "--batch", "--poll", "0.05")
    try:
        assert downloading.wait(30), "no download started"
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    stderr = stderr.decode()
    assert child.returncode == 130 and "interrupted (SIGINT)" in stderr and "Traceback" not in stderr, stderr
    assert len(rows(out)) == 30  # the download finished and its paid answers were stored
    summary = DefinitionGenerator(kg, out, fast_config(server, batch=True, batch_poll_s=0.01)).run()
    assert summary.cached == 30 and server.batches_created == 1 and max(server.paid.values()) == 1


# -- 3: a full disk ------------------------------------------------------------------------------------------------


def test_a_full_disk_stops_sending_keeps_what_was_received_and_the_rerun_pays_nothing_twice(
    tmp_path, fake, small_disk, fill_disk
):
    kg = write_kg(tmp_path / "kg", n_extra=60)
    out = small_disk / "defs"
    filled = threading.Event()

    def on_answer(paid: int) -> None:
        if paid == 10 and not filled.is_set():
            fill_disk(small_disk)  # the disk fills up while requests are in flight
            filled.set()

    server = fake(plan=lambda call: Action(delay_s=0.05), on_answer=on_answer)
    events: list[str] = []

    def on_event(message: str) -> None:
        events.append(message)
        if "disk full" in message:
            (small_disk / "filler.bin").unlink(missing_ok=True)  # the user frees space

    config = fast_config(server, min_free_bytes=16 * 1024, disk_retry_s=0.05)
    with pytest.raises(RunStopped, match=r"disk full at .*: \d+ answers kept") as stop:
        DefinitionGenerator(kg, out, config, report=lambda event: event.text and on_event(event.text)).run()
    assert stop.value.fix and "free space and rerun" in stop.value.fix
    assert any("held in memory" in e for e in events)
    paid = sum(server.paid.values())
    assert 10 <= paid < 64  # it stopped sending
    keys, _ = keys_on_disk(out)
    assert len(keys) == paid  # every answer received is on disk: none lost to the full disk
    assert not list(out.glob("**/*.tmp"))  # no half-written shard left to fill the disk

    summary = DefinitionGenerator(kg, out, config).run()
    assert summary.cached == paid and summary.done == 64 - paid
    assert len(server.paid) == 64 and max(server.paid.values()) == 1


def test_a_disk_without_room_for_a_run_is_refused_before_anything_is_sent(kg, tmp_path, fake, small_disk, fill_disk):
    server = fake()
    fill_disk(small_disk)
    with pytest.raises(UserError, match="MB free on the disk of --out"):
        DefinitionGenerator(kg, small_disk / "defs", fast_config(server))
    assert not server.received


# -- 8: a server that only echoes or refuses ------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["echo", "refusal"])
def test_a_server_that_only_echoes_or_refuses_is_stopped_after_a_window(tmp_path, fake, answer):
    kg = write_kg(tmp_path / "kg", n_extra=200)

    def plan(call):
        if answer == "echo":
            return Action(text=call.body["messages"][1]["content"])
        return Action(text="I'm sorry, but I cannot help with that request about " + call.concept + ".")

    server = fake(plan=plan)
    with pytest.raises(RunStopped, match=r"of the last 50 answers failed the output checks") as stop:
        DefinitionGenerator(kg, tmp_path / "defs", fast_config(server, concurrency=4)).run()
    assert f"{answer} 50" in str(stop.value) and "e.g." in str(stop.value)  # the most common failure, an example
    assert sum(server.paid.values()) < 60  # not 204
    assert stop.value.summary.not_sent > 140


def test_the_quality_breaker_leaves_a_mediocre_model_alone(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=100)
    # Four answers in five fail a check (too short): poor, but not a server that never answers; the run finishes.
    server = fake(plan=lambda call: Action(text="Too short.") if call.n % 5 else None)
    summary = DefinitionGenerator(kg, tmp_path / "defs", fast_config(server, concurrency=4)).run()
    assert summary.sent == 104 and summary.stopped is None


# -- 10: a storm of 429s without Retry-After -----------------------------------------------------------------------


def test_a_429_storm_without_retry_after_trips_the_breaker(kg40, tmp_path, fake):
    server = fake(plan=lambda call: Action(status=429))
    policy = RetryPolicy(max_attempts=10_000, backoff_base_s=0.01, backoff_max_s=0.02, breaker_429_seconds=1.0)
    with pytest.raises(RunStopped, match=r"failed \d+ attempts in a row \(HTTP 429"):
        DefinitionGenerator(kg40, tmp_path / "defs", fast_config(server, retry=policy)).run()
    assert not server.paid and server.n_chat < 5_000  # stopped, not retried for ever


# -- 11: a budget that cannot cover one request; what is not sent is not rendered ---------------------------------


def test_a_budget_below_one_request_is_said_at_the_start(kg40, tmp_path, fake):
    server = fake()
    with pytest.raises(UserError, match="cannot cover one request"):
        DefinitionGenerator(kg40, tmp_path / "defs", fast_config(server, budget_usd=1e-6)).run()
    assert not server.received


def test_what_a_tiny_budget_leaves_unsent_is_counted_without_rendering_it(tmp_path, fake, monkeypatch):
    import kgbuild.llm.generate as generate

    kg = write_kg(tmp_path / "kg", n_extra=3000)
    rendered = {"n": 0}
    real = generate.render_messages

    def counting(facts):
        rendered["n"] += 1
        return real(facts)

    monkeypatch.setattr(generate, "render_messages", counting)
    server = fake()
    summary = DefinitionGenerator(kg, tmp_path / "defs", fast_config(server, budget_usd=0.001)).run()
    assert summary.stopped_by_budget and summary.sent + summary.not_sent == summary.selected == 3004
    assert rendered["n"] < 100  # the 2,900-odd targets left were counted, not rendered
