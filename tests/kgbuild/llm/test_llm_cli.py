"""`kgbuild generate-definitions` as a user runs it: the summary line, the exit codes, the one-line errors; and the
output read back the way consumers read it (contract check via `kgbuild validate`, DuckDB over the shards,
`datasets.load_dataset`)."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from kgbuild.cli import app

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures

runner = CliRunner()


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, ["generate-definitions", *args, "--no-progress"], env=env or {"OPENAI_API_KEY": "sk-t"})


def test_cli_generates_prints_a_summary_and_reruns_from_cache(kg, tmp_path, fake):
    server = fake()
    out = tmp_path / "defs"
    result = run("--kg", str(kg), "--out", str(out), "--base-url", server.base_url, "--concurrency", "4")
    assert result.exit_code == 0, result.output
    assert "done 4, cached 0, failed 0" in result.stdout
    assert "$0.000" in result.stdout

    result = run("--kg", str(kg), "--out", str(out), "--base-url", server.base_url, "--all")
    assert result.exit_code == 0, result.output
    assert "done 1, cached 4" in result.stdout  # --all adds the concept that has a definition

    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    manifest = (out / "manifest.json").read_text()
    assert "sk-t" not in manifest and '"template_version"' in manifest and '"llm_definitions": 5' in manifest


def test_output_reads_as_one_table_for_consumers(kg, tmp_path, fake):
    import datasets

    server = fake()
    out = tmp_path / "defs"
    assert run("--kg", str(kg), "--out", str(out), "--base-url", server.base_url).exit_code == 0
    ok = duckdb.sql(
        f"SELECT cui, text FROM read_parquet('{out}/llm_definitions/part-*.parquet') WHERE status = 'ok' ORDER BY cui"
    ).fetchall()
    assert [c for c, _ in ok] == ["C0000005", "C0003615", "C0021390", "C0085693"]
    ds = datasets.load_dataset("parquet", data_files=str(out / "llm_definitions" / "part-*.parquet"), split="train")
    assert ds.num_rows == 4 and "Appendicitis" in " ".join(ds["text"])


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--kg", "{tmp}/missing"], {"OPENAI_API_KEY": "sk-t"}, "no KG here"),
        (["--kg", "{kg}"], {"OPENAI_API_KEY": ""}, "OPENAI_API_KEY is not set"),
        (
            ["--kg", "{kg}", "--model", "my-local-model", "--budget-usd", "1"],
            {"OPENAI_API_KEY": "sk-t"},
            "no price for model 'my-local-model'",
        ),
        (["--kg", "{kg}", "--concurrency", "0"], {"OPENAI_API_KEY": "sk-t"}, "--concurrency must be at least 1"),
    ],
)
def test_bad_input_is_one_red_line_and_exit_1_with_nothing_written(kg, tmp_path, args, env, message):
    out = tmp_path / "defs"
    args = [a.format(tmp=tmp_path, kg=kg) for a in args]
    result = runner.invoke(app, ["generate-definitions", *args, "--out", str(out), "--no-progress"], env=env)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("error:") == 1
    assert not out.exists()


def test_a_server_that_refuses_the_key_stops_with_exit_1(kg, tmp_path, fake):
    from tests.helpers.llm_fake_server import Action

    server = fake(plan=lambda c: Action(status=401))
    out = tmp_path / "defs"
    result = run("--kg", str(kg), "--out", str(out), "--base-url", server.base_url)
    assert result.exit_code == 1 and "HTTP 401" in result.stderr and result.stderr.count("error:") == 1
    assert "Traceback" not in result.output
    # Stopped after the first wave: the folder (ours) stays, with an empty table and the manifest saying why.
    assert sum(server.received.values()) <= 4
    manifest = json.loads((out / "manifest.json").read_text())
    assert "401" in manifest["summary"]["stopped"]
    server.plan = None  # the key is fixed: the rerun resumes the same folder
    assert run("--kg", str(kg), "--out", str(out), "--base-url", server.base_url).exit_code == 0


def test_a_kg_without_names_is_reported_before_anything_is_written(kg, tmp_path):
    (kg / "names.parquet").unlink()
    out = tmp_path / "defs"
    result = runner.invoke(
        app,
        ["generate-definitions", "--kg", str(kg), "--out", str(out), "--no-progress"],
        env={"OPENAI_API_KEY": "sk-t"},
    )
    assert result.exit_code == 1 and "the KG has no names table" in result.stderr and "names.parquet" in result.stderr
    assert not out.exists()


def test_on_the_bundled_sample_release(sample_kg, tmp_path, fake):
    """The real pipeline: `kgbuild extract` output of the bundled UMLS sample, then generate-definitions."""
    server = fake()
    out = tmp_path / "defs"
    result = run("--kg", str(sample_kg), "--out", str(out), "--base-url", server.base_url, "--limit", "25")
    assert result.exit_code == 0, result.output
    assert "done 25, cached 0, failed 0" in result.stdout
    con = duckdb.connect()
    defined = {
        r[0] for r in con.sql(f"SELECT cui FROM '{sample_kg}/concepts.parquet' WHERE has_definition").fetchall()
    }
    got = {r[0] for r in con.sql(f"SELECT cui FROM read_parquet('{out}/llm_definitions/*.parquet')").fetchall()}
    assert len(got) == 25 and defined and not got & defined  # only concepts without a UMLS definition
    # Prompts carry the KG's facts: every prompt names its concept, and the most-connected ones have parents.
    prompts = [json.loads(b)["messages"][1]["content"] for b in server.bodies]
    assert len(prompts) == 25 and sum("Is a kind of:" in p for p in prompts) >= 10
    assert not any(cui in p for p in prompts for cui in got)
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def test_cli_batch_mode(kg, tmp_path, fake):
    server = fake(polls_to_finish=2)
    out = tmp_path / "defs"
    result = run(
        "--kg",
        str(kg),
        "--out",
        str(out),
        "--base-url",
        server.base_url,
        "--batch",
        "--poll",
        "0.01",
        "--max-enqueued-tokens",
        "100000",
    )
    assert result.exit_code == 0, result.output
    assert "done 4, cached 0" in result.stdout and server.batches_created == 1 and server.files == {}
    backends = duckdb.sql(f"SELECT DISTINCT backend FROM read_parquet('{out}/llm_definitions/*.parquet')").fetchall()
    assert backends == [("batch",)]
