"""Reading RRF files: layouts (plain, split, gz), line endings, quotes, UTF-8 — on real samples."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from kgbuild.umls.discover import discover
from kgbuild.umls.extract import extract_umls

TESTS = Path(__file__).resolve().parents[2]
FIXTURES = TESTS / "fixtures"
SAMPLE_META = TESTS.parent / "kgbuild" / "sample" / "META"

SCISPACY = FIXTURES / "umls" / "scispacy"
RXNORM = FIXTURES / "umls" / "therapy-normalization" / "rxnorm_2023-11-06.RRF"


def q(folder, sql):
    con = duckdb.connect()
    for t in ("concepts", "names", "definitions", "semantic_types"):
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{folder / (t + '.parquet')}')")
    return con.execute(sql).fetchall()


def scispacy_meta(tmp_path):
    meta = tmp_path / "META"
    meta.mkdir()
    for name in ("MRCONSO", "MRDEF", "MRSTY"):
        shutil.copy(SCISPACY / f"{name}.RRF", meta / f"{name}.RRF")
    return meta


def test_real_rows_without_final_newline(tmp_path):
    # The scispacy fixture's last lines have no terminating newline.
    assert not (SCISPACY / "MRCONSO.RRF").read_bytes().endswith(b"\n")
    out = tmp_path / "kg"
    manifest = extract_umls(scispacy_meta(tmp_path), out)
    assert manifest["tables"]["names"] == 3
    assert q(out, "SELECT aui, name FROM names ORDER BY aui") == [
        ("A0016515", "1,2-Dipalmitoylphosphatidylcholine"),
        ("A26634265", "(131)I-Macroaggregated Albumin"),
        ("A26634266", "(131)I-MAA"),
    ]
    assert q(out, "SELECT cui, sab FROM definitions") == [("C0000039", "MSH")]


def test_crlf_line_endings(tmp_path):
    meta = scispacy_meta(tmp_path)
    for f in meta.iterdir():
        f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    out = tmp_path / "kg"
    extract_umls(meta, out)
    assert q(out, "SELECT count(*), bool_or(name LIKE '%\r%' OR aui LIKE '%\r%') FROM names") == [(3, False)]
    assert q(out, "SELECT definition FROM definitions")[0][0].endswith("membranes.")


def test_split_and_gzipped_parts_read_in_suffix_order(tmp_path):
    lines = (SCISPACY / "MRCONSO.RRF").read_bytes().splitlines(keepends=True)
    for layout in ("plain", "gz"):
        meta = tmp_path / layout / "META"
        meta.mkdir(parents=True)
        shutil.copy(SCISPACY / "MRSTY.RRF", meta / "MRSTY.RRF")
        for suffix, chunk in (("ab", lines[2:]), ("aa", lines[:2])):  # written out of order on purpose
            data = b"".join(chunk)
            if layout == "gz":
                (meta / f"MRCONSO.RRF.{suffix}.gz").write_bytes(gzip.compress(data))
            else:
                (meta / f"MRCONSO.RRF.{suffix}").write_bytes(data)
        parts = [p.name.split(".")[2] for p in discover(meta)["MRCONSO"].parts]
        assert parts == ["aa", "ab"]
        out = tmp_path / layout / "kg"
        assert extract_umls(meta, out)["tables"]["names"] == 3


def test_quotes_and_non_ascii_in_real_rxnorm_rows(tmp_path):
    meta = tmp_path / "META"
    meta.mkdir()
    text = RXNORM.read_text(encoding="utf-8")
    # A leading double quote breaks CSV readers with quoting on; it must come through as-is.
    text += '9999|ENG||||||99999999|99999999|9999||RXNORM|SY|9999|"Hot" flushes remedy||N|4096|\n'
    (meta / "MRCONSO.RRF").write_text(text, encoding="utf-8")
    out = tmp_path / "kg"
    extract_umls(meta, out)
    assert q(out, "SELECT name FROM names WHERE cui = '9999'") == [('"Hot" flushes remedy',)]
    assert q(out, "SELECT count(*) FROM names WHERE name LIKE '%Paracétamol%'")[0][0] >= 1
    n_rows = sum(1 for line in text.splitlines() if line.split("|")[16] == "N")
    assert q(out, "SELECT count(*) FROM names") == [(n_rows,)]


@pytest.mark.parametrize("pointed_at", ["META", "release"])
def test_release_folder_holding_meta_is_accepted(tmp_path, pointed_at):
    meta = scispacy_meta(tmp_path)
    target = meta if pointed_at == "META" else meta.parent
    assert extract_umls(target, tmp_path / "kg")["tables"]["concepts"] == 2
