"""`DefinitionGenerator`: the library object behind `kgbuild generate-definitions`.

    from kgbuild.llm import DefinitionGenerator, GenerateConfig
    summary = DefinitionGenerator("kg", "defs", GenerateConfig(model="gpt-4o-mini", budget_usd=5)).run()
    print(summary.line())

Flow: KG facts (streamed, most-connected first) → prompt → request key → skip if cached → a runner (online.py:
N async workers with rate limits and retries; batch.py: the Batch API) → the recorder (recorder.py: output checks,
journal + Parquet shards) → contract check → manifest. Types shared by all of them are in config.py; nothing imports
this module but the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from kgbuild.core import lineage
from kgbuild.core.atomic import check_overlap
from kgbuild.core.contracts import check_or_raise, table_files
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, say, silent
from kgbuild.core.manifest import write_manifest
from kgbuild.llm.batch import BatchRunner, pending_batches
from kgbuild.llm.cache import CHECK_FAILURES, ERROR, OK, TABLE, DefinitionStore, is_ours, request_key, short_key
from kgbuild.llm.client import RunStopped, api_key_from_env
from kgbuild.llm.config import GenerateConfig, Request, RequestStream, Summary, estimate_prompt_tokens
from kgbuild.llm.online import OnlineRunner
from kgbuild.llm.pricing import load_price
from kgbuild.llm.prompt import TEMPLATE_VERSION, KGFacts, Selection, render_messages
from kgbuild.llm.recorder import Recorder

__all__ = ["DefinitionGenerator", "GenerateConfig", "Summary"]


class DefinitionGenerator:
    def __init__(
        self,
        kg: Path | str,
        out: Path | str,
        config: GenerateConfig | None = None,
        *,
        report: Reporter = silent,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.kg = Path(kg)
        self.out = Path(out)
        self.config = config or GenerateConfig()
        # the progress ("definitions") and the messages while the run stops (countdown, disk full)
        self.report = report
        self.price = load_price(self.config.model, self.config.prices)
        self.recorder = Recorder(self.config, self.price, report=report, on_row=on_row)
        self.summary = self.recorder.summary  # read here; written by the recorder only
        self._validate()

    def _validate(self) -> None:
        """Every check that needs no server, before anything is written."""
        c = self.config
        if not self.kg.is_dir() or not table_files(self.kg, "concepts"):
            raise UserError(
                "no KG here (concepts table missing)",
                path=self.kg,
                fix="pass the output folder of `kgbuild extract` as --kg",
            )
        if self.out.exists() and not self.out.is_dir():
            raise UserError("--out is a file", path=self.out, fix="give a folder (new, or one from an earlier run)")
        check_overlap(self.out, {"--kg": self.kg})
        existing = next((p for p in (self.out, *self.out.absolute().parents) if p.exists()), None)
        if existing is not None and (free := shutil.disk_usage(existing).free) < c.min_free_bytes:
            raise UserError(
                f"only {free / 1e6:,.1f} MB free on the disk of --out; a run needs {c.min_free_bytes / 1e6:,.0f} MB "
                "to keep what it pays for",
                path=self.out,
                fix="free space, or choose an --out on another disk",
            )
        if self.out.is_dir() and any(self.out.iterdir()) and not is_ours(self.out):
            raise UserError(
                "--out holds files that generate-definitions did not write",
                path=self.out,
                fix="give a new folder, or the DEFS folder of an earlier run to resume it",
            )
        if c.timeout_s <= 0:
            raise UserError("--timeout must be positive", fix="e.g. --timeout 60")
        if c.retry.max_attempts < 1:
            raise UserError("--max-attempts must be at least 1", fix="e.g. --max-attempts 6")
        api_key_from_env(c.base_url)
        if c.concurrency < 1:
            raise UserError("--concurrency must be at least 1", fix="e.g. --concurrency 64")
        if c.limit is not None and c.limit < 0:
            raise UserError("--limit must be zero or more")
        for name in ("rpm", "tpm", "budget_usd"):
            value = getattr(c, name)
            if value is not None and value <= 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive", fix="leave it out for no limit")
        if c.budget_usd is not None and self.price is None:
            raise UserError(
                f"no price for model {c.model!r}, so --budget-usd cannot be enforced",
                path=c.prices or "kgbuild/llm/prices.toml",
                fix=f'add [models."{c.model}"] with input/output prices, or pass --prices FILE',
            )

    # -- requests --------------------------------------------------------------------------------------------------

    def _requests(self, facts: KGFacts, skip: set[bytes]) -> Iterator[Request | None]:
        """The requests to send, in order; None now and then while skipping cached ones (a chance to yield)."""
        params = self.config.params()
        model = self.config.model
        for f in facts:
            self._looked_at += 1
            messages = render_messages(f)
            key = request_key(model, messages, params, TEMPLATE_VERSION)
            if short_key(key) in skip:
                self.recorder.cached()
                if self.summary.cached % 2000 == 0:
                    yield None  # a long cached stretch: let the workers' answers in (see `produce`)
                continue
            if f.shared_name:
                # Two concepts with the same name and facts make the same request: send it once. Only concepts
                # whose name another target shares are remembered, so this set stays small.
                skip.add(short_key(key))
            yield Request(
                key=key,
                cui=f.cui,
                names=f.names,
                body={"model": model, "messages": messages, **params},
                est_prompt_tokens=estimate_prompt_tokens(messages),
            )

    # -- running ---------------------------------------------------------------------------------------------------

    def run(self) -> Summary:
        return asyncio.run(self.arun())

    async def arun(self) -> Summary:
        started = time.monotonic()
        c = self.config
        selection = Selection(only_missing=c.only_missing, order=c.order, limit=c.limit)
        self._interrupted: str | None = None  # the first SIGINT/SIGTERM: stop sending, keep what is in flight
        self._given_up: int | None = None  # the second one: answers in flight (or held for a full disk) given up
        self._store: DefinitionStore | None = None
        # The KG is read (and its problems reported) before anything is written to --out. Nothing in --out is ever
        # deleted, whatever happens: a stopped run may already have paid (a submitted batch, requests in flight),
        # and its journal and ledger are what let the rerun resume instead of paying again.
        try:
            with KGFacts(self.kg, selection) as facts:
                recorder = self.recorder
                recorder.selected(facts.count)
                store = DefinitionStore(
                    self.out, flush_rows=c.flush_rows, flush_seconds=c.flush_seconds, min_free_bytes=c.min_free_bytes
                )
                self._store = store
                with recorder.recording(store, facts.count):
                    pending = pending_batches(self.out)
                    if pending and not c.batch:
                        # An online run must not buy again what a batch has already been paid for.
                        if not c.abandon_batches:
                            raise UserError(
                                f"{pending} batch(es) sent by an earlier --batch run are still pending at the "
                                "provider; an online run would pay for their requests again",
                                path=self.out / "batches" / "ledger.json",
                                fix="rerun with --batch to collect them (or wait until they finish), or add "
                                "--abandon-batches to cancel them at the provider first (answers they already "
                                "hold are collected and kept)",
                            )
                        with self._signals(BatchRunner(recorder)) as abandoning:
                            await abandoning.abandon()
                    recorder.recovered(store.recovered_rows)
                    skip = store.skip_keys(retry_failed=c.retry_failed)
                    self._looked_at = 0
                    requests = RequestStream(self._requests(facts, skip), lambda: facts.count - self._looked_at)
                    runner = BatchRunner(recorder) if c.batch else OnlineRunner(recorder)
                    with self._signals(runner):
                        await runner.run(requests)
                        await self._keep_held(recorder)
                    disk_full = store.filled
        except asyncio.CancelledError:
            if self._given_up is None:
                raise
            asyncio.current_task().uncancel()
            raise self._stop(
                f"aborted by a second {self._interrupted}: {self._given_up} request(s) in flight (or answers held "
                "for a full disk) were given up (the provider may bill them); every answer received before is "
                "kept — rerun the same command to continue",
                exit_code=130,
            ) from None
        if disk_full is not None:
            with contextlib.suppress(OSError):  # the disk may be full again: the next run writes the manifest
                self._write_manifest_of_run(started)
            raise self._stop(
                f"disk full at {disk_full}: {self.summary.done + self.summary.failed_checks} answers kept (in the "
                "journal where no shard could be written)",
                fix="free space and rerun the same command: nothing received is sent again",
            )
        # The store is closed (flushed, compacted): the shards must now read as one valid table.
        check_or_raise(TABLE, self.out)
        self._write_manifest_of_run(started)
        if self._interrupted is not None:
            raise self._stop(
                f"interrupted ({self._interrupted}): nothing more was sent; the answers in flight were waited for "
                "and kept",
                fix="rerun the same command to continue: nothing received is sent again",
                exit_code=130,
            )
        if self.summary.stopped:
            raise self._stop(self.summary.stopped)
        return self.summary

    def _stop(self, message: str, *, fix: str | None = None, exit_code: int = 1) -> RunStopped:
        stop = RunStopped(message, fix=fix)
        stop.summary = self.summary
        stop.exit_code = exit_code
        return stop

    def _write_manifest_of_run(self, started: float) -> None:
        store = DefinitionStore(self.out)
        self.recorder.finished(time.monotonic() - started, store.counts())
        self._write_manifest(store.models())

    def _emit(self, message: str) -> None:
        say(self.report, "definitions", message)  # at once, even inside a command: the run is waiting

    @contextlib.contextmanager
    def _signals(self, runner: OnlineRunner | BatchRunner) -> Iterator[OnlineRunner | BatchRunner]:
        """The first SIGINT or SIGTERM stops sending and waits (with a countdown) for the requests in flight, which
        are paid for; a second one gives them up at once. Only where signals can be handled (the main thread)."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        installed = []
        countdown: list[asyncio.Task] = []

        def handle(sig: int) -> None:
            name = signal.Signals(sig).name
            if self._interrupted is None:
                self._interrupted = name
                runner.stop(f"interrupted ({name})")
                countdown.append(loop.create_task(self._countdown(runner, name)))
            elif self._given_up is None:
                self._given_up = runner.in_flight + (self._store.held if self._store is not None else 0)
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, handle, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
                pass
        try:
            yield runner
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            for t in countdown:
                t.cancel()

    async def _countdown(self, runner: OnlineRunner | BatchRunner, name: str) -> None:
        deadline = time.monotonic() + self.config.timeout_s
        while (n := runner.in_flight) > 0 and (left := deadline - time.monotonic()) > 0:
            self._emit(
                f"{name}: sending nothing more; waiting {left:.0f} s at most for {n} answer(s) in flight "
                f"(paid for) — press Ctrl-C again to give them up"
            )
            await asyncio.sleep(min(5.0, left))

    async def _keep_held(self, recorder: Recorder) -> None:
        """Answers held in memory while the disk is full are written as soon as space is freed (a second Ctrl-C
        gives them up): a paid answer is not dropped because a disk filled up."""
        store = recorder.store
        while store.held and not recorder.flush():
            self._emit(
                f"disk full at {store.disk_full}: {store.held} answer(s) held in memory; free space to keep them "
                "(Ctrl-C twice gives them up)"
            )
            await asyncio.sleep(self.config.disk_retry_s)

    def _write_manifest(self, models: list[dict[str, Any]]) -> None:
        kg_tables = {}
        for table in ("concepts", "names", "relations"):
            files = table_files(self.kg, table)
            kg_tables[table] = {
                "files": [str(Path(f).relative_to(self.kg)) for f in files],
                "bytes": sum(Path(f).stat().st_size for f in files),
            }
        params = self.config.to_json()
        params["template_version"] = TEMPLATE_VERSION
        price = asdict(self.price) if self.price else None
        write_manifest(
            self.out,
            command="generate-definitions",
            inputs={"kg": str(self.kg), "tables": kg_tables},
            parameters=params,
            tables={TABLE: sum(self.summary.statuses.values())},
            timings={"total": self.summary.elapsed_s},
            extra={
                "lineage": lineage.carry(self.kg),  # publishing reads the licence here
                "summary": asdict(self.summary),
                # Every model whose answers this folder holds: build-pairs takes one (the run's, or
                # --definitions-model), never a mix.
                "models": models,
                "price_per_1m_tokens": price,
                "statuses": {"ok": OK, "retried_every_run": ERROR, "retried_with_retry_failed": list(CHECK_FAILURES)},
            },
        )
