"""Run sql/pairs/ over a KG folder (and optional LLM definitions) and write the PAIRS folder atomically."""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from kgbuild import params, sqlrun
from kgbuild.core import lineage
from kgbuild.core.atomic import atomic_dir
from kgbuild.core.contracts import check_tables_or_raise, columns, table_files, unreadable_file
from kgbuild.core.engine import connect, parquet_scan, runtime_error
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, Task, silent
from kgbuild.core.manifest import read_manifest, write_manifest
from kgbuild.pairs.options import PairOptions

TEMPLATE_VERSION = "v1"

# KG tables build-pairs reads, with the columns it needs from each.
KG_INPUTS = ("concepts", "names", "definitions", "relations", "relation_labels")
LLM_COLUMNS = ("cui", "text", "status", "model", "prompt_version")

# What build-pairs makes, from sql/pairs/ (each file says how it is materialised and what it reads; kgbuild/sqlrun.py
# orders and drops), in the order their contracts are checked.
OUTPUTS = ("descriptions", "pairs", "linking", "linking_candidates")
# With --parallel-lang: the parallel table and its cross-lingual linking set, after the four above (they reuse the
# concept splits and names of this run, so no test concept of the pairs is ever distilled).
PARALLEL_OUTPUTS = ("parallel", "crosslingual_linking")


def _register_table(con: duckdb.DuckDBPyConnection, name: str, files: list[str], needed: list[str]) -> int:
    """A view named after the table over its Parquet files, after checking the columns build-pairs needs."""
    src = parquet_scan(files)  # a literal: the view below cannot hold a parameter
    try:
        found = [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    except duckdb.Error as exc:
        bad = unreadable_file(con, files) or (files[0], str(exc).splitlines()[0])
        raise UserError(
            f"cannot read table {name}: the Parquet file is truncated or corrupt ({bad[1]})",
            path=bad[0],
            fix="rerun the kgbuild command that wrote this folder",
        ) from None
    missing = [c for c in needed if c not in found]
    if missing:
        raise UserError(
            f"table {name} lacks columns {missing} (found {found})",
            path=files[0],
            fix=f"give a folder written by kgbuild extract (see data_contracts/{name}.odcs.yaml)",
        )
    con.sql(f"CREATE VIEW {name} AS SELECT * FROM {src}")
    return con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]


def _check_parallel_langs(counts: dict[str, int], options: PairOptions, kg: Path) -> None:
    """Each --parallel-lang must have names in the KG; a KG of one language was extracted without --lang for them."""
    missing = [lang for lang in options.parallel_langs if not counts.get(lang)]
    if not missing:
        return
    present = ", ".join(f"{k} ({v:,})" for k, v in counts.items())
    wanted = " ".join(f"--lang {code}" for code in dict.fromkeys([options.lang, *options.parallel_langs]))
    if len(counts) == 1:
        raise UserError(
            f"--parallel-lang {' '.join(missing)}: the KG holds names in one language only: {present}",
            path=Path(kg) / "names.parquet",
            fix=f"extract the KG again keeping the languages you want, e.g. kgbuild extract --umls META {wanted} "
            "--out KG_DIR",
        )
    raise UserError(
        f"--parallel-lang {' '.join(missing)}: no name in that language; languages present: {present}",
        path=Path(kg) / "names.parquet",
        fix=f"give --parallel-lang languages present in the KG, or extract it again with {wanted}",
    )


def _check_names(con: duckdb.DuckDBPyConnection, lang: str, kg: Path) -> dict[str, int]:
    """--lang must match names in the KG, and no name may hold a NUL byte (a KG made before extract refused them):
    say so here, with what the KG holds, instead of failing a contract of the output."""
    rows = con.execute(
        "SELECT lang, count(*), count(*) FILTER (contains(name, chr(0))) FROM names GROUP BY lang ORDER BY 2 DESC"
    ).fetchall()
    counts = {r[0]: r[1] for r in rows}
    if not counts.get(lang):
        present = ", ".join(f"{k} ({v:,})" for k, v in counts.items()) or "none"
        raise UserError(
            f"--lang {lang} kept 0 of {sum(counts.values()):,} names; languages present: {present}",
            path=Path(kg) / "names.parquet",
            fix="give --lang one of the languages present (codes are upper case, as in names.lang)",
        )
    if nul := sum(r[2] for r in rows):
        raise UserError(
            f"{nul:,} name(s) hold a NUL byte (binary data from a corrupt input)",
            path=Path(kg) / "names.parquet",
            fix="extract the KG again from a good copy of the input (kgbuild extract refuses NUL bytes)",
        )
    return counts


def _parallel_summary(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, Any]:
    """Per language: parallel rows by kind and split, concepts, and cross-lingual linking queries by split (for the
    manifest, the trainer's model card and kgbuild info)."""
    summary: dict[str, Any] = {}
    for table in PARALLEL_OUTPUTS:
        kind = "'query'" if table == "crosslingual_linking" else "kind"
        rows = con.execute(
            f"SELECT lang, {kind}, split, count(*) FROM read_parquet(?) GROUP BY ALL ORDER BY ALL",
            [str(folder / f"{table}.parquet")],
        ).fetchall()
        for lang, what, split, n in rows:
            block = summary.setdefault(lang, {"rows": 0, "concepts": 0, "kinds": {}, "splits": {}, "linking": {}})
            if table == "parallel":
                block["rows"] += n
                block["kinds"][what] = block["kinds"].get(what, 0) + n
                block["splits"][split] = block["splits"].get(split, 0) + n
            else:
                block["linking"][split] = n
    query = "SELECT lang, count(DISTINCT cui) FROM read_parquet(?) GROUP BY lang"
    for lang, n in con.execute(query, [str(folder / "parallel.parquet")]).fetchall():
        summary[lang]["concepts"] = n
    return summary


def _failure(
    exc: duckdb.Error,
    con: duckdb.DuckDBPyConnection,
    kg: Path,
    definitions: Path | None,
    step: str,
    options: PairOptions,
    out: Path,
) -> BaseException:
    """What to raise for a DuckDB error: Ctrl-C, a corrupt input (found by decoding each one, as DuckDB often names
    no file for damage mid-file), or the engine's own failure (memory, disk)."""
    if type(exc).__name__ == "InterruptException":
        return KeyboardInterrupt()
    if not isinstance(exc, duckdb.OutOfMemoryException):
        files = [f for table in KG_INPUTS for f in table_files(kg, table)]
        if definitions is not None:
            files += table_files(Path(definitions), "llm_definitions")
        bad = unreadable_file(con, files)
        if bad:
            return UserError(
                f"cannot read this Parquet file: it is truncated or corrupt ({bad[1]})",
                path=bad[0],
                fix="rerun the kgbuild command that wrote this folder",
            )
    return runtime_error(exc, step=step, memory_limit=options.memory_limit, out=out)


def _register_inputs(
    con: duckdb.DuckDBPyConnection, kg: Path, definitions: Path | None, wanted_model: str | None = None
) -> dict[str, Any]:
    if not kg.is_dir():
        what = "--kg is a file, not a folder" if kg.exists() else "KG folder not found"
        raise UserError(what, path=kg, fix="give the --out folder of kgbuild extract")
    inputs: dict[str, Any] = {"kg": {"path": str(kg), "rows": {}, "bytes": {}}}
    for table in KG_INPUTS:
        files = table_files(kg, table)
        if not files:
            raise UserError(
                f"the KG folder has no {table} table",
                path=kg,
                fix=f"expected {table}.parquet; rerun kgbuild extract into this folder",
            )
        inputs["kg"]["rows"][table] = _register_table(con, table, files, columns(table))
        inputs["kg"]["bytes"][table] = sum(Path(f).stat().st_size for f in files)
    kg_manifest = read_manifest(kg)
    if kg_manifest:
        inputs["kg"]["created_at"] = kg_manifest.get("created_at")
    if definitions is None:
        con.sql(
            "CREATE VIEW llm_definitions AS "
            "SELECT NULL::VARCHAR AS cui, NULL::VARCHAR AS text, NULL::VARCHAR AS status WHERE false"
        )
        return inputs
    if not definitions.is_dir():
        raise UserError(
            "--definitions is a file, not a folder" if definitions.exists() else "definitions folder not found",
            path=definitions,
            fix="give the --out folder of kgbuild generate-definitions",
        )
    files = table_files(definitions, "llm_definitions")
    if not files:
        raise UserError(
            "no llm_definitions table here",
            path=definitions,
            fix="expected llm_definitions/part-*.parquet from kgbuild generate-definitions",
        )
    rows = _register_table(con, "llm_definitions_all", files, list(LLM_COLUMNS))
    model, version, present = _definitions_model(con, definitions, wanted_model)
    con.execute(
        "CREATE VIEW llm_definitions AS SELECT * FROM llm_definitions_all "
        f"WHERE model = {_literal(model)} AND prompt_version = {_literal(version)}"
    )
    ok = con.execute("SELECT count(*) FROM llm_definitions WHERE status = 'ok'").fetchall()[0][0]
    inputs["definitions"] = {
        "path": str(definitions),
        "rows": rows,
        "rows_ok": ok,
        "bytes": sum(Path(f).stat().st_size for f in files),
        # One model's answers, never a mix: the one used, and every one the folder holds (rows, ok).
        "model": model,
        "prompt_version": version,
        "models_present": present,
    }
    return inputs


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _definitions_model(
    con: duckdb.DuckDBPyConnection, definitions: Path, wanted: str | None
) -> tuple[str, str, list[dict[str, Any]]]:
    """(model, prompt version) whose answers become pairs: --definitions-model, else the DEFS run's own (its
    manifest), else the only one present; several and no way to tell is refused."""
    present = [
        {"model": m, "prompt_version": v, "rows": n, "ok": ok}
        for m, v, n, ok in con.execute(
            "SELECT model, prompt_version, count(*), count(*) FILTER (status = 'ok') FROM llm_definitions_all "
            "GROUP BY ALL ORDER BY 4 DESC, 1, 2"
        ).fetchall()
    ]
    listed = ", ".join(f"{p['model']} ({p['prompt_version']}, {p['ok']:,} ok)" for p in present) or "none"
    parameters = (read_manifest(definitions).get("parameters") or {}) if wanted is None else {}
    model = wanted or parameters.get("model")
    version = parameters.get("template_version")
    if model is None and len({p["model"] for p in present}) == 1:
        model = present[0]["model"]
    if model is None:
        raise UserError(
            f"the definitions folder holds answers of several models: {listed}",
            path=definitions,
            fix="choose one with --definitions-model",
        )
    versions = [p["prompt_version"] for p in present if p["model"] == model]
    if not versions:
        raise UserError(
            f"no answers of model {model!r} in the definitions folder (it holds: {listed})",
            path=definitions,
            fix="give --definitions-model one of the models listed",
        )
    return model, version if version in versions else versions[0], present


def build_pairs(
    kg: Path,
    out: Path,
    *,
    definitions: Path | None = None,
    options: PairOptions | None = None,
    force: bool = False,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Build descriptions, pairs, linking and linking_candidates from KG tables; return the manifest. `report`
    hears the "build-pairs" step's progress over its SQL steps (kgbuild.core.events)."""
    options = options or PairOptions()
    options.validate()
    kg, out = Path(kg), Path(out)
    timings: dict[str, float] = {}
    with atomic_dir(out, force=force, inputs={"--kg": kg, "--definitions": definitions}, report=report) as tmp:
        # A database file, not memory: the intermediate tables (GBs at UMLS scale) can then leave memory, and it
        # lives with the spill folder inside the temporary output, so a failed run leaves nothing behind.
        work = tmp / ".work"
        work.mkdir()
        con = connect(
            work / "pairs.duckdb",
            memory_limit=options.memory_limit,
            threads=options.threads,
            temp_directory=work / "spill",
            preserve_insertion_order=False,  # outputs are ordered explicitly
        )
        try:
            started = time.perf_counter()
            inputs = _register_inputs(con, kg, Path(definitions) if definitions else None, options.definitions_model)
            _check_parallel_langs(_check_names(con, options.lang, kg), options, kg)
            con.register("pair_params_arrow", options.sql_params())
            params.register(con, "parallel_langs", {"lang": "VARCHAR"}, [(lang,) for lang in options.parallel_langs])
            con.sql("CREATE TABLE pair_params AS SELECT * FROM pair_params_arrow")
            timings["register"] = time.perf_counter() - started
            outputs = OUTPUTS + (PARALLEL_OUTPUTS if options.parallel_langs else ())
            steps = len(sqlrun.plan(sqlrun.load_models("pairs"), outputs))
            with Task(report, "build-pairs", steps, unit="steps") as task:

                def before(step: str) -> None:
                    task.update(task.done, note=step)  # the step under way (a bar on a terminal shows it)

                tables = sqlrun.run(
                    con,
                    "pairs",
                    outputs,
                    tmp,
                    before=before,
                    after=lambda step: task.advance(),
                    failure=lambda exc, step: _failure(exc, con, kg, definitions, step, options, out),
                    timings=timings,
                )
            parallel = _parallel_summary(con, tmp) if options.parallel_langs else None
        except duckdb.Error as exc:  # reading the inputs in, before the steps
            raise _failure(exc, con, kg, definitions, "register", options, out) from None
        finally:
            con.close()
        shutil.rmtree(work, ignore_errors=True)
        if not tables["pairs"]:
            raise UserError(
                f"no training pair could be made from the {options.lang} names of {kg}: no concept has a synonym, "
                "a definition or a description",
                path=kg,
                fix="extract a KG with definitions or relations (MRDEF, MRREL), or add --definitions",
            )
        if parallel is not None and not tables["parallel"]:
            langs = " ".join(options.parallel_langs)
            raise UserError(
                f"no parallel pair could be made: no concept has both a {options.lang} name and a {langs} name "
                "that differ",
                path=kg,
                fix="check the languages with kgbuild info KG_DIR (names per language), or give other --parallel-lang",
            )
        t0 = time.perf_counter()
        check_tables_or_raise(outputs, tmp, memory_limit=options.memory_limit, out=out)
        timings["contracts"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started
        manifest = write_manifest(
            tmp,
            command="build-pairs",
            inputs=inputs,
            parameters=asdict(options),
            tables=tables,
            timings=timings,
            extra={
                # the KG's lineage (and the definitions', whose facts came from a KG too), so publishing this folder
                # reads its licence here even once the KG is moved or deleted
                "lineage": lineage.carry(kg, Path(definitions) if definitions else None),
                **({"parallel": parallel} if parallel is not None else {}),
            },
        )
    return manifest
