"""A small OpenAI-compatible server on 127.0.0.1 for tests and benchmarks: real HTTP, real sockets, no framework.

Routes: POST /v1/chat/completions; POST/GET/DELETE /v1/files[/{id}[/content]]; POST/GET /v1/batches[/{id}[/cancel]].
Faults are scripted by `plan(call) -> Action | None` (429 with Retry-After, 5xx, hangs past the client timeout,
malformed bodies, dropped connections) and, for batches, by `line_plan(custom_id) -> "ok" | "expire" | int status`.
It counts every request per prompt (`received`) and every answer it "billed" (`paid`), so a test can assert that no
prompt was lost or paid twice, and bills each answer in dollars (`billed_usd`) the way a provider does: also when
the client gave up before the answer came (a timeout), at its own token counts (`prompt_tokens="chars"` bills one
token per character), and past max_tokens if told to (`overlong`). It stops itself after `max_lifetime_s` or
`max_requests`.

In-process: `with FakeOpenAI(plan=...) as server: server.base_url`. As a process (benchmarks):
`python llm_fake_server.py --port 0` prints the port on its first line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_CONCEPT = re.compile(r'Concept: "([^"]*)"')
_FILLER = (
    "is a biomedical concept described here from the facts of a knowledge graph; this sentence is padding "
    "written by the fake server so that the definition has a realistic length of roughly fifty words, "
    "which is what the prompt asks for and what the output checks expect from a real model answer."
)


@dataclass
class Call:
    n: int  # 1-based index of this chat request on the server
    prompt: str  # sha256 of the messages: one per request key when model and parameters are fixed
    attempt: int  # 1-based: how many times this prompt has been received, this one included
    concept: str
    body: dict[str, Any]


@dataclass
class Action:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # the answer for a 200 (default: a ~50-word definition naming the concept)
    finish_reason: str = "stop"
    delay_s: float = 0.0  # sleep before answering (longer than the client timeout = a timeout)
    raw: bytes | None = None  # send these bytes as the 200 body instead of JSON (malformed body)
    drop: bool = False  # close the connection without answering
    # full | none (no usage field) | null (usage: null) | no_completion (no completion_tokens); lies (billed at the
    # truth all the same): zeros | tenth (a tenth of the truth) | fraction (the truth / 7, as floats)
    usage: str = "full"
    parts: bool = False  # content as a list of parts ([{"type": "text", "text": ...}]), as several servers answer
    trickle_s: float = 0.0  # send the answer one byte every trickle_s seconds (a per-read timeout never fires)
    error_code: str | None = None  # the error body's code (e.g. insufficient_quota)
    error_message: str | None = None  # the error body's message (default: "fake error <status>")


def prompt_hash(messages: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def default_text(concept: str) -> str:
    return f"{concept} {_FILLER}"


class FakeOpenAI:
    def __init__(
        self,
        *,
        plan: Callable[[Call], Action | None] | None = None,
        line_plan: Callable[[str], Any] | None = None,
        polls_to_finish: int = 1,
        max_batch_lines: int = 50_000,
        shuffle_output: bool = True,
        error_shape: str = "openai",
        on_answer: Callable[[int], None] | None = None,
        on_batch_create: Callable[[int], None] | None = None,
        batch_api: bool = True,
        rpm: int | None = None,
        max_lifetime_s: float = 300.0,
        max_requests: int = 5_000_000,
        port: int = 0,
        record: bool = True,
        prompt_tokens: str = "quarter",
        overlong: float = 1.0,
        price_in: float = 0.15,
        price_out: float = 0.60,
        http_fault: Callable[[str, str], Any] | None = None,
    ):
        self.plan = plan
        self.line_plan = line_plan
        self.polls_to_finish = polls_to_finish
        self.max_batch_lines = max_batch_lines
        self.shuffle_output = shuffle_output
        self.error_shape = error_shape
        self.on_answer = on_answer
        self.on_batch_create = on_batch_create
        self.batch_api = batch_api
        self.rpm = rpm
        self.max_lifetime_s = max_lifetime_s
        self.max_requests = max_requests
        self.port = port
        self.record = record
        self.prompt_tokens = prompt_tokens  # "quarter": len // 4 (about what tokenizers do); "chars": 1 per character
        self.overlong = overlong  # bill completions at max(real, overlong * max_tokens) tokens
        self.price_in, self.price_out = price_in, price_out  # USD per 1M tokens, as kgbuild/llm/prices.toml
        self.billed_usd = 0.0
        # Faults on the Files/Batches routes: http_fault(method, path) -> None, a status (answered instead of the
        # call), ("after", status) (the call is carried out, then that status is answered: a lost answer),
        # ("truncate", n) (only the first n lines of the body are sent), ("delay", s) (answered s seconds later),
        # or {"status", "message"} (an error whose
        # message may hold "{authorization}": a server that echoes the request's credentials).
        self.http_fault = http_fault
        self.authorizations: list[str] = []  # Authorization headers received, for the secret tests
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()  # prompt hash -> chat requests received
        self.paid: Counter[str] = Counter()  # prompt hash -> answers billed (200 with usage; batch ok lines)
        self.statuses: Counter[int] = Counter()
        self.n_chat = 0
        self.n_http = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self.request_times: list[float] = []
        self.bodies: list[str] = []  # every chat request body, as received (when record=True)
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.deleted_files: list[str] = []
        self.batches_created = 0
        self._ids = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=lambda: asyncio.run(self.serve()), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving (idempotent: a test may kill the server mid-run, and the fixture stops it again)."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # closed between the check and the call
                pass
        if self._thread is not None:
            self._thread.join(10)

    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self.max_lifetime_s)
        except TimeoutError:
            pass  # self-stopping: a forgotten server never outlives its test by much
        server.close()

    # -- HTTP ------------------------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding", "").lower() == "chunked":
                    body = await _read_chunked(reader)
                else:
                    body = b""
                self.n_http += 1
                if self.n_http > self.max_requests:
                    self._stop.set()
                    return
                if "authorization" in headers:
                    self.authorizations.append(headers["authorization"])
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
                try:
                    result = await self._route(method, target.split("?")[0], target, headers, body)
                finally:
                    self._in_flight -= 1
                if result is None:  # drop the connection without an answer
                    return
                status, extra, payload, *trickle = result
                head = [
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                    f"content-length: {len(payload)}",
                    "connection: keep-alive",
                ]
                if "content-type" not in extra:
                    head.append("content-type: application/json")
                head += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
                if trickle and trickle[0] > 0:  # one byte at a time: every read succeeds, the answer never ends
                    deadline = time.monotonic() + 60
                    for i in range(len(payload)):
                        writer.write(payload[i : i + 1])
                        await writer.drain()
                        await asyncio.sleep(trickle[0])
                        if time.monotonic() > deadline:
                            return
                else:
                    writer.write(payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    async def _route(self, method: str, path: str, target: str, headers: dict[str, str], body: bytes):
        if method == "POST" and path == "/v1/chat/completions":
            return await self._chat(json.loads(body), headers)
        if path == "/stats":  # for benchmarks that run the server in another process
            return _json(
                200, {"chat_requests": self.n_chat, "paid": sum(self.paid.values()), "billed_usd": self.billed_usd}
            )
        if not self.batch_api:
            return _json(404, {"error": {"message": f"Not Found: {path}", "type": "invalid_request_error"}})
        fault = self.http_fault(method, path) if self.http_fault else None
        if isinstance(fault, int):
            return _json(fault, {"error": {"message": f"fake error {fault}", "type": "server_error"}})
        if isinstance(fault, dict):  # {"status": 400, "message": "... {authorization} ..."}: a server that echoes
            message = fault["message"].replace("{authorization}", headers.get("authorization", ""))
            return _json(fault["status"], {"error": {"message": message, "type": "invalid_request_error"}})
        if isinstance(fault, tuple) and fault[0] == "delay":  # a slow answer (a large download under way)
            await asyncio.sleep(fault[1])
            fault = None
        result = self._files_and_batches(method, path, body, headers)
        if isinstance(fault, tuple) and fault[0] == "truncate":  # the body cut after n lines (a download cut short)
            status, extra, payload = result
            return status, extra, b"".join(payload.splitlines(keepends=True)[: fault[1]])
        if fault is not None:
            return _json(fault[1], {"error": {"message": f"fake error {fault[1]}", "type": "server_error"}})
        return result

    def _files_and_batches(self, method: str, path: str, body: bytes, headers: dict[str, str]):
        if method == "POST" and path == "/v1/files":
            return self._upload(headers, body)
        if m := re.fullmatch(r"/v1/files/([\w-]+)(/content)?", path):
            fid, content = m.group(1), m.group(2)
            if fid not in self.files:
                return _json(404, {"error": {"message": f"No such file: {fid}", "type": "invalid_request_error"}})
            if method == "DELETE":
                del self.files[fid]
                self.deleted_files.append(fid)
                return _json(200, {"id": fid, "object": "file", "deleted": True})
            if content:
                return 200, {"content-type": "application/octet-stream"}, self.files[fid]["data"]
            return _json(200, self._file_object(fid))
        if method == "POST" and path == "/v1/batches":
            return self._create_batch(json.loads(body))
        if method == "GET" and path == "/v1/batches":
            newest_first = sorted(self.batches.values(), key=lambda b: b["created_at"], reverse=True)
            return _json(
                200,
                {
                    "object": "list",
                    "data": newest_first,
                    "has_more": False,
                    "first_id": newest_first[0]["id"] if newest_first else None,
                    "last_id": newest_first[-1]["id"] if newest_first else None,
                },
            )
        if m := re.fullmatch(r"/v1/batches/([\w-]+)(/cancel)?", path):
            batch = self.batches.get(m.group(1))
            if batch is None:
                return _json(404, {"error": {"message": "No such batch", "type": "invalid_request_error"}})
            if m.group(2):
                batch["status"] = "cancelled"
                return _json(200, batch)
            return _json(200, self._poll_batch(batch))
        return _json(404, {"error": {"message": f"Not Found: {method} {path}", "type": "invalid_request_error"}})

    # -- chat ------------------------------------------------------------------------------------------------------

    async def _chat(self, body: dict[str, Any], headers: dict[str, str] | None = None):
        messages = body.get("messages", [])
        key = prompt_hash(messages)
        with self.lock:
            self.n_chat += 1
            self.received[key] += 1
            call = Call(n=self.n_chat, prompt=key, attempt=self.received[key], concept=_concept(messages), body=body)
            if self.record:
                self.request_times.append(time.monotonic())
                self.bodies.append(json.dumps(body))
        action = (self.plan(call) if self.plan else None) or Action()
        if self.rpm is not None and action.status == 200 and self._over_rpm():
            action = Action(status=429, headers={"retry-after": "1"})
        if action.delay_s:
            await asyncio.sleep(action.delay_s)
        if action.drop:
            return None
        self.statuses[action.status] += 1
        if action.status != 200:
            message = action.error_message or f"fake error {action.status}"
            if "{authorization}" in message:  # a server that echoes the request's credentials
                message = message.replace("{authorization}", (headers or {}).get("authorization", ""))
            return _json(
                action.status,
                {
                    "error": {
                        "message": message,
                        "type": action.error_code or "server_error",
                        "code": action.error_code,
                    }
                },
                action.headers,
            )
        completion = self._completion(call.concept, messages, body, action.text, action.finish_reason, call.n)
        self._bill(key, completion["usage"])  # billed when the model answered, whether or not the client hears it
        if action.raw is not None:
            return 200, {"content-type": "application/json", **action.headers}, action.raw
        if action.usage == "none":
            del completion["usage"]
        elif action.usage == "null":
            completion["usage"] = None
        elif action.usage == "no_completion":
            del completion["usage"]["completion_tokens"]
        elif action.usage in ("zeros", "tenth", "fraction"):
            u = completion["usage"]
            lie = {"zeros": lambda n: 0, "tenth": lambda n: n // 10, "fraction": lambda n: n / 7}[action.usage]
            completion["usage"] = {k: lie(v) for k, v in u.items()}
        if action.parts:
            message = completion["choices"][0]["message"]
            text = message["content"]
            message["content"] = [{"type": "text", "text": text[:10]}, {"type": "text", "text": text[10:]}]
        if self.on_answer is not None:
            self.on_answer(sum(self.paid.values()))
        status, extra, payload = _json(200, completion, action.headers)
        return status, extra, payload, action.trickle_s

    def _bill(self, key: str, usage: dict[str, int], *, factor: float = 1.0) -> None:
        with self.lock:
            self.paid[key] += 1
            cost = (usage["prompt_tokens"] * self.price_in + usage["completion_tokens"] * self.price_out) / 1e6
            self.billed_usd += cost * factor

    def _over_rpm(self) -> bool:
        now = time.monotonic()
        recent = [t for t in self.request_times[-(self.rpm + 1) :] if now - t < 60.0]
        return len(recent) > self.rpm

    def _completion(self, concept: str, messages, body, text, finish_reason, n) -> dict[str, Any]:
        text = default_text(concept) if text is None else text
        chars = sum(len(m.get("content", "")) for m in messages)
        prompt_tokens = chars if self.prompt_tokens == "chars" else chars // 4
        completion_tokens = max(1, int(len(text.split()) * 1.3))
        if self.overlong > 1.0:
            completion_tokens = max(completion_tokens, int(self.overlong * body.get("max_tokens", 160)))
        return {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish_reason,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    # -- files and batches -----------------------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids:06d}"

    def _file_object(self, fid: str) -> dict[str, Any]:
        f = self.files[fid]
        return {
            "id": fid,
            "object": "file",
            "bytes": len(f["data"]),
            "created_at": f["created_at"],
            "filename": f["filename"],
            "purpose": f["purpose"],
            "status": "processed",
        }

    def _upload(self, headers: dict[str, str], body: bytes):
        fields = _multipart(headers.get("content-type", ""), body)
        if "file" not in fields:
            return _json(400, {"error": {"message": "missing file", "type": "invalid_request_error"}})
        filename, data = fields["file"]
        fid = self._new_id("file")
        purpose = fields.get("purpose", (None, b""))[1].decode()
        self.files[fid] = {"data": data, "filename": filename, "purpose": purpose, "created_at": int(time.time())}
        return _json(200, self._file_object(fid))

    def _add_file(self, data: bytes, name: str) -> str:
        fid = self._new_id("file")
        self.files[fid] = {"data": data, "filename": name, "purpose": "batch_output", "created_at": int(time.time())}
        return fid

    def _create_batch(self, body: dict[str, Any]):
        if body.get("input_file_id") not in self.files:
            return _json(400, {"error": {"message": "unknown input_file_id", "type": "invalid_request_error"}})
        self.batches_created += 1
        bid = self._new_id("batch")
        lines = self.files[body["input_file_id"]]["data"].count(b"\n")
        batch = {
            "id": bid,
            "object": "batch",
            "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"],
            "status": "validating",
            "created_at": int(time.time()) * 1000 + self._ids,
            "metadata": body.get("metadata"),
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "request_counts": {"total": lines, "completed": 0, "failed": 0},
            "_polls": 0,
        }
        self.batches[bid] = batch
        if self.on_batch_create is not None:
            self.on_batch_create(self.batches_created)  # e.g. kill the client before it hears the answer
        return _json(200, _public(batch))

    def _poll_batch(self, batch: dict[str, Any]) -> dict[str, Any]:
        if batch["status"] in ("completed", "expired", "failed", "cancelled"):
            return _public(batch)
        batch["_polls"] += 1
        if batch["_polls"] < self.polls_to_finish:
            batch["status"] = "in_progress"
            return _public(batch)
        data = self.files[batch["input_file_id"]]["data"]
        items = [json.loads(line) for line in data.splitlines() if line.strip()]
        if len(items) > self.max_batch_lines:
            batch["status"] = "failed"
            batch["errors"] = {
                "object": "list",
                "data": [
                    {
                        "code": "too_many_lines",
                        "line": None,
                        "param": None,
                        "message": f"{len(items)} lines > {self.max_batch_lines}",
                    }
                ],
            }
            return _public(batch)
        out, err, expired = [], [], False
        for item in items:
            cid, body = item["custom_id"], item["body"]
            verdict = self.line_plan(cid) if self.line_plan else "ok"
            rid = self._new_id("batch_req")
            if verdict == "ok":
                messages = body["messages"]
                comp = self._completion(_concept(messages), messages, body, None, "stop", self._ids)
                self._bill(prompt_hash(messages), comp["usage"], factor=0.5)  # the Batch API's discount
                out.append(
                    {
                        "id": rid,
                        "custom_id": cid,
                        "error": None,
                        "response": {"status_code": 200, "request_id": rid, "body": comp},
                    }
                )
            elif verdict == "expire":
                expired = True
                if self.error_shape == "llmock":
                    err.append(
                        {
                            "id": rid,
                            "custom_id": cid,
                            "response": None,
                            "error": {
                                "code": "batch_expired",
                                "message": "This request could not be executed before the completion window expired.",
                            },
                        }
                    )
            else:  # an HTTP status for this line, in the shape real OpenAI uses (error null, error in the body)
                line = {
                    "id": rid,
                    "custom_id": cid,
                    "error": None,
                    "response": {
                        "status_code": int(verdict),
                        "request_id": rid,
                        "body": {
                            "error": {
                                "message": "fake line error",
                                "type": "invalid_request_error",
                                "param": "messages",
                                "code": "context_length_exceeded",
                            }
                        },
                    },
                }
                if self.error_shape == "llmock":
                    line = {
                        "id": rid,
                        "custom_id": cid,
                        "response": None,
                        "error": {"code": str(verdict), "message": "fake line error"},
                    }
                err.append(line)
        if self.shuffle_output:
            random.Random(7).shuffle(out)
            random.Random(8).shuffle(err)
        if out:
            batch["output_file_id"] = self._add_file(_jsonl(out), f"{batch['id']}_output.jsonl")
        if err:
            batch["error_file_id"] = self._add_file(_jsonl(err), f"{batch['id']}_error.jsonl")
        batch["request_counts"] = {"total": len(items), "completed": len(out), "failed": len(err)}
        batch["status"] = "expired" if expired else "completed"
        return _public(batch)


def _concept(messages: list[dict[str, Any]]) -> str:
    for m in messages:
        if found := _CONCEPT.search(m.get("content", "")):
            return found.group(1)
    return "The concept"


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def _jsonl(items: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(i).encode() + b"\n" for i in items)


def _json(status: int, obj: Any, headers: dict[str, str] | None = None):
    return status, dict(headers or {}), json.dumps(obj).encode()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readline()
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readline()


def _multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        return {}
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(b"--" + m.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        disposition = head.decode("latin-1")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            content = data[:-2] if data.endswith(b"\r\n") else data
            fields[name.group(1)] = (filename.group(1) if filename else None, content)
    return fields


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def main() -> None:
    """Serve until killed (or max lifetime): `python llm_fake_server.py --port 0 [--lifetime S]`."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=3600.0)
    args = parser.parse_args()
    server = FakeOpenAI(port=args.port, max_lifetime_s=args.lifetime, record=False)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server._ready.is_set():
            await asyncio.sleep(0.01)
        print(server.port, flush=True)
        await task

    try:
        import uvloop  # optional: a faster loop keeps the server out of the client's way in benchmarks

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())
    sys.exit(0)


if __name__ == "__main__":
    main()
