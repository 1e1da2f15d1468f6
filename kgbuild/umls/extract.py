"""`kgbuild extract --umls`: META/*.RRF → contract-checked Parquet tables (DuckDB; SQL in sql/umls/)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from kgbuild.atomic import atomic_dir
from kgbuild.console import err
from kgbuild.contracts import check_or_raise
from kgbuild.errors import UserError
from kgbuild.manifest import write_manifest
from kgbuild.resources import read_sql
from kgbuild.umls.discover import count_rows, discover, read_mrfiles, resolve_meta
from kgbuild.umls.layout import FILES
from kgbuild.umls.register import register_raw, translate_error

# Run order: (SQL file stem, kind). Views are inlined by DuckDB; tables are materialised once and reused.
STEPS: list[tuple[str, str]] = [
    ("stg_umls__mrconso", "table"),
    ("stg_umls__mrrank", "view"),
    ("stg_umls__mrsty", "view"),
    ("stg_umls__mrdef", "view"),
    ("stg_umls__mrrel", "view"),
    ("stg_umls__mrsab", "view"),
    ("stg_umls__mrdoc", "table"),
    ("int_atoms_kept", "view"),
    ("int_names_ranked", "table"),
    ("int_relation_inverses", "table"),
    ("definitions", "mart"),
    ("semantic_types", "mart"),
    ("concepts", "mart"),
    ("int_relations_oriented", "view"),
    ("relations", "mart"),
    ("relation_labels", "mart"),
    ("sources", "mart"),
    ("names", "mart"),
]
MARTS = [name for name, kind in STEPS if kind == "mart"]


@dataclass
class ExtractOptions:
    langs: list[str] = field(default_factory=lambda: ["ENG"])
    sabs: list[str] = field(default_factory=list)
    exclude_sabs: list[str] = field(default_factory=list)
    keep_suppressed: bool = False
    max_srl: int | None = None
    memory_limit: str | None = None
    threads: int | None = None


def _register_params(con: duckdb.DuckDBPyConnection, opts: ExtractOptions) -> None:
    con.execute("CREATE TABLE param_langs (lang VARCHAR, position INTEGER)")
    for i, lang in enumerate(opts.langs):
        con.execute("INSERT INTO param_langs VALUES (?, ?)", [lang, i])
    con.execute("CREATE TABLE param_sabs (sab VARCHAR)")
    for s in opts.sabs:
        con.execute("INSERT INTO param_sabs VALUES (?)", [s])
    con.execute("CREATE TABLE param_exclude_sabs (sab VARCHAR)")
    for s in opts.exclude_sabs:
        con.execute("INSERT INTO param_exclude_sabs VALUES (?)", [s])
    con.execute(
        "CREATE TABLE run_params AS SELECT ?::BOOLEAN AS keep_suppressed, ?::INTEGER AS max_srl, "
        "?::BOOLEAN AS has_sab_filter",
        [opts.keep_suppressed, opts.max_srl, bool(opts.sabs)],
    )


def _check_inputs(files: dict, meta: Path) -> dict[str, dict[str, Any]]:
    """Row counts of every input (and MRFILES' declared counts); empty files and count mismatches are errors."""
    declared = read_mrfiles(files)
    inputs: dict[str, dict[str, Any]] = {}
    for name in FILES:
        f = files.get(name)
        if f is None:
            continue
        rows = count_rows(f)
        if rows == 0 and declared.get(name, -1) != 0:
            raise UserError(
                f"{name}.RRF is empty",
                path=f.parts[0],
                fix="re-extract it from the release (or remove it if the subset has no such file)",
            )
        if name in declared and declared[name] != rows:
            raise UserError(
                f"{name}.RRF has {rows} rows but MRFILES.RRF declares {declared[name]}",
                path=f.parts[0],
                fix="a part is missing or truncated: re-extract all parts of the file from the release",
            )
        inputs[name] = {
            "parts": [p.name for p in f.parts],
            "bytes": f.bytes,
            "rows": rows,
            "declared_rows": declared.get(name),
        }
    return inputs


def extract_umls(
    meta_dir: Path, out: Path, opts: ExtractOptions | None = None, *, force: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Extract a UMLS release into `out`; returns the manifest. Nothing is left behind on failure."""
    opts = opts or ExtractOptions()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    meta = resolve_meta(Path(meta_dir))
    files = discover(meta)
    inputs = _check_inputs(files, meta)
    timings["count_inputs"] = time.perf_counter() - t0

    with atomic_dir(Path(out), force=force) as tmp:
        con = duckdb.connect(str(tmp / ".work.duckdb"))
        try:
            if opts.memory_limit:
                con.execute(f"SET memory_limit = '{opts.memory_limit}'")
            if opts.threads:
                con.execute(f"SET threads = {int(opts.threads)}")
            con.execute(f"SET temp_directory = '{tmp / '.spill'}'")
            con.execute("SET preserve_insertion_order = true")
            for name in FILES:
                register_raw(con, name, files.get(name))
            _register_params(con, opts)
            rows: dict[str, int] = {}
            with Progress(
                TextColumn("[bold]extract[/bold] {task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=err,
                disable=not progress,
                transient=True,
            ) as bar:
                task = bar.add_task("", total=len(STEPS))
                for name, kind in STEPS:
                    bar.update(task, description=name)
                    t = time.perf_counter()
                    sql = read_sql(f"umls/{name}.sql")
                    try:
                        if kind == "view":
                            con.execute(f"CREATE VIEW {name} AS {sql}")
                        else:
                            con.execute(f"CREATE TABLE {name} AS {sql}")
                        if kind == "mart":
                            target = tmp / f"{name}.parquet"
                            con.execute(f"COPY {name} TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
                            rows[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                    except duckdb.Error as exc:
                        user = translate_error(exc, files)
                        if user is not None:
                            raise user from exc
                        raise
                    timings[name] = time.perf_counter() - t
                    bar.advance(task)
            n_cuis_read = con.execute("SELECT count(DISTINCT cui) FROM stg_umls__mrconso").fetchone()[0]
            release = con.execute(
                "SELECT any_value(expl) FROM stg_umls__mrdoc WHERE dockey = 'RELEASE' AND value = 'umls.release.name'"
            ).fetchone()[0]
        finally:
            con.close()
        (tmp / ".work.duckdb").unlink(missing_ok=True)
        (tmp / ".work.duckdb.wal").unlink(missing_ok=True)

        t = time.perf_counter()
        for name in MARTS:
            check_or_raise(name, tmp)
        timings["contracts"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        manifest = write_manifest(
            tmp,
            command="extract --umls",
            inputs={"umls": str(meta_dir), "files": inputs},
            parameters={k: v for k, v in asdict(opts).items() if k not in ("memory_limit", "threads")},
            tables=rows,
            timings=timings,
            extra={
                "release": {"name": release, "source": "UMLS Metathesaurus"},
                "dropped": {"concepts_without_names": n_cuis_read - rows["concepts"], "concepts_read": n_cuis_read},
            },
        )
    return manifest
