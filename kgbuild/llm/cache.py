"""The request cache: append-only Parquet shards plus a write-ahead journal, so paid work is never lost or repeated.

Every answered request becomes one row keyed by `request_key` (sha256 of model, messages, parameters and template
version). A row is first appended to a journal (one JSON line, written straight to the OS, so it survives kill -9)
and later, in batches, written as an immutable Parquet shard (temporary name, fsync, rename). A run that starts
turns any journal left by a killed run into a shard, then reads the keys of all shards and sends only what is
missing. At the end, shards holding superseded rows (an `error` row later answered, say) are rewritten so that the
shards read as one table with one row per key.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kgbuild.core.contracts import arrow_schema, valid_values
from kgbuild.core.engine import connect
from kgbuild.core.errors import UserError
from kgbuild.llm.config import MIN_FREE_BYTES

TABLE = "llm_definitions"

SCHEMA = arrow_schema(TABLE)

OK = "ok"
ERROR = "error"  # no usable answer (retries exhausted or refused by the server): always re-sent by the next run
# The statuses a row may have are the table's contract's; besides ok and error, each names the output check an answer
# failed (kgbuild/llm/checks.py): paid for, kept, and re-sent only with --retry-failed.
STATUSES = tuple(valid_values(TABLE, "status"))
CHECK_FAILURES = tuple(s for s in STATUSES if s not in (OK, ERROR))

# A write that fails with one of these means the disk (or the quota) is full: the run stops sending and keeps what
# it holds in memory until it can write it.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

# When one key has several rows (a failed row, then a later answer), the best one wins: ok > check failure > error.
_RANK_SQL = f"CASE status WHEN '{OK}' THEN 2 WHEN '{ERROR}' THEN 0 ELSE 1 END"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_key(model: str, messages: list[dict[str, str]], params: dict[str, Any], template_version: str) -> str:
    """sha256 over everything that changes the answer; the cui is a column, not part of the key."""
    payload = canonical_json({"model": model, "messages": messages, "params": params, "template": template_version})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def short_key(key: str) -> bytes:
    """128 bits of the key: what the in-memory skip set holds (half the memory of the hex string, no collisions)."""
    return bytes.fromhex(key[:32])


def is_ours(out: Path) -> bool:
    """True when `out` is a DEFS folder of generate-definitions (what it writes first is the lock file)."""
    out = Path(out)
    return any((out / name).exists() for name in (".lock", TABLE, "journal", "batches"))


class DefinitionStore:
    """The shards of one DEFS_DIR. Use as a context manager: it holds an exclusive lock on the folder."""

    def __init__(
        self,
        out: Path,
        *,
        flush_rows: int = 5000,
        flush_seconds: float = 20.0,
        compact_below_rows: int = 50_000,
        min_free_bytes: int = MIN_FREE_BYTES,
    ):
        self.out = Path(out)
        self.shards = self.out / TABLE
        self.journals = self.out / "journal"
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.compact_below_rows = compact_below_rows
        self._buffer: list[dict[str, Any]] = []
        self._journal_fh = None
        self._journal_path: Path | None = None
        self._seq = 0
        self._run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self._last_flush = time.monotonic()
        self._lock_fh = None
        self.recovered_rows = 0
        self.min_free_bytes = min_free_bytes
        self.disk_full: str | None = None  # what failed to write, while the disk is full
        self.filled: str | None = None  # the first write that found the disk full (kept after space is freed)
        self.held = 0  # rows only in memory (their journal line could not be written)

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def __enter__(self) -> DefinitionStore:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(compact=exc[0] is None)

    def open(self) -> None:
        # The lock comes before anything else is created: two runs started together on a new folder never both
        # write, and the one that loses touches nothing (it never deletes: the other may already have paid).
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"cannot create the output folder ({exc.strerror})",
                path=self.out,
                fix="choose an --out in a folder you can write to",
            ) from None
        self._lock_fh = open(self.out / ".lock", "a+")  # noqa: SIM115 — held for the whole run
        try:
            # flock is released by the kernel when the holder dies, so a kill -9 never leaves a stale lock.
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            self._lock_fh = None
            raise UserError(
                "another generate-definitions run is writing to this folder",
                path=self.out,
                fix="wait for it to finish, or choose another --out",
            ) from None
        self.shards.mkdir(exist_ok=True)
        self.journals.mkdir(exist_ok=True)
        for stale in self.shards.glob(".*.tmp"):  # a shard half-written by a killed run: never renamed, never read
            stale.unlink()
        self._upgrade_shards()
        self._recover_journals()
        self._open_journal()

    def close(self, *, compact: bool = True) -> None:
        try:
            self.flush()
            if self._buffer:  # the disk is full: the journal keeps what it holds for the next run
                return
            if self._journal_fh is not None:
                self._journal_fh.close()
                self._journal_fh = None
                if self._journal_path is not None and self._journal_path.exists():
                    self._journal_path.unlink()
            if compact:
                self.compact()
                if not self.files():
                    self._write_shard([])  # an empty table still reads (and checks) as a table
        finally:
            if self._lock_fh is not None:
                fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
                self._lock_fh.close()
                self._lock_fh = None

    # -- writing ---------------------------------------------------------------------------------------------------

    @property
    def disk_full_reason(self) -> str | None:
        if self.disk_full is None:
            return None
        return f"disk full at {self.disk_full}: no new requests are sent; the answers received are kept"

    def add(self, row: dict[str, Any]) -> None:
        """Record one finished request: journal line now (survives kill -9), Parquet shard at the next flush.
        With the disk full, the row is held in memory (`held`) until a flush can write it."""
        row = {k: _safe(v) for k, v in row.items()}
        line = json.dumps(row, default=_json_default, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._buffer.append(row)
        if self.disk_full is None and self._journal_fh is not None:
            try:
                self._append_journal(line.encode("utf-8"))
            except OSError as exc:
                if exc.errno not in _FULL:
                    raise
                self._full(self._journal_path)
        if self.disk_full is not None:
            self.held += 1
            return
        if len(self._buffer) >= self.flush_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def _append_journal(self, data: bytes) -> None:
        """One whole line or none: a failed write is cut back, so a full disk leaves no torn line behind."""
        start = self._journal_fh.tell()
        try:
            view = memoryview(data)
            while view:  # unbuffered: in the OS page cache when this returns; a short write is continued
                view = view[self._journal_fh.write(view) :]
        except OSError:
            self._journal_fh.truncate(start)
            self._journal_fh.seek(start)
            raise

    def flush(self) -> bool:
        """Write the buffered rows as a shard; False (rows kept in memory and journal) while the disk is full."""
        self._last_flush = time.monotonic()
        if not self._buffer:
            return True
        free = shutil.disk_usage(self.shards).free
        try:
            # The floor stops new work before a write fails half-way; answers already held are written whenever
            # they fit.
            if free < self.min_free_bytes and self.disk_full is None:
                raise OSError(errno.ENOSPC, f"only {free:,} bytes free, under the {self.min_free_bytes:,} kept free")
            self._write_shard(self._buffer)
        except OSError as exc:
            if exc.errno not in _FULL:
                raise
            self._full(self.shards)
            return False
        self._buffer, self.held, self.disk_full = [], 0, None
        done_journal = self._journal_path
        if self._journal_fh is not None:
            self._journal_fh.close()
        # A kill between the shard's rename and this unlink leaves the same rows twice; readers keep one.
        if done_journal is not None:
            done_journal.unlink(missing_ok=True)
        self._open_journal()  # the rows that come next go to a fresh journal
        return True

    def _open_journal(self) -> None:
        self._seq += 1
        self._journal_path = self.journals / f"{self._run_id}-{self._seq:06d}.jsonl"
        try:
            self._journal_fh = open(self._journal_path, "ab", buffering=0)  # noqa: SIM115
        except OSError as exc:
            if exc.errno not in _FULL:
                raise
            self._journal_fh, self._journal_path = None, None
            self._full(self.journals)

    def _full(self, path: Path | None) -> None:
        self.disk_full = str(path)
        self.filled = self.filled or self.disk_full

    def _write_shard(self, rows: list[dict[str, Any]]) -> Path:
        table = pa.Table.from_pylist([_normalise(r) for r in rows], schema=SCHEMA)
        return self._write_table(table)

    def _write_table(self, table: pa.Table) -> Path:
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:6]}.parquet"
        tmp = self.shards / f".{name}.tmp"
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)  # half a shard is never left to fill the disk further
            raise
        os.replace(tmp, self.shards / name)
        return self.shards / name

    def _upgrade_shards(self) -> None:
        """Shards of an earlier version lack newer columns: rewrite them with the columns' defaults, so that all
        shards read as one table (answers already paid for stay usable)."""
        for f in self.files():
            schema = pq.read_schema(f)
            if schema.names == SCHEMA.names:
                continue
            table = pq.read_table(f)
            rows = [_normalise(r) for r in table.to_pylist()]
            self._write_table(pa.Table.from_pylist(rows, schema=SCHEMA))
            os.unlink(f)

    def _recover_journals(self) -> None:
        for path in sorted(self.journals.glob("*.jsonl")):
            rows = []
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # the torn last line of a killed writer: that request was in flight
            if rows:
                self._write_shard(rows)
                self.recovered_rows += len(rows)
            path.unlink()

    # -- reading ---------------------------------------------------------------------------------------------------

    def files(self) -> list[str]:
        return sorted(glob.glob(str(self.shards / "*.parquet")))

    def skip_keys(self, *, retry_failed: bool) -> set[bytes]:
        """Keys not to send again: answered ok, and (unless retry_failed) answered but failing an output check."""
        files = self.files()
        if not files:
            return set()
        keep = "best >= 1" if not retry_failed else "best = 2"
        con = _duckdb()
        best = f"SELECT key, max({_RANK_SQL}) AS best FROM read_parquet($files) GROUP BY key"
        reader = con.sql(f"SELECT key FROM ({best}) WHERE {keep}", params={"files": files}).to_arrow_reader(100_000)
        skip: set[bytes] = set()
        for batch in reader:
            skip.update(short_key(k) for k in batch.column(0).to_pylist())
        return skip

    def models(self) -> list[dict[str, Any]]:
        """Rows per (model, prompt version): the model an answer came from is part of its identity."""
        files = self.files()
        if not files:
            return []
        query = (
            "SELECT model, prompt_version, count(*) AS rows, count(*) FILTER (status = 'ok') AS ok "
            "FROM read_parquet($files) GROUP BY ALL ORDER BY rows DESC, model"
        )
        result = _duckdb().execute(query, {"files": files})
        names = [d[0] for d in result.description]
        return [dict(zip(names, r, strict=True)) for r in result.fetchall()]

    def counts(self) -> dict[str, int]:
        """Rows per status, one (best) row per key."""
        files = self.files()
        if not files:
            return {}
        con = _duckdb()
        # max_by in a hash aggregate, not a window: memory stays small however large the table is.
        best = (
            f"SELECT max_by(status, {_RANK_SQL} * 10000000000000000 + epoch_us(created_at)) AS status "
            "FROM read_parquet($files) GROUP BY key"
        )
        query = f"SELECT status, count(*) FROM ({best}) GROUP BY status ORDER BY status"
        return dict(con.execute(query, {"files": files}).fetchall())

    # -- compaction ------------------------------------------------------------------------------------------------

    def compact(self) -> None:
        """Rewrite only the shards that need it: those holding a superseded row, plus small shards merged into one."""
        files = self.files()
        if len(files) < 2:
            return
        con = _duckdb()
        src = "read_parquet($files, filename = true)"
        dup_files = {
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT filename FROM {src} WHERE key IN "
                f"(SELECT key FROM {src} GROUP BY key HAVING count(*) > 1)",
                {"files": files},
            ).fetchall()
        }
        small = {f for f in files if pq.ParquetFile(f).metadata.num_rows < self.compact_below_rows}
        targets = dup_files | (small if len(small) > 1 else set())
        if not targets or (len(targets) == 1 and not dup_files):
            return
        # DuckDB streams the merge straight into the new shard (no table in Python memory). Written first, the old
        # shards dropped after: a kill in between only leaves duplicates, which readers and the next run resolve.
        if dup_files:
            order = f"{_RANK_SQL} DESC, created_at DESC, filename DESC"
            query = (
                "SELECT * EXCLUDE (filename) FROM read_parquet($files, filename = true) "
                f"QUALIFY row_number() OVER (PARTITION BY key ORDER BY {order}) = 1"
            )
        else:
            query = "SELECT * FROM read_parquet($files)"
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:6]}.parquet"
        tmp = self.shards / f".{name}.tmp"
        con.execute(
            f"COPY ({query}) TO $out (FORMAT parquet, COMPRESSION zstd)", {"files": sorted(targets), "out": str(tmp)}
        )
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.shards / name)
        for f in targets:
            os.unlink(f)


def _duckdb() -> duckdb.DuckDBPyConnection:
    return connect(memory_limit="512MB", preserve_insertion_order=False)  # spill rather than grow with the table


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


SURROGATES = re.compile(r"[\ud800-\udfff]")


def safe_text(text: str) -> str:
    """The text with lone surrogates (unencodable: they crashed the store) replaced by U+FFFD."""
    return SURROGATES.sub("\ufffd", text)


def _safe(value: Any) -> Any:
    """Strings made encodable: no text a server sent can stop the store."""
    return safe_text(value) if isinstance(value, str) else value


def _normalise(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("usage_estimated") is None:  # a row of a version that did not record it
        row = {**row, "usage_estimated": False}
    created = row.get("created_at")
    if isinstance(created, str):
        row = {**row, "created_at": datetime.fromisoformat(created)}
    elif created is None:
        row = {**row, "created_at": datetime.now(UTC)}
    return row
