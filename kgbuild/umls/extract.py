"""`kgbuild extract --umls`: META/*.RRF → contract-checked Parquet tables (DuckDB; SQL in sql/umls/)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from kgbuild import params, sqlrun
from kgbuild.core.atomic import atomic_dir, check_output
from kgbuild.core.contracts import ContractError, check_tables_or_raise
from kgbuild.core.engine import check_memory_limit, connect, runtime_error
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, Task, silent
from kgbuild.core.manifest import write_manifest
from kgbuild.umls.checks import check_filters, check_present
from kgbuild.umls.discover import RrfFile, discover, is_empty, open_text, read_mrfiles, resolve_meta
from kgbuild.umls.layout import FILES
from kgbuild.umls.register import register_raw, translate_error
from kgbuild.umls.release_zip import ZipMeta

# What extract makes, from sql/umls/ (each file says how it is materialised and what it reads; kgbuild/sqlrun.py
# orders and drops): int_atom_counts first, so an option that keeps nothing is named before the long steps, then the
# marts in the order their contracts are checked. The MRCONSO side runs first and its tables are gone before MRREL
# is read.
MARTS = ["names", "codes", "definitions", "semantic_types", "concepts", "sources", "relations", "relation_labels"]
TARGETS = ["int_atom_counts", *MARTS]
# Figures taken right after a step, before its table can be dropped: MRCONSO and MRREL are parsed once, so their
# row counts (for MRFILES) come from the staged rows.
PROBES: dict[str, dict[str, str]] = {
    "stg_umls__mrconso": {
        "rows:MRCONSO": "SELECT count(*) FROM stg_umls__mrconso",
        "concepts_read": "SELECT count(DISTINCT cui) FROM stg_umls__mrconso",
    },
    "stg_umls__mrdoc": {
        "release": "SELECT any_value(expl) FROM stg_umls__mrdoc "
        "WHERE dockey = 'RELEASE' AND value = 'umls.release.name'",
        "documented_inverses": "SELECT count(*) FROM stg_umls__mrdoc WHERE type IN ('rel_inverse', 'rela_inverse')",
    },
    "int_relation_edges": {"rows:MRREL": "SELECT coalesce(sum(n_rows), 0) FROM int_relation_edges"},
    # atoms and concepts kept per language, for the manifest (build-pairs --parallel-lang names what is there)
    "names": {
        "languages": "SELECT list({'lang': lang, 'atoms': n, 'concepts': c} ORDER BY n DESC, lang) "
        "FROM (SELECT lang, count(*) AS n, count(DISTINCT cui) AS c FROM names GROUP BY lang)"
    },
}


@dataclass
class ExtractOptions:
    langs: list[str] = field(default_factory=lambda: ["ENG"])
    sabs: list[str] = field(default_factory=list)
    exclude_sabs: list[str] = field(default_factory=list)
    keep_suppressed: bool = False
    max_srl: int | None = None
    memory_limit: str | None = None
    threads: int | None = None


def register_params(con: duckdb.DuckDBPyConnection, opts: ExtractOptions) -> None:
    langs = [(lang, i) for i, lang in enumerate(opts.langs)]
    params.register(con, "langs", {"lang": "VARCHAR", "position": "INTEGER"}, langs)
    params.register(con, "sabs", {"sab": "VARCHAR"}, [(s,) for s in opts.sabs])
    params.register(con, "exclude_sabs", {"sab": "VARCHAR"}, [(s,) for s in opts.exclude_sabs])
    params.register(
        con,
        "run",
        {"keep_suppressed": "BOOLEAN", "max_srl": "INTEGER", "has_sab_filter": "BOOLEAN"},
        [(opts.keep_suppressed, opts.max_srl, bool(opts.sabs))],
    )


def _check_not_empty(files: dict[str, RrfFile], declared: dict[str, int]) -> None:
    """An empty input is an error, unless MRFILES says it has no rows (a subset can have an empty MRDEF, say)."""
    for name in FILES:
        f = files.get(name)
        if f is not None and declared.get(name) != 0 and is_empty(f):
            raise UserError(
                f"{name}.RRF is empty",
                path=f.parts[0],
                fix="re-extract it from the release (or remove it if the subset has no such file)",
            )


def _small_file_counts(con: duckdb.DuckDBPyConnection, files: dict[str, RrfFile]) -> dict[str, int]:
    """Rows of the files that are not staged whole (the raw views read them once more; they are small)."""
    return {
        name: con.execute(f"SELECT count(*) FROM raw_{name.lower()}").fetchone()[0]
        for name in FILES
        if name in files and name not in ("MRCONSO", "MRREL")
    }


def _check_counts(
    files: dict[str, RrfFile], counts: dict[str, int], declared: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Compare the rows read with the counts MRFILES declares; a mismatch is an error."""
    inputs: dict[str, dict[str, Any]] = {}
    for name, rows in counts.items():
        f = files[name]
        if name in declared and declared[name] != rows:
            fewer = rows < declared[name]
            raise UserError(
                f"{name}.RRF has {rows:,} rows but MRFILES.RRF declares {declared[name]:,}",
                path=f.parts[0],
                fix=(
                    "a part is missing or the file is truncated"
                    if fewer
                    else "the file has extra rows (a part read twice, or rows appended)"
                )
                + ": copy every part of it again from the release",
            )
        inputs[name] = {
            "parts": [p.name for p in f.parts],
            "bytes": f.bytes,
            "rows": rows,
            "declared_rows": declared.get(name),
        }
    return inputs


def _input_behind(exc: ContractError, files: dict[str, Any], tmp: Path) -> UserError:
    """A contract failure that rows of the input explain (an atom listed twice in MRCONSO, which only MRFILES' row
    count would have caught), named as those input lines; any other failure as it is."""
    if "MRCONSO" not in files or not any(c.name == "aui.unique" for c in exc.failures):
        return exc
    with connect() as con:
        found = con.execute(
            "SELECT aui FROM read_parquet(?) GROUP BY aui HAVING count(*) > 1 LIMIT 1", [str(tmp / "names.parquet")]
        ).fetchall()
    if not found:
        return exc
    aui, seen = found[0][0], []
    for part in files["MRCONSO"].parts:  # only on this failure: a scan of MRCONSO for the one atom
        with open_text(part) as fh:
            for number, line in enumerate(fh, start=1):
                if f"|{aui}|" in line and line.split("|")[7] == aui:
                    seen.append((part, number))
                    if len(seen) == 2:
                        break
        if len(seen) == 2:
            break
    if len(seen) < 2:  # one row in MRCONSO, twice in names: a (SAB, TTY) ranked twice in MRRANK
        return _duplicate_rank(files) or exc
    (first, line1), (second, line2) = seen
    where = f"line {line1}" + (f" and line {line2}" if first == second else f" of {first}, and line {line2}")
    return UserError(
        f"atom {aui} is listed twice in MRCONSO ({where}); a release has one row per atom",
        path=second,
        line=line2,
        fix="remove the duplicate line, or restore the release as NLM ships it (with MRFILES.RRF, whose row counts "
        "catch this)",
    )


def _duplicate_rank(files: dict[str, Any]) -> UserError | None:
    """The first row MRRANK holds twice, named with its file and lines; None when there is none."""
    if "MRRANK" not in files:
        return None
    first_line: dict[tuple[str, ...], tuple[Any, int]] = {}
    for part in files["MRRANK"].parts:
        with open_text(part) as fh:
            for number, line in enumerate(fh, start=1):
                fields = line.rstrip("\n").split("|")
                if len(fields) < 3:
                    continue
                key = tuple(fields)  # an exact duplicate row (the same SAB and TTY may be ranked with other flags)
                if key in first_line:
                    where, line1 = first_line[key]
                    return UserError(
                        f"MRRANK ranks {key[1]} {key[2]} twice (line {line1}"
                        + (f" of {where}" if where != part else "")
                        + f" and line {number}): every atom of that kind would be kept twice",
                        path=part,
                        line=number,
                        fix="remove the duplicate line, or restore the release as NLM ships it (with MRFILES.RRF, "
                        "whose row counts catch this)",
                    )
                first_line[key] = (part, number)
    return None


def extract_umls(
    meta_dir: Path,
    out: Path,
    opts: ExtractOptions | None = None,
    *,
    force: bool = False,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Extract a UMLS release into `out`; returns the manifest. Nothing is left behind on failure. `report` hears
    the "extract" step's progress over its tables and the warnings (an optional file absent, a filter that matches
    nothing)."""
    opts = opts or ExtractOptions()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    meta = resolve_meta(Path(meta_dir))
    # the META folder read, not the release folder that may hold it beside the output (a zip is read whole)
    inputs = {"--umls": meta.zip_path if isinstance(meta, ZipMeta) else meta}
    check_output(out, force=force, inputs=inputs, report=report)
    check_memory_limit(opts.memory_limit)
    files = discover(meta)
    declared = read_mrfiles(files)
    missing = check_present(meta, files, declared, report)
    _check_not_empty(files, declared)

    with atomic_dir(Path(out), force=force, inputs=inputs, report=report) as tmp:
        # In memory (DuckDB spills to temp_directory past memory_limit): a database file would write every staged
        # table to disk once more.
        con = connect(
            memory_limit=opts.memory_limit,
            threads=opts.threads,
            temp_directory=tmp / ".spill",
            # DuckDB cannot estimate a CSV scan's size and would build hash tables on the 63M MRREL rows; the SQL
            # puts the large input on the left of every join, so keep the written order (4x faster here).
            disabled_optimizers="build_side_probe_side",
            # Staged tables may be stored in any order (DuckDB spreads them over the threads).
            preserve_insertion_order=False,
        )
        try:
            if isinstance(meta, ZipMeta):
                con.register_filesystem(meta.filesystem())
            for name in FILES:
                register_raw(con, name, files.get(name))
            register_params(con, opts)
            figures: dict[str, Any] = {}

            def after(name: str) -> None:
                # figures taken before the model's inputs can be dropped
                task.advance()
                for key, probe in PROBES.get(name, {}).items():
                    figures[key] = con.execute(probe).fetchone()[0]
                if name == "int_atom_counts":
                    check_filters(
                        con.execute("SELECT * FROM int_atom_counts").fetchall(),
                        opts,
                        files["MRCONSO"].parts[0],
                        report,
                    )

            def failure(exc: duckdb.Error, name: str) -> BaseException:
                user = translate_error(exc, files)
                if user is None and type(exc).__name__ == "InterruptException":
                    return KeyboardInterrupt()
                return user or runtime_error(exc, step=name, memory_limit=opts.memory_limit, out=out)

            steps = len(sqlrun.plan(sqlrun.load_models("umls"), TARGETS))
            with Task(report, "extract", steps, unit="tables", transient=True) as task:
                # zstd level 1 writes the 30M relations 10% faster than the default level, and smaller
                rows = sqlrun.run(
                    con,
                    "umls",
                    TARGETS,
                    tmp,
                    parquet="COMPRESSION zstd, COMPRESSION_LEVEL 1",
                    before=lambda name: task.update(task.done, note=name),  # the table under way
                    after=after,
                    failure=failure,
                    timings=timings,
                )
            counts = {name: figures[f"rows:{name}"] for name in ("MRCONSO", "MRREL") if name in files}
            inputs = _check_counts(files, counts | _small_file_counts(con, files), declared)
            n_cuis_read, release = figures["concepts_read"], figures["release"]
            languages = {r["lang"]: {"atoms": r["atoms"], "concepts": r["concepts"]} for r in figures["languages"]}
        finally:
            con.close()

        t = time.perf_counter()
        try:
            check_tables_or_raise(MARTS, tmp, memory_limit=opts.memory_limit, out=out)
        except ContractError as exc:
            raise _input_behind(exc, files, tmp) from None
        timings["contracts"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        manifest = write_manifest(
            tmp,
            command="extract --umls",
            inputs={"umls": str(meta_dir), "files": inputs, "absent_files": [f"{name}.RRF" for name in missing]},
            parameters={k: v for k, v in asdict(opts).items() if k not in ("memory_limit", "threads")},
            tables=rows,
            timings=timings,
            extra={
                "release": {"name": release, "source": "UMLS Metathesaurus"},
                # Without MRDOC rel_inverse/rela_inverse rows, edges collapse on the standard REL inverses and the
                # RELA naming pattern (sql/umls/_macros.sql).
                "relation_inverses": "MRDOC" if figures["documented_inverses"] else "built-in table",
                "dropped": {"concepts_without_names": n_cuis_read - rows["concepts"], "concepts_read": n_cuis_read},
                "languages": languages,
            },
        )
    return manifest
