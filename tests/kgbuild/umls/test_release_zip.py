"""extract --umls RELEASE.zip: the NLM download read in place gives the tables the unpacked folder gives."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from kgbuild.core.errors import UserError
from kgbuild.core.tables import differences
from kgbuild.umls.extract import extract_umls

TESTS = Path(__file__).resolve().parents[2]
SCISPACY = TESTS / "fixtures" / "umls" / "scispacy"
RXNORM = TESTS / "fixtures" / "umls" / "therapy-normalization" / "rxnorm_2023-11-06.RRF"


def make_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        zf.writestr("2099AA/README.txt", "the release notes")  # a release zip holds more than META
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def folder_members(folder: Path, prefix: str = "2099AA/META/") -> dict[str, bytes]:
    return {prefix + p.name: p.read_bytes() for p in sorted(folder.iterdir()) if ".RRF" in p.name}


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_sample_release_zip_gives_the_folders_tables(sample_meta, sample_kg, tmp_path, method):
    release = make_zip(tmp_path / "umls-2099AA-metathesaurus-full.zip", folder_members(sample_meta), method)
    manifest = extract_umls(release, tmp_path / "kg")
    assert differences(sample_kg, tmp_path / "kg") == []
    # MRFILES is checked as for the folder: every count declared and matched
    files = manifest["inputs"]["files"]
    assert files["MRCONSO"]["rows"] == files["MRCONSO"]["declared_rows"] == 779
    assert manifest["inputs"]["umls"] == str(release)


def split_gz(data: bytes, n_lines: int) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    return [gzip.compress(b"".join(lines[i : i + n_lines])) for i in range(0, len(lines), n_lines)]


def test_split_gz_members_of_real_rows(tmp_path):
    """RxNorm's real RXNCONSO rows as MRCONSO split into .gz parts, as NLM ships the large files, plus the real
    scispacy MRSTY and MRDEF: the zip and the folder holding the same parts agree."""
    parts = split_gz(RXNORM.read_bytes(), 150)
    assert len(parts) == 3
    meta = tmp_path / "META"
    meta.mkdir()
    for suffix, data in zip(("aa", "ab", "ac"), parts, strict=True):
        (meta / f"MRCONSO.RRF.{suffix}.gz").write_bytes(data)
    for name in ("MRSTY.RRF", "MRDEF.RRF"):
        (meta / name).write_bytes((SCISPACY / name).read_bytes())
    extract_umls(meta, tmp_path / "kg-folder")
    release = make_zip(tmp_path / "r.zip", folder_members(meta))
    manifest = extract_umls(release, tmp_path / "kg-zip")
    assert differences(tmp_path / "kg-folder", tmp_path / "kg-zip") == []
    assert manifest["inputs"]["files"]["MRCONSO"]["parts"] == [f"MRCONSO.RRF.{s}.gz" for s in ("aa", "ab", "ac")]
    assert manifest["tables"]["names"] > 300


def test_mrfiles_count_mismatch_names_the_member(sample_meta, tmp_path):
    members = folder_members(sample_meta)
    members["2099AA/META/MRCONSO.RRF"] = members["2099AA/META/MRCONSO.RRF"].split(b"\n", 1)[1]  # drop a row
    release = make_zip(tmp_path / "r.zip", members)
    with pytest.raises(UserError, match=r"r\.zip!2099AA/META/MRCONSO\.RRF: MRCONSO\.RRF has 778 rows but MRFILES"):
        extract_umls(release, tmp_path / "kg")
    assert not (tmp_path / "kg").exists()


def test_bad_row_in_a_member_is_named_with_its_line(sample_meta, tmp_path):
    members = folder_members(sample_meta)
    members["2099AA/META/MRSTY.RRF"] = members["2099AA/META/MRSTY.RRF"].replace(b"|\n", b"|extra|\n", 1)
    with pytest.raises(UserError, match=r"r\.zip!2099AA/META/MRSTY\.RRF:1: row has"):
        extract_umls(make_zip(tmp_path / "r.zip", members), tmp_path / "kg")


def test_zip_without_meta_is_refused(tmp_path):
    release = make_zip(tmp_path / "r.zip", {"docs/LICENSE.txt": b"licence"})
    with pytest.raises(UserError, match=r"no META/MRCONSO\.RRF in the zip \(it holds 2099AA/README\.txt"):
        extract_umls(release, tmp_path / "kg")
    assert not (tmp_path / "kg").exists()


def test_full_release_zip_says_which_download_to_give(tmp_path):
    release = make_zip(tmp_path / "umls-2099AA-full.zip", {"2099AA-full/2099aa-1-meta.nlm": b"PK..."})
    with pytest.raises(UserError, match=r"this is the Full Release, whose \.nlm members are zips themselves"):
        extract_umls(release, tmp_path / "kg")
