"""Bad input: one clear error naming file and line, exit code 1, and nothing half-written left behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core.errors import UserError
from kgbuild.umls.extract import extract_umls

TESTS = Path(__file__).resolve().parents[2]
FIXTURES = TESTS / "fixtures"
SAMPLE_META = TESTS.parent / "kgbuild" / "sample" / "META"

CUMULUS = FIXTURES / "umls" / "cumulus-library-umls"
SCISPACY = FIXTURES / "umls" / "scispacy"
runner = CliRunner()


def meta_with(tmp_path, **files: bytes):
    meta = tmp_path / "META"
    meta.mkdir()
    for name, data in files.items():
        (meta / f"{name}.RRF").write_bytes(data)
    return meta


def good_conso() -> bytes:
    return (SCISPACY / "MRCONSO.RRF").read_bytes() + b"\n"


def fails(meta, tmp_path, match):
    out = tmp_path / "kg"
    with pytest.raises(UserError, match=match) as exc:
        extract_umls(meta, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kg")] == []  # no temp folder left
    return str(exc.value)


def test_missing_meta_folder(tmp_path):
    assert "META folder not found" in fails(tmp_path / "nope", tmp_path, "not found")


def test_folder_without_mrconso(tmp_path):
    msg = fails(meta_with(tmp_path, MRSTY=(SCISPACY / "MRSTY.RRF").read_bytes()), tmp_path, "MRCONSO.RRF not found")
    assert "found MRSTY.RRF" in msg


def test_folder_that_is_not_a_meta(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    assert "not a META folder" in fails(folder, tmp_path, "MRCONSO.RRF not found")


def test_trimmed_real_rows_name_file_and_line(tmp_path):
    # The real cumulus rows stop after STR: 15 fields instead of 18 + the trailing '|'.
    meta = tmp_path / "META"
    shutil.copytree(CUMULUS, meta)
    msg = fails(meta, tmp_path, "fields")
    # Line 1 is the one fuller row: 17 values + '|' (CVF trimmed) = 18 fields where 19 are expected.
    assert "MRCONSO.RRF:1:" in msg
    assert "has 18 '|'-separated fields, expected 19" in msg


def test_too_few_fields_first_line(tmp_path):
    meta = meta_with(tmp_path, MRCONSO=b"C0000005|ENG|P|\n")
    assert "MRCONSO.RRF:1:" in fails(meta, tmp_path, "fields")


def test_too_many_fields(tmp_path):
    lines = good_conso().splitlines(keepends=True)
    lines[1] = lines[1].rstrip(b"\n") + b"extra|\n"
    meta = meta_with(tmp_path, MRCONSO=b"".join(lines))
    assert "MRCONSO.RRF:2:" in fails(meta, tmp_path, "fields")


def test_value_after_the_last_column(tmp_path):
    lines = good_conso().splitlines(keepends=True)
    lines[2] = lines[2].rstrip(b"\n") + b"oops\n"  # 19 fields, the last one not empty
    meta = meta_with(tmp_path, MRCONSO=b"".join(lines))
    assert "MRCONSO.RRF:3:" in fails(meta, tmp_path, "value after the last column")


def test_invalid_utf8(tmp_path):
    lines = good_conso().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"MAA", b"M\xffA")
    meta = meta_with(tmp_path, MRCONSO=b"".join(lines))
    assert "MRCONSO.RRF:2:" in fails(meta, tmp_path, "invalid UTF-8")


def test_empty_file(tmp_path):
    meta = meta_with(tmp_path, MRCONSO=good_conso(), MRSTY=b"")
    assert "MRSTY.RRF" in fails(meta, tmp_path, "is empty")


def test_empty_file_that_mrfiles_declares_empty_is_read(tmp_path):
    conso = good_conso()
    rows = len(conso.splitlines())
    mrfiles = f"MRCONSO.RRF|Concepts|CUI|18|{rows}|{len(conso)}|\nMRDEF.RRF|Definitions|CUI|8|0|0|\n"
    meta = meta_with(tmp_path, MRCONSO=conso, MRDEF=b"", MRFILES=mrfiles.encode())
    manifest = extract_umls(meta, tmp_path / "kg")
    assert manifest["tables"]["definitions"] == 0
    assert manifest["inputs"]["files"]["MRDEF"]["rows"] == 0


def test_row_count_differs_from_mrfiles(tmp_path):
    meta = tmp_path / "META"
    shutil.copytree(SAMPLE_META, meta)
    conso = (meta / "MRCONSO.RRF").read_bytes().splitlines(keepends=True)
    (meta / "MRCONSO.RRF").write_bytes(b"".join(conso[:-3]))  # a truncated copy
    msg = fails(meta, tmp_path, "MRFILES.RRF declares")
    assert f"has {len(conso) - 3} rows" in msg


def test_failed_run_leaves_previous_output_untouched(tmp_path):
    out = tmp_path / "kg"
    extract_umls(SAMPLE_META, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = meta_with(tmp_path, MRCONSO=b"C0000005|ENG|P|\n")
    with pytest.raises(UserError):
        extract_umls(bad, out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["META", "kg"]


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "kg"
    extract_umls(SAMPLE_META, out)
    with pytest.raises(UserError, match="--force"):
        extract_umls(SAMPLE_META, out)
    extract_umls(SAMPLE_META, out, force=True)


def test_cli_prints_one_red_line_and_exits_1(tmp_path):
    bad = meta_with(tmp_path, MRCONSO=b"C0000005|ENG|P|\n")
    result = runner.invoke(app, ["extract", "--umls", str(bad), "--out", str(tmp_path / "kg"), "--no-progress"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "MRCONSO.RRF:1:" in lines[0]
    assert "Traceback" not in result.output


def test_cli_extract_and_validate(tmp_path):
    out = tmp_path / "kg"
    result = runner.invoke(app, ["extract", "--umls", str(SAMPLE_META), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 0 and "checks passed" in result.output
    # Break a contract: duplicate a concept row.
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM '{out}/concepts.parquet' UNION ALL SELECT * FROM '{out}/concepts.parquet') "
        f"TO '{out}/concepts.parquet.new' (FORMAT parquet)"
    )
    (out / "concepts.parquet.new").replace(out / "concepts.parquet")
    result = runner.invoke(app, ["validate", str(out)])
    assert result.exit_code == 1 and "cui.unique" in result.output
