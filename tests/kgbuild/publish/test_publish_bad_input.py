"""A bad DATA_DIR is refused with one clear error before anything is staged or sent."""

from __future__ import annotations

from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.publish import upload as upload_module
from tests.helpers.publish_hub import RecordingApi
from tests.helpers.publish_kg import ROWS, make_kg, write_table


def run(args, monkeypatch):
    api = RecordingApi()
    monkeypatch.setattr(upload_module, "HfApi", lambda: api)
    return CliRunner().invoke(app, ["publish", *args]), api


def nothing_left(tmp_path, api):
    return api.calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["kg"]


def test_missing_table_promised_by_the_manifest(tmp_path, monkeypatch, hub_token):
    kg = make_kg(tmp_path / "kg")
    (kg / "names.parquet").unlink()
    result, api = run([str(kg), "--repo-id", "my-lab/kg"], monkeypatch)
    assert result.exit_code == 1
    assert "table(s) names listed in manifest.json are missing" in result.output and str(kg) in result.output
    assert nothing_left(tmp_path, api)


def test_contract_failure_names_the_file_and_the_check(tmp_path, monkeypatch, hub_token):
    kg = make_kg(tmp_path / "kg")
    write_table(kg, "concepts", ROWS["concepts"] + [ROWS["concepts"][0]])  # a duplicated cui
    result, api = run([str(kg), "--repo-id", "my-lab/kg", "--stage-dir", str(tmp_path / "repo")], monkeypatch)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "concepts.parquet" in out and "contract check failed" in out and "cui.unique: 1 duplicate values" in out
    assert "data_contracts/concepts.odcs.yaml" in out
    assert nothing_left(tmp_path, api)


def test_foreign_key_failure(tmp_path, monkeypatch):
    kg = make_kg(tmp_path / "kg")
    write_table(kg, "relations", ROWS["relations"] + [("C0015967", "isa", "CHD", "C9999999", "MSH")])
    result, api = run([str(kg), "--repo-id", "my-lab/kg", "--dry-run"], monkeypatch)
    assert result.exit_code == 1 and "tail_cui->concepts.cui: 1 values not found" in " ".join(result.output.split())
    assert nothing_left(tmp_path, api)


def test_folder_without_tables_and_missing_folder(tmp_path, monkeypatch):
    (tmp_path / "kg").mkdir()
    result, api = run([str(tmp_path / "kg"), "--repo-id", "my-lab/kg", "--dry-run"], monkeypatch)
    assert result.exit_code == 1 and "no table with a contract found here" in result.output
    result, _ = run([str(tmp_path / "nope"), "--repo-id", "my-lab/kg", "--dry-run"], monkeypatch)
    assert result.exit_code == 1 and "DATA_DIR not found" in result.output
    assert nothing_left(tmp_path, api)


def test_stage_dir_inside_data_dir_is_refused(tmp_path, monkeypatch):
    kg = make_kg(tmp_path / "kg")
    result, api = run([str(kg), "--repo-id", "my-lab/kg", "--dry-run", "--stage-dir", str(kg / "hub")], monkeypatch)
    assert result.exit_code == 1 and "--stage-dir is inside the input DATA_DIR" in result.output
    assert not (kg / "hub").exists() and api.calls == []


def test_broken_manifest_names_the_file_and_line(tmp_path, monkeypatch):
    kg = make_kg(tmp_path / "kg")
    (kg / "manifest.json").write_text('{\n  "command": "extract --umls",\n  "tables": {,\n}')
    result, api = run([str(kg), "--repo-id", "my-lab/kg", "--dry-run"], monkeypatch)
    assert result.exit_code == 1
    assert f"{kg / 'manifest.json'}:3: manifest.json is not valid JSON" in " ".join(result.output.split())
    assert nothing_left(tmp_path, api)
