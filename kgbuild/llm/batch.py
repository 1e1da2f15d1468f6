"""The OpenAI Batch API path (--batch): half the price, a day's latency.

Requests are written to JSONL shards within the API's limits (50,000 lines, 200 MB), uploaded, submitted and
polled. A ledger in DEFS_DIR/batches/ledger.json records every step before the next one starts, so a restart
resumes the same batches instead of paying for them again; a crash between `batches.create` and the ledger write
is recovered by finding the batch through `batches.list` and its metadata. Results are matched by custom_id
(never by line order); only failed or expired requests are re-queued; the uploaded and result files are deleted
once their rows are in the shards.

Every API call (upload, create, poll, download, delete) is retried with the run's retry policy; `batches.create` looks
for the batch it may already have made before each retry, so a lost answer never submits (and bills) a shard twice.
A poll that still fails after its retries is tried again at the next poll: a day of flaky answers does not end the
run, but polls that keep failing for `batch_poll_give_up_s` stop it in one line (the ledger keeps the batches).
Requests re-queued in the same run (expired lines, lines failed with a status that can succeed later) get a row only
if they are not answered in the end; a line refused for good (400, 401, 404, 422) is recorded, not resubmitted.

Money: each line is reserved at its worst case when its shard is written. Near the cap the shards become waves:
what does not fit waits for the batches in flight to be collected (their real cost settled, the prices learned), then
goes in the next wave, so a budget is used nearly to the end and never crossed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from kgbuild.core.atomic import atomic_write_bytes
from kgbuild.core.errors import UserError
from kgbuild.llm.budget import Budget
from kgbuild.llm.client import (
    RETRY_STATUS,
    MalformedResponse,
    RunStopped,
    answer_from_body,
    error_text,
    is_quota_error,
    is_retryable,
    make_client,
    retry_after_s,
)
from kgbuild.llm.config import Request, RequestStream
from kgbuild.llm.recorder import Recorder

ENDPOINT = "/v1/chat/completions"
TERMINAL = ("completed", "expired", "failed", "cancelled")
# Ledger states, in order. Each is saved before the step that follows it is attempted.
WRITTEN, UPLOADED, SUBMITTED, COLLECTED, CLEANED = "written", "uploaded", "submitted", "collected", "cleaned"
# Line errors that a later round can cure (besides HTTP 408/409/429/5xx); any other is refused for good.
_RETRYABLE_LINE_CODES = frozenset({"batch_expired", "rate_limit_exceeded", "server_error", "timeout", "expired"})


def pending_batches(out: Path) -> int:
    """Batches of an earlier --batch run in DEFS_DIR that are not collected: the provider may answer (and bill)
    them, so an online run must not send their requests."""
    path = Path(out) / "batches" / "ledger.json"
    if not path.exists():
        return 0
    return sum(1 for j in Ledger(path.parent).active() if j.state != COLLECTED)


@dataclass
class Job:
    shard: str
    n: int
    est_tokens: int
    round: int = 1
    state: str = WRITTEN
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None  # the API's last batch status
    reserved_usd: float = 0.0


class Ledger:
    """The batch jobs of one DEFS_DIR, saved atomically after every change."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / "ledger.json"
        folder.mkdir(parents=True, exist_ok=True)
        self.jobs: list[Job] = []
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.jobs = [Job(**j) for j in data["jobs"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise UserError(
                    f"the batch ledger is unreadable ({exc})",
                    path=self.path,
                    fix="restore it from a backup; deleting it forgets batches that may still be running "
                    "(and paid for)",
                ) from None

    def save(self) -> None:
        data = {"jobs": [asdict(j) for j in self.jobs]}
        atomic_write_bytes(self.path, json.dumps(data, indent=1).encode())

    def active(self) -> list[Job]:
        return [j for j in self.jobs if j.state not in (COLLECTED, CLEANED)]

    def next_shard(self) -> str:
        return f"b{len(self.jobs) + 1:06d}"


class BatchRunner:
    def __init__(self, recorder: Recorder):
        self.recorder = recorder
        self.summary = recorder.summary
        self.store = recorder.store
        self.config = recorder.config
        self.ledger = Ledger(self.store.out / "batches")
        self.run_tag = self.store.out.resolve().name[:64]
        self.in_flight = 0  # batches being downloaded and recorded (a stop waits for them)
        self.abandoning = False  # --abandon-batches: collect what the cancelled batches hold, re-queue nothing
        self._stopping: str | None = None
        self._wake = asyncio.Event()  # a stop interrupts the sleep between polls
        self._failing_since: float | None = None  # the first of consecutive failed polls

    def stop(self, reason: str) -> None:
        """Submit and poll nothing more; a download under way finishes. The ledger keeps what is pending."""
        self._stopping = self._stopping or reason
        self.recorder.stop(reason)
        self._wake.set()

    # -- files of a shard ------------------------------------------------------------------------------------------

    def _paths(self, job: Job) -> dict[str, Path]:
        base = self.ledger.folder / job.shard
        return {
            "input": base.with_suffix(".jsonl"),
            "meta": base.with_suffix(".meta.jsonl"),
            "output": base.with_suffix(".output.jsonl"),
            "errors": base.with_suffix(".errors.jsonl"),
        }

    def _active_ids(self) -> set[str]:
        ids: set[str] = set()
        for job in self.ledger.active():
            meta = self._paths(job)["meta"]
            if meta.exists():
                with open(meta, encoding="utf-8") as fh:
                    ids.update(json.loads(line)["custom_id"] for line in fh)
        return ids

    # -- the run ---------------------------------------------------------------------------------------------------

    def _open(self) -> None:
        c = self.config
        self.budget = Budget(c.budget_usd, self.recorder.price, batch=True, max_tokens=c.max_tokens)
        self.client = make_client(base_url=c.base_url, timeout_s=max(c.timeout_s, 300.0), max_connections=8)
        self._backoff = wait_random_exponential(multiplier=c.retry.backoff_base_s, max=c.retry.backoff_max_s)

    async def _close(self) -> None:
        self.recorder.spent(self.budget.spent, unknown_cost_attempts=self.budget.unknown_cost_attempts)
        await self.client.close()

    async def run(self, requests: RequestStream) -> None:
        self._open()
        try:
            if (first := requests.peek()) is not None:
                self.budget.check_one_fits(first.body)
            await self._check_support()
            in_batches = self._active_ids()  # requests of unfinished batches: resumed, never resubmitted
            for job in self.ledger.active():
                self.recorder.batch("resumed")
                self.budget.reserved += job.reserved_usd
                self.budget.in_flight += job.n
            for job in [j for j in self.ledger.jobs if j.state == COLLECTED]:  # killed before its files were deleted
                await self._clean(job, await self._call(self.client.batches.retrieve, job.batch_id))
            await self._advance_all()
            fresh = requests.without(in_batches)
            await self._submit_stream(fresh, round_=1)
            await self._drain()
        finally:
            await self._close()

    async def abandon(self) -> None:
        """--abandon-batches: cancel every pending batch at the provider, collect what each already holds (paid),
        and record the rest as errors, which the online run that follows sends."""
        self._open()
        self.abandoning = True
        try:
            for job in self.ledger.active():
                if job.state == UPLOADED and (batch := await self._find_submitted(job)) is not None:
                    job.batch_id, job.status, job.state = batch.id, batch.status, SUBMITTED
                    self.ledger.save()
                if job.state in (WRITTEN, UPLOADED):  # never submitted: nothing was or will be billed
                    if job.input_file_id:
                        with contextlib.suppress(openai.NotFoundError):
                            await self._call(self.client.files.delete, job.input_file_id)
                    for path in self._paths(job).values():
                        path.unlink(missing_ok=True)
                    job.state = CLEANED
                    self.ledger.save()
                elif job.state == SUBMITTED:
                    try:
                        await self._call(self.client.batches.cancel, job.batch_id)
                    except UserError:
                        pass  # finished meanwhile (a finished batch cannot be cancelled): collected below
                    self.recorder.batch("abandoned")
            await self._drain()
        finally:
            await self._close()

    # -- API calls with retries ------------------------------------------------------------------------------------

    def _retrying(self) -> AsyncRetrying:
        policy = self.config.retry

        def wait(state: RetryCallState) -> float:
            asked = retry_after_s(state.outcome.exception())
            return min(asked, policy.max_retry_after_s) if asked is not None else self._backoff(state)

        def retry(exc: BaseException) -> bool:
            return is_retryable(exc) and not is_quota_error(exc)

        return AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts), wait=wait, retry=retry_if_exception(retry), reraise=True
        )

    async def _call(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """One Batch/Files API call with the run's retry policy (see `_one_line` for what ends the run)."""
        try:
            async for attempt in self._retrying():
                with attempt:
                    return await fn(*args, **kwargs)
        except openai.APIStatusError as exc:
            raise self._one_line(exc) from None

    def _one_line(self, exc: openai.APIStatusError) -> BaseException:
        """A failure that retries cannot cure ends the run in one line, its text redacted (a server may echo the
        Authorization header); a retryable one is given back as is after the last retry (polls look again later),
        and so are 404/422, whose meaning the caller knows."""
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return UserError(
                f"the server refused the request ({error_text(exc)})",
                fix="check OPENAI_API_KEY and --base-url; batches already submitted are in the ledger "
                "and are resumed by the rerun",
            )
        if is_quota_error(exc):
            return UserError(
                f"the account's quota is exhausted ({error_text(exc)})",
                fix="rerun the same command once the quota is raised: submitted batches are "
                "resumed, answers so far are kept",
            )
        if is_retryable(exc) or isinstance(exc, openai.NotFoundError | openai.UnprocessableEntityError):
            return exc
        return UserError(
            f"the Batch API refused a request ({error_text(exc)})",
            path=self.ledger.path,
            fix="check --model and the request size; batches already submitted are in the ledger and are "
            "resumed by the rerun",
        )

    async def _check_support(self) -> None:
        try:
            page = await self._call(self.client.batches.list, limit=1)
            _ = page.data
        except (openai.NotFoundError, openai.UnprocessableEntityError) as exc:
            raise UserError(
                f"this server has no Batch API ({error_text(exc)})",
                fix="run without --batch (vLLM, Ollama and llama.cpp serve only the online API)",
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise UserError(
                f"the server refused the request ({error_text(exc)})", fix="check OPENAI_API_KEY and --base-url"
            ) from None

    async def _submit_stream(self, requests: RequestStream, *, round_: int) -> None:
        """Cut the requests into shards within the line/byte limits and submit each one. A request that does not fit
        in the budget waits for the batches in flight (their cost settled, the prices learned), then starts the next
        wave; with nothing in flight, it and the rest are counted as not sent."""
        held: list[Request] = []
        while self._stopping is None:
            job, full = self._write_shard(requests, held, round_)
            if job is not None:
                await self._wait_for_queue_room(job)
                await self._advance(job)
            if not full:
                if job is None:  # the stream is done
                    return
                continue
            if not any(j.state == SUBMITTED for j in self.ledger.active()):
                self.recorder.stopped_by_budget()
                self.recorder.not_sent(len(held) + requests.remaining())
                return
            await self._collect_some()
        self.recorder.not_sent(len(held) + requests.remaining())

    def _write_shard(self, requests: RequestStream, held: list[Request], round_: int) -> tuple[Job | None, bool]:
        """(the shard written, or None; whether the budget had no room for the next request, held in `held`)."""
        c = self.config
        job = Job(shard=self.ledger.next_shard(), n=0, est_tokens=0, round=round_)
        paths = self._paths(job)
        tmp_in, tmp_meta = (paths["input"].with_suffix(".tmp"), paths["meta"].with_suffix(".tmp"))
        size = 0
        full = False
        with open(tmp_in, "wb") as fin, open(tmp_meta, "wb") as fmeta:
            while True:
                req = held.pop() if held else next((r for r in requests if r is not None), None)
                if req is None:
                    break
                reservation = self.budget.try_reserve(req.body)
                if reservation is None:
                    held.append(req)
                    full = True
                    break
                line = (
                    json.dumps(
                        {"custom_id": req.custom_id, "method": "POST", "url": ENDPOINT, "body": req.body},
                        ensure_ascii=False,
                        separators=(",", ":"),
                    )
                    + "\n"
                ).encode("utf-8")
                fin.write(line)
                fmeta.write(
                    (
                        json.dumps(
                            {
                                "custom_id": req.custom_id,
                                "key": req.key,
                                "cui": req.cui,
                                "names": req.names,
                                "est": req.est_prompt_tokens,
                            }
                        )
                        + "\n"
                    ).encode("utf-8")
                )
                size += len(line)
                job.n += 1
                job.est_tokens += req.est_prompt_tokens
                job.reserved_usd += reservation
                if job.n >= c.batch_max_lines or size >= c.batch_max_bytes - 64 * 1024:
                    break  # keep a margin under the byte limit for the next line
        if job.n == 0:
            tmp_in.unlink()
            tmp_meta.unlink()
            return None, full
        for tmp, final in ((tmp_in, paths["input"]), (tmp_meta, paths["meta"])):
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        self.ledger.jobs.append(job)
        self.ledger.save()
        self.recorder.sent(job.n)
        return job, full

    async def _wait_for_queue_room(self, job: Job) -> None:
        """Keep the enqueued input tokens under the organisation's batch queue limit, if one was given."""
        limit = self.config.batch_max_enqueued_tokens
        if not limit:
            return
        while self._stopping is None:
            queued = sum(j.est_tokens for j in self.ledger.active() if j.state == SUBMITTED and j is not job)
            if queued == 0 or queued + job.est_tokens <= limit:
                return
            await self._poll_once()

    # -- one job through its states --------------------------------------------------------------------------------

    async def _advance(self, job: Job) -> None:
        paths = self._paths(job)
        if job.state == WRITTEN:
            data = paths["input"].read_bytes()  # bytes, not a file object: a retry sends the whole file again
            uploaded = await self._call(
                self.client.files.create, purpose="batch", file=(paths["input"].name, data, "application/jsonl")
            )
            job.input_file_id = uploaded.id
            job.state = UPLOADED
            self.ledger.save()
        if job.state == UPLOADED:
            batch = await self._create_once(job)
            job.batch_id, job.status, job.state = batch.id, batch.status, SUBMITTED
            self.ledger.save()

    async def _create_once(self, job: Job) -> Any:
        """batches.create, retried; before every try, the batch a lost answer may have created is looked for
        (a crash after create and before the ledger write is the same case): a shard is never submitted twice."""
        try:
            async for attempt in self._retrying():
                with attempt:
                    batch = await self._find_submitted(job)
                    if batch is None:
                        batch = await self.client.batches.create(
                            input_file_id=job.input_file_id,
                            endpoint=ENDPOINT,
                            completion_window="24h",
                            metadata={"kgbuild_run": self.run_tag, "kgbuild_shard": job.shard},
                        )
                        self.recorder.batch("submitted")
                    return batch
        except openai.APIStatusError as exc:
            raise self._one_line(exc) from None

    async def _find_submitted(self, job: Job) -> Any | None:
        page = await self._call(self.client.batches.list, limit=100)
        async for batch in page:
            meta = batch.metadata or {}
            if meta.get("kgbuild_shard") == job.shard and batch.input_file_id == job.input_file_id:
                return batch
        return None

    async def _advance_all(self) -> None:
        for job in self.ledger.active():
            if job.state in (WRITTEN, UPLOADED):
                await self._advance(job)

    async def _poll_once(self) -> bool:
        """Look at every submitted batch once; collect the finished ones; sleep if none finished. True when one
        was collected."""
        finished = False
        for job in [j for j in self.ledger.active() if j.state == SUBMITTED]:
            if self._stopping is not None:
                return finished
            try:
                batch = await self._call(self.client.batches.retrieve, job.batch_id)
            except (openai.APIConnectionError, openai.APIStatusError, TimeoutError) as exc:
                self._poll_failed(exc)  # flaky for a while: look again at the next poll
                continue
            self._failing_since = None
            if batch.status != job.status:
                job.status = batch.status
                self.ledger.save()
            if batch.status in TERMINAL:
                await self._collect(job, batch)
                finished = True
        if not finished and self._stopping is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.config.batch_poll_s)
        return finished

    def _poll_failed(self, exc: BaseException) -> None:
        """A poll that failed after its retries: fine for a while, a stop (one line) once the failures have lasted
        `batch_poll_give_up_s`. The batches stay in the ledger, so the rerun collects them."""
        now = time.monotonic()
        self.recorder.batch("poll_failed")
        self._failing_since = self._failing_since or now
        if now - self._failing_since >= self.config.batch_poll_give_up_s:
            raise RunStopped(
                f"the server has not answered a batch poll for {now - self._failing_since:,.0f} s "
                f"(last: {error_text(exc)})",
                path=self.ledger.path,
                fix="check the server, then rerun the same command with --batch: the ledger resumes the batches, "
                "nothing is submitted again",
            )

    async def _drain(self) -> None:
        while self._stopping is None and any(j.state == SUBMITTED for j in self.ledger.active()):
            await self._poll_once()

    async def _collect_some(self) -> None:
        """Wait until at least one batch in flight is collected (room in the budget for the next wave)."""
        while self._stopping is None and any(j.state == SUBMITTED for j in self.ledger.active()):
            if await self._poll_once():
                return

    # -- results ---------------------------------------------------------------------------------------------------

    async def _download(self, file_id: str | None, path: Path) -> Path | None:
        if not file_id:
            return None
        tmp = path.with_suffix(".tmp")

        async def download() -> None:
            async with self.client.files.with_streaming_response.content(file_id) as resp:
                await resp.stream_to_file(tmp)

        try:
            await self._call(download)
        except (openai.APIConnectionError, openai.APIStatusError) as exc:
            raise UserError(
                f"the results of a finished batch could not be downloaded ({error_text(exc)})",
                path=self.ledger.path,
                fix="rerun the same command: the ledger resumes the batch, nothing is submitted again",
            ) from None
        os.replace(tmp, path)
        return path

    async def _collect(self, job: Job, batch: Any) -> None:
        self.in_flight += 1  # a stop waits for this download and its rows
        try:
            await self._collect_job(job, batch)
        finally:
            self.in_flight -= 1
        if self.recorder.judge_batch() is not None:  # a server that echoes or refuses: no further wave is paid
            self.stop(self.recorder.quality_stop)

    async def _collect_job(self, job: Job, batch: Any) -> None:
        paths = self._paths(job)
        meta: dict[str, dict[str, Any]] = {}
        with open(paths["meta"], encoding="utf-8") as fh:
            for line in fh:
                m = json.loads(line)
                meta[m["custom_id"]] = m
        bodies: dict[str, dict[str, Any]] = {}
        with open(paths["input"], encoding="utf-8") as fh:
            for line in fh:
                item = json.loads(line)
                bodies[item["custom_id"]] = item["body"]

        def request(cid: str) -> Request:
            m = meta[cid]
            return Request(key=m["key"], cui=m["cui"], names=m["names"], body=bodies[cid], est_prompt_tokens=m["est"])

        items = await self._results(batch, paths, meta)
        billed = _count_of(batch, "completed")
        if billed is not None and billed > sum(1 for i in items.values() if _line_ok(i)):
            # The provider counts more answered (billed) lines than the files hold: a download cut short. Those
            # answers are paid for, so they are fetched again, never bought again.
            items = await self._results(batch, paths, meta)
        retry: list[Request] = []
        will_retry = job.round < self.config.batch_max_rounds and not self.abandoning
        rec = self.recorder
        for cid, item in items.items():
            req = request(cid)
            row = self._row_from_line(req, item, batch.id)
            rec.attempted(http=1)
            if row["status"] != "error":  # an answer: billed
                self.budget.charge(row["prompt_tokens"], row["completion_tokens"], row["usage_estimated"], req.body)
            if row["status"] == "error" and will_retry and _line_retryable(item):
                retry.append(req)  # re-queued: a row only if the last round fails too
            else:
                rec.record(row)
        missing = meta.keys() - items.keys()
        lost = billed is not None and billed > sum(1 for i in items.values() if _line_ok(i))
        why = {
            "expired": "expired before it was processed",
            "failed": _batch_errors(batch),
            "cancelled": "the batch was cancelled",
        }.get(batch.status, "no result line for this request")
        if lost:
            why = "missing from the results although the provider counts it answered (billed): not sent again"
        for cid in missing:
            req = request(cid)
            # A failed batch (validation, queue limit) would fail the same way now, and a line the provider says it
            # answered was paid for: both recorded (the rerun decides), not resubmitted in this run.
            if batch.status in ("expired", "cancelled") and will_retry and not lost:
                retry.append(req)
            else:
                error = f"batch {batch.status}: {why}"[:500]
                rec.record(rec.row(req, answer=None, attempts=1, backend="batch", batch_id=batch.id, error=error))
        self.budget.release(job.reserved_usd, n=job.n)
        if not rec.flush():  # the rows are in a shard (or the journal) before the ledger says so
            self.stop(self.store.disk_full_reason)
            return
        job.state = COLLECTED
        self.ledger.save()
        await self._clean(job, batch)
        if retry:
            await self._submit_stream(RequestStream.of(retry), round_=job.round + 1)

    async def _results(self, batch: Any, paths: dict[str, Path], meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The result lines of a finished batch by custom_id (output file first, then the error file); lines that
        cannot be read count as missing. Invalid UTF-8 is replaced, not fatal: the answers were paid for."""
        items: dict[str, dict[str, Any]] = {}
        for file_id, path in ((batch.output_file_id, paths["output"]), (batch.error_file_id, paths["errors"])):
            if await self._download(file_id, path) is None:
                continue
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    try:
                        item = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    cid = item.get("custom_id") if isinstance(item, dict) else None
                    if cid in meta and cid not in items:
                        items[cid] = item
        return items

    def _row_from_line(self, req: Request, item: dict[str, Any], batch_id: str) -> dict[str, Any]:
        """A line succeeds only if error is null and response.status_code is 200 (real OpenAI puts 4xx lines in
        the error file with error: null and the error inside the body)."""
        response = item.get("response") or {}
        error = item.get("error")
        if error is None and response.get("status_code") == 200:
            prompt_chars = sum(len(m["content"]) for m in req.body["messages"])
            try:
                answer = answer_from_body(response.get("body") or {}, prompt_chars=prompt_chars)
            except MalformedResponse as exc:
                return self.recorder.row(
                    req, answer=None, attempts=1, backend="batch", batch_id=batch_id, error=str(exc)
                )
            return self.recorder.row(req, answer=answer, attempts=1, backend="batch", batch_id=batch_id)
        if error is None:
            body_error = (response.get("body") or {}).get("error") or {}
            error = {
                "code": body_error.get("code") or response.get("status_code"),
                "message": body_error.get("message"),
            }
        text = f"batch line: {error.get('code')}: {error.get('message')}" if isinstance(error, dict) else str(error)
        return self.recorder.row(req, answer=None, attempts=1, backend="batch", batch_id=batch_id, error=text[:500])

    async def _clean(self, job: Job, batch: Any) -> None:
        """Delete the uploaded and result files (they count against storage and hold licensed text)."""
        for file_id in (job.input_file_id, batch.output_file_id, batch.error_file_id):
            if file_id:
                try:
                    await self._call(self.client.files.delete, file_id)
                except openai.NotFoundError:
                    pass
                except (openai.APIConnectionError, openai.APIStatusError):
                    return  # still "collected" in the ledger: the next run deletes them
        for path in self._paths(job).values():
            path.unlink(missing_ok=True)
        job.state = CLEANED
        self.ledger.save()


def _line_ok(item: dict[str, Any]) -> bool:
    return item.get("error") is None and (item.get("response") or {}).get("status_code") == 200


def _line_retryable(item: dict[str, Any]) -> bool:
    """A failed line that a later round can cure (rate limits, server errors, expiry); 400s and the like cannot."""
    response = item.get("response") or {}
    status = response.get("status_code")
    error = item.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if code is None:
        body = response.get("body")
        body_error = body.get("error") if isinstance(body, dict) else None
        code = body_error.get("code") if isinstance(body_error, dict) else None
    if isinstance(status, int) and (status in RETRY_STATUS or status >= 500):
        return True
    if isinstance(code, str) and code.isdigit():
        return int(code) in RETRY_STATUS or int(code) >= 500
    return code in _RETRYABLE_LINE_CODES


def _count_of(batch: Any, field: str) -> int | None:
    """A number of the batch's request_counts, when the provider gives one."""
    counts = getattr(batch, "request_counts", None)
    value = getattr(counts, field, None)
    return value if isinstance(value, int) else None


def _batch_errors(batch: Any) -> str:
    errors = getattr(batch, "errors", None)
    data = getattr(errors, "data", None) or []
    if not data:
        return "the batch failed"
    return "; ".join(f"{e.code}: {e.message}" for e in data[:3])
