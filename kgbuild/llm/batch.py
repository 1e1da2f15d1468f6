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
run. Requests re-queued in the same run (expired, failed lines) get a row only if they are not answered in the end.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from kgbuild.atomic import atomic_write_bytes
from kgbuild.errors import UserError
from kgbuild.llm.budget import Budget
from kgbuild.llm.client import (
    MalformedResponse,
    answer_from_body,
    error_text,
    is_quota_error,
    is_retryable,
    make_client,
    retry_after_s,
)
from kgbuild.llm.config import Request
from kgbuild.llm.recorder import Recorder

ENDPOINT = "/v1/chat/completions"
TERMINAL = ("completed", "expired", "failed", "cancelled")
# Ledger states, in order. Each is saved before the step that follows it is attempted.
WRITTEN, UPLOADED, SUBMITTED, COLLECTED, CLEANED = "written", "uploaded", "submitted", "collected", "cleaned"


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

    async def run(self, requests: Iterator[Request]) -> None:
        c = self.config
        self.budget = Budget(c.budget_usd, self.recorder.price, batch=True, max_tokens=c.max_tokens)
        self.client = make_client(base_url=c.base_url, timeout_s=max(c.timeout_s, 300.0), max_connections=8)
        self._backoff = wait_random_exponential(multiplier=c.retry.backoff_base_s, max=c.retry.backoff_max_s)
        try:
            await self._check_support()
            in_batches = self._active_ids()  # requests of unfinished batches: resumed, never resubmitted
            for job in self.ledger.active():
                self.summary.batches_resumed += 1
                self.budget.reserved += job.reserved_usd
                self.budget.in_flight += job.n
            for job in [j for j in self.ledger.jobs if j.state == COLLECTED]:  # killed before its files were deleted
                await self._clean(job, await self._call(self.client.batches.retrieve, job.batch_id))
            await self._advance_all()
            fresh = (r for r in requests if r is not None and r.custom_id not in in_batches)
            await self._submit_stream(fresh, round_=1)
            await self._drain()
        finally:
            s = self.summary
            s.spent_usd += self.budget.spent
            s.unknown_cost_attempts += self.budget.unknown_cost_attempts
            await self.client.close()

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
        """One Batch/Files API call with the run's retry policy; a refused key or quota ends the run in one line."""
        try:
            async for attempt in self._retrying():
                with attempt:
                    return await fn(*args, **kwargs)
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise UserError(
                f"the server refused the request ({error_text(exc)})",
                fix="check OPENAI_API_KEY and --base-url; batches already submitted are in the ledger "
                "and are resumed by the rerun",
            ) from None
        except openai.RateLimitError as exc:
            if is_quota_error(exc):
                raise UserError(
                    f"the account's quota is exhausted ({error_text(exc)})",
                    fix="rerun the same command once the quota is raised: submitted batches are "
                    "resumed, answers so far are kept",
                ) from None
            raise

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

    async def _submit_stream(self, requests: Iterator[Request], *, round_: int) -> None:
        """Cut the requests into shards within the line/byte limits and submit each one."""
        while True:
            job = self._write_shard(requests, round_)
            if job is None:
                return
            await self._wait_for_queue_room(job)
            await self._advance(job)

    def _write_shard(self, requests: Iterator[Request], round_: int) -> Job | None:
        c = self.config
        job = Job(shard=self.ledger.next_shard(), n=0, est_tokens=0, round=round_)
        paths = self._paths(job)
        tmp_in, tmp_meta = (paths["input"].with_suffix(".tmp"), paths["meta"].with_suffix(".tmp"))
        size = 0
        with open(tmp_in, "wb") as fin, open(tmp_meta, "wb") as fmeta:
            for req in requests:
                line = (
                    json.dumps(
                        {"custom_id": req.custom_id, "method": "POST", "url": ENDPOINT, "body": req.body},
                        ensure_ascii=False,
                        separators=(",", ":"),
                    )
                    + "\n"
                ).encode("utf-8")
                reservation = self.budget.try_reserve(req.body)
                if reservation is None:
                    self.summary.stopped_by_budget = True
                    self.summary.not_sent += 1 + sum(1 for r in requests if r is not None)
                    break
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
            return None
        for tmp, final in ((tmp_in, paths["input"]), (tmp_meta, paths["meta"])):
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        self.ledger.jobs.append(job)
        self.ledger.save()
        self.summary.sent += job.n
        return job

    async def _wait_for_queue_room(self, job: Job) -> None:
        """Keep the enqueued input tokens under the organisation's batch queue limit, if one was given."""
        limit = self.config.batch_max_enqueued_tokens
        if not limit:
            return
        while True:
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
                    self.summary.batches_submitted += 1
                return batch

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

    async def _poll_once(self) -> None:
        """Look at every submitted batch once; collect the finished ones; sleep if none finished."""
        finished = False
        for job in [j for j in self.ledger.active() if j.state == SUBMITTED]:
            try:
                batch = await self._call(self.client.batches.retrieve, job.batch_id)
            except (openai.APIConnectionError, openai.APIStatusError, TimeoutError) as exc:
                if not is_retryable(exc):
                    raise
                self.summary.poll_failures += 1  # flaky for a while: look again at the next poll
                continue
            if batch.status != job.status:
                job.status = batch.status
                self.ledger.save()
            if batch.status in TERMINAL:
                await self._collect(job, batch)
                finished = True
        if not finished:
            await asyncio.sleep(self.config.batch_poll_s)

    async def _drain(self) -> None:
        while any(j.state == SUBMITTED for j in self.ledger.active()):
            await self._poll_once()

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
        paths = self._paths(job)
        outputs = [
            await self._download(batch.output_file_id, paths["output"]),
            await self._download(batch.error_file_id, paths["errors"]),
        ]
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

        seen: set[str] = set()
        retry: list[Request] = []
        will_retry = job.round < self.config.batch_max_rounds
        rec, s = self.recorder, self.summary
        for path in outputs:
            if path is None:
                continue
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # an unreadable line: its request counts as missing below
                    cid = item.get("custom_id")
                    if cid not in meta or cid in seen:
                        continue
                    seen.add(cid)
                    req = request(cid)
                    row = self._row_from_line(req, item, batch.id)
                    s.http_attempts += 1
                    if row["status"] != "error":  # an answer: billed
                        self.budget.charge(
                            row["prompt_tokens"], row["completion_tokens"], row["usage_estimated"], req.body
                        )
                    if row["status"] == "error" and will_retry:
                        retry.append(req)  # re-queued: a row only if the last round fails too
                    else:
                        rec.record(row)
        why = {
            "expired": "expired before it was processed",
            "failed": _batch_errors(batch),
            "cancelled": "the batch was cancelled",
        }.get(batch.status, "no result line for this request")
        for cid in meta.keys() - seen:
            req = request(cid)
            # A failed batch (validation, queue limit) would fail the same way now: recorded, re-sent by a rerun.
            if batch.status != "failed" and will_retry:
                retry.append(req)
            else:
                rec.record(
                    rec.row(
                        req,
                        answer=None,
                        attempts=1,
                        backend="batch",
                        batch_id=batch.id,
                        error=f"batch {batch.status}: {why}"[:500],
                    )
                )
        self.budget.release(job.reserved_usd, n=job.n)
        self.store.flush()  # the rows are in a shard before the ledger says so
        job.state = COLLECTED
        self.ledger.save()
        await self._clean(job, batch)
        if retry and job.round < self.config.batch_max_rounds:
            await self._submit_stream(iter(retry), round_=job.round + 1)

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


def _batch_errors(batch: Any) -> str:
    errors = getattr(batch, "errors", None)
    data = getattr(errors, "data", None) or []
    if not data:
        return "the batch failed"
    return "; ".join(f"{e.code}: {e.message}" for e in data[:3])
