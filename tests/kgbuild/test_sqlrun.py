"""The SQL runner: materialisation from each file's first line, order and drops from what each file reads."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from kgbuild import sqlrun
from kgbuild.core.engine import connect, parquet_scan, sql_list, sql_literal
from kgbuild.core.resources import sql_dir


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A folder of four models under a temporary sql/ root."""
    root = tmp_path / "sql"
    (root / "toy").mkdir(parents=True)
    files = {
        "_macros.sql": "create or replace macro twice(x) as 2 * x;",
        "base.sql": "-- materialized: table\n-- the numbers (a comment naming report does not make a read)\n"
        "select range as n from range(5)",
        "evens.sql": "-- materialized: view\nselect n from base where n % 2 = 0 -- base again",
        "report.sql": "-- materialized: mart\nwith base as (select n from evens)\n"
        "select twice(n) as m, 'report' as label from base order by m",
        "lonely.sql": "-- materialized: table\nselect 1 as one",
    }
    for name, text in files.items():
        (root / "toy" / name).write_text(text, encoding="utf-8")
    # what every folder shares (sql/_kg.sql and its seeds), as the package has them
    shutil.copytree(sql_dir() / "seeds", root / "seeds")
    shutil.copy(sql_dir() / "_kg.sql", root / "_kg.sql")
    monkeypatch.setattr(sqlrun, "sql_dir", lambda: root)
    monkeypatch.setattr(sqlrun, "read_sql", lambda rel: (root / rel).read_text(encoding="utf-8"))
    sqlrun.load_models.cache_clear()
    yield sqlrun.load_models("toy")
    sqlrun.load_models.cache_clear()


def test_reads_kinds_order_and_drops(models):
    assert {n: m.kind for n, m in models.items()} == {
        "base": "table",
        "evens": "view",
        "lonely": "table",
        "report": "mart",
    }
    # comments, string literals and the file's own CTE names are not reads; the CTE's body is
    assert models["report"].reads == {"evens"}
    assert models["evens"].reads == {"base"}
    assert models["base"].reads == set()
    order = sqlrun.plan(models, ["report"])
    assert order == ["base", "evens", "report"]
    # base is read through the view evens, so it lives until report has run
    assert sqlrun.drops(models, order) == {"report": ["base"]}


def test_run_writes_marts_and_drops_tables(models, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    con = connect()
    seen = []
    rows = sqlrun.run(con, "toy", ["report"], out, before=seen.append)
    assert seen == ["base", "evens", "report"]
    assert rows == {"report": 3}
    assert con.execute(f"SELECT m FROM read_parquet('{out / 'report.parquet'}')").fetchall() == [(0,), (4,), (8,)]
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "base" not in tables  # dropped after its last reader


def test_failure_names_the_model(models, tmp_path):
    (sqlrun.sql_dir() / "toy" / "lonely.sql").write_text("-- materialized: table\nselect * from nowhere")
    sqlrun.load_models.cache_clear()
    with pytest.raises(RuntimeError, match="lonely"):
        sqlrun.run(connect(), "toy", ["lonely"], tmp_path, failure=lambda exc, name: RuntimeError(name))


def test_header_is_required(models):
    (sqlrun.sql_dir() / "toy" / "lonely.sql").write_text("select 1")
    sqlrun.load_models.cache_clear()
    with pytest.raises(ValueError, match="materialized"):
        sqlrun.load_models("toy")


@pytest.mark.parametrize("folder", ["umls", "pairs"])
def test_every_model_of_the_package_declares_itself(folder):
    models = sqlrun.load_models(folder)
    assert models and all(m.kind in sqlrun.KINDS for m in models.values())
    names = {p.stem for p in (sql_dir() / folder).glob("*.sql") if not p.stem.startswith("_")}
    assert set(models) == names


def test_quoting_and_connection(tmp_path):
    assert sql_literal("it's") == "'it''s'"
    assert sql_list(["a", "b'c"]) == "['a', 'b''c']"
    odd = tmp_path / "o'dd dir"
    odd.mkdir()
    con = connect(memory_limit="1GB", threads=1, temp_directory=odd / "spill", preserve_insertion_order=False)
    con.execute("COPY (SELECT 1 AS x) TO ? (FORMAT parquet)", [str(odd / "t.parquet")])
    assert con.execute(f"SELECT x FROM {parquet_scan([odd / 't.parquet'])}").fetchall() == [(1,)]
    settings = con.execute(
        "SELECT current_setting('threads'), current_setting('preserve_insertion_order'), "
        "current_setting('enable_progress_bar')"
    ).fetchone()
    assert settings == (1, False, False)
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT * FROM {parquet_scan([odd / 'missing.parquet'])}")


def test_each_contract_names_the_code_that_makes_its_table():
    from pathlib import Path

    from kgbuild.core.contracts import contract_names, made_by

    root = Path(__file__).resolve().parents[2]
    for table in contract_names():
        files = made_by(table)
        assert files, f"{table}: no lineage in its contract"
        for f in files:
            assert (root / f).is_file(), f"{table}: {f} does not exist"
    # every mart of a SQL folder is named by the contract of its table: table -> code in one hop
    for folder in ("umls", "terms", "pairs"):
        for name, model in sqlrun.load_models(folder).items():
            if model.kind == "mart":
                assert model.path in made_by(name), name


def test_given_models_are_neither_run_nor_dropped(models, tmp_path):
    # the caller made `base` itself (extract --obo makes names in Python): it is read, not rebuilt, and kept
    assert sqlrun.plan(models, ["report"], given=["base"]) == ["evens", "report"]
    out = tmp_path / "out"
    out.mkdir()
    con = connect()
    con.execute("CREATE TABLE base AS SELECT range AS n FROM range(10, 15)")
    assert sqlrun.run(con, "toy", ["report"], out, given=["base"]) == {"report": 3}
    assert con.execute(f"SELECT list(m) FROM {parquet_scan([str(out / 'report.parquet')])}").fetchall() == [
        ([20, 24, 28],)
    ]
    assert con.execute("SELECT count(*) FROM base").fetchall() == [(5,)]  # still there
