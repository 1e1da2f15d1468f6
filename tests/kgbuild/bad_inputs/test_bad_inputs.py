"""Hostile but realistic inputs to extract, build-pairs, publish and validate, one table row each.

Every row runs the real CLI in a fresh workspace and makes the same three assertions: no traceback and one message
line matching the row's pattern; every input file unchanged (checksums before and after); and any previous output
unchanged — for a failing row the whole workspace is byte-for-byte what it was, temporary folders included.

Workspace: META/ (the bundled sample release), hp.obo (tests/fixtures/obo/mini.obo), kg/ (the sample extracted
once per session), pairs/ (built once from it) and, when the row asks for it, out/ holding a previous output.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgbuild.cli import app

TESTS = Path(__file__).resolve().parents[2]
SAMPLE_META = TESTS.parent / "kgbuild" / "sample" / "META"
MINI_OBO = TESTS / "fixtures" / "obo" / "mini.obo"
INPUTS = ("META", "hp.obo", "kg", "pairs")


@dataclass
class Case:
    id: str
    args: str  # placeholders: {W} workspace, {META} {OBO} {KG} {PAIRS} {OUT}
    code: int
    message: str  # a regex the one error (or warning) line must match
    setup: Callable[[Path], None] | None = None  # mutates the workspace (inputs) before the run
    previous: str | None = None  # "kg" or "pairs": {OUT} holds a copy of that earlier output
    changes: tuple[str, ...] = ()  # workspace paths a successful run may write (besides {OUT})
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    cwd: str | None = None  # run from this workspace folder (for `--out .`)
    one_line: bool = True  # validate prints its table of failed checks before the error line
    needs_non_root: bool = False  # file permissions do not stop root


# ---- workspace mutations -------------------------------------------------------------------------------------------


def remove(*names: str) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        for name in names:
            target = w / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()

    return run


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def stale_temp(kind: str, name: str = "out", marker: bool = True, pid: int | None = None) -> Callable[[Path], None]:
    """A temporary folder as a killed run leaves it beside {OUT}."""

    def run(w: Path) -> None:
        folder = w / f".{name}.{kind}-{pid or dead_pid()}-0123abcd"
        folder.mkdir()
        (folder / "spill.tmp").write_bytes(b"x" * 1000)
        if marker:
            (folder / ".kgbuild-output").write_text(json.dumps({"tool": "kgbuild", "pid": 1}))

    return run


def interrupt_at(target: str) -> Callable[[pytest.MonkeyPatch], None]:
    def run(monkeypatch: pytest.MonkeyPatch) -> None:
        def ctrl_c(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(target, ctrl_c)

    return run


def make_dir(name: str, files: dict[str, bytes] | None = None) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        (w / name).mkdir(parents=True, exist_ok=True)
        for file, data in (files or {}).items():
            (w / name / file).write_bytes(data)

    return run


def edit(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        path = w / name
        path.write_bytes(change(path.read_bytes()))

    return run


def replace(name: str, old: bytes, new: bytes) -> Callable[[Path], None]:
    def change(data: bytes) -> bytes:
        assert old in data, (name, old)
        return data.replace(old, new, 1)

    return edit(name, change)


def drop_mrfiles_line(name: str) -> Callable[[Path], None]:
    return edit(
        "META/MRFILES.RRF", lambda d: b"".join(x for x in d.splitlines(True) if not x.startswith(name.encode()))
    )


def gzip_as(name: str, target: str, cut: int | None = None, tail: bytes = b"") -> Callable[[Path], None]:
    """Compress META/name into META/target (cut to `cut` bytes, `tail` appended), removing the original."""

    def run(w: Path) -> None:
        data = gzip.compress((w / "META" / name).read_bytes())
        (w / "META" / name).unlink()
        (w / "META" / target).write_bytes(data[:cut] + tail if cut else data + tail)

    return run


def zip_meta(target: str, members: tuple[str, ...] | None = None) -> Callable[[Path], None]:
    """A release zip of META at {W}/target (as NLM ships it: <release>/META/...), or of only `members`."""

    def run(w: Path) -> None:
        with zipfile.ZipFile(w / target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("2099AA/README.txt", "release notes")
            for p in sorted((w / "META").iterdir()):
                if members is None or p.name in members:
                    zf.write(p, f"2099AA/META/{p.name}")

    return run


def gzip_to(source: str, target: str, cut: int = 0) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        data = gzip.compress((w / source).read_bytes())
        (w / target).write_bytes(data[: len(data) - cut])

    return run


def write(name: str, data: bytes) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        (w / name).write_bytes(data)

    return run


def split(name: str, lines: int, drop: tuple[str, ...] = (), keep_whole: bool = False) -> Callable[[Path], None]:
    """Split META/name into .aa, .ab, … parts of `lines` lines (as `split -l` does), then drop some parts."""

    def run(w: Path) -> None:
        whole = w / "META" / name
        rows = whole.read_bytes().splitlines(True)
        for i in range(0, len(rows), lines):
            suffix = chr(97 + i // lines // 26) + chr(97 + i // lines % 26)
            (w / "META" / f"{name}.{suffix}").write_bytes(b"".join(rows[i : i + lines]))
        if not keep_whole:
            whole.unlink()
        for part in drop:
            target = w / "META" / part
            target.unlink() if target.exists() else None
            if part.endswith(".gz"):
                plain = w / "META" / part.removesuffix(".gz")
                target.write_bytes(gzip.compress(plain.read_bytes()))
                plain.unlink()

    return run


def corrupt_middle(name: str) -> Callable[[Path], None]:
    """Zeros over 200 bytes a third of the way into a Parquet file: the footer still reads, the data does not."""

    def change(data: bytes) -> bytes:
        at = len(data) // 3
        return data[:at] + b"\x00" * 200 + data[at + 200 :]

    return edit(name, change)


def chmod(name: str, mode: int) -> Callable[[Path], None]:
    return lambda w: (w / name).chmod(mode)


def duplicate_rows(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), path)


def nul_in_first_name(w: Path) -> None:
    """A KG made before extract refused NUL bytes: one name carries one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = w / "kg" / "names.parquet"
    table = pq.read_table(path)
    names = table.column("name").to_pylist()
    names[0] = names[0][:3] + "\x00" + names[0][3:]
    pq.write_table(table.set_column(table.schema.get_field_index("name"), "name", pa.array(names)), path)


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        for step in steps:
            step(w)

    return run


# ---- the table -----------------------------------------------------------------------------------------------------

EXTRACT = "extract --no-progress --umls {META} --out {OUT}"
FORCED = EXTRACT + " --force"  # over a previous output, which a failed run must leave as it was
OBO_FORCED = "extract --obo {OBO} --out {OUT} --force"
PAIRS_FORCED = "build-pairs --kg {KG} --out {OUT} --force"

CASES = [
    # 1. --force never deletes an input, nor a folder kgbuild did not write
    Case(
        "force-out-is-umls",
        "extract --no-progress --umls {META} --out {META} --force",
        1,
        r"--out is the same path as the input --umls",
    ),
    Case(
        "force-out-inside-umls",
        "extract --no-progress --umls {META} --out {META}/kg --force",
        1,
        r"--out is inside the input --umls",
    ),
    Case(
        "force-out-holds-umls",
        "extract --no-progress --umls {META} --out {W} --force",
        1,
        r"--out holds the input --umls",
    ),
    Case("force-out-is-obo-parent", "extract --obo {OBO} --out {W} --force", 1, r"--out holds the input --obo"),
    Case(
        "force-out-is-kg", "build-pairs --kg {KG} --out {KG} --force", 1, r"--out is the same path as the input --kg"
    ),
    Case("force-out-holds-kg", "build-pairs --kg {KG} --out {W} --force", 1, r"--out holds the input --kg"),
    Case(
        "force-out-inside-definitions",
        "build-pairs --kg {KG} --definitions {PAIRS} --out {PAIRS}/x --force",
        1,
        r"--out is inside the input --definitions",
    ),
    Case(
        "force-stage-dir-is-data-dir",
        "publish {KG} --repo-id lab/kg --dry-run --stage-dir {KG} --force",
        1,
        r"--stage-dir is the same path as the input DATA_DIR",
    ),
    Case(
        "force-stage-dir-holds-data-dir",
        "publish {KG} --repo-id lab/kg --dry-run --stage-dir {W} --force",
        1,
        r"--stage-dir holds the input DATA_DIR",
    ),
    Case(
        "force-stage-dir-inside-data-dir",
        "publish {KG} --repo-id lab/kg --dry-run --stage-dir {KG}/hub",
        1,
        r"--stage-dir is inside the input DATA_DIR",
    ),
    Case(
        "force-foreign-folder",
        EXTRACT + " --force",
        1,
        r"--out exists and was not written by kgbuild",
        setup=make_dir("out", {"thesis.tex": b"\\begin{document}"}),
    ),
    Case(
        "force-foreign-stage-dir",
        "publish {KG} --repo-id lab/kg --dry-run --stage-dir {OUT} --force",
        1,
        r"--stage-dir exists and was not written by kgbuild",
        setup=make_dir("out", {"notes.txt": b"mine"}),
    ),
    Case(
        "force-foreign-pairs-out",
        "build-pairs --kg {KG} --out {OUT} --force",
        1,
        r"--out exists and was not written by kgbuild",
        setup=make_dir("out", {"a.parquet": b"PAR1"}),
    ),
    Case(
        "out-exists-without-force",
        EXTRACT,
        1,
        r"--out already exists \(an earlier kgbuild output\).*--force",
        previous="kg",
    ),
    Case(
        "out-is-a-file",
        EXTRACT,
        1,
        r"--out exists and is a file, not a folder",
        setup=lambda w: (w / "out").write_text("a file"),
    ),
    Case(
        "out-parent-is-a-file",
        "extract --no-progress --umls {META} --out {W}/hp.obo/kg",
        1,
        r"cannot create --out: .*hp\.obo is a file",
    ),
    Case(
        "out-is-a-symlink",
        EXTRACT + " --force",
        1,
        r"--out is a symbolic link",
        setup=lambda w: (w / "out").symlink_to(w / "kg"),
    ),
    # 2. missing files: MRCONSO is required; a file MRFILES lists must be here; other absences are named once
    Case(
        "missing-mrconso",
        FORCED,
        1,
        r"MRCONSO\.RRF not found \(found MRDEF",
        previous="kg",
        setup=remove("META/MRCONSO.RRF"),
    ),
    Case(
        "missing-mrrel-listed-in-mrfiles",
        FORCED,
        1,
        r"MRREL\.RRF is missing, but MRFILES\.RRF lists it with 3,532 rows",
        previous="kg",
        setup=remove("META/MRREL.RRF"),
    ),
    Case(
        "missing-mrsty-listed-in-mrfiles",
        FORCED,
        1,
        r"MRSTY\.RRF is missing, but MRFILES\.RRF lists it",
        previous="kg",
        setup=remove("META/MRSTY.RRF"),
    ),
    Case(
        "missing-optional-without-mrfiles",
        EXTRACT,
        0,
        r"optional file\(s\) absent: MRREL\.RRF \(no relations\); MRDEF\.RRF \(no UMLS definitions\).*manifest",
        setup=remove("META/MRREL.RRF", "META/MRDEF.RRF", "META/MRFILES.RRF"),
    ),
    Case("missing-meta-folder", "extract --no-progress --umls {W}/nope --out {OUT}", 1, r"META folder not found"),
    Case(
        "umls-is-a-file",
        "extract --no-progress --umls {OBO} --out {OUT}",
        1,
        r"hp\.obo: --umls is a file, not a folder",
    ),
    Case(
        "not-a-meta-folder",
        "extract --no-progress --umls {W}/photos --out {OUT}",
        1,
        r"MRCONSO\.RRF not found \(no \.RRF file at all",
        setup=make_dir("photos", {"cat.jpg": b"\xff\xd8"}),
    ),
    Case(
        "rows-fewer-than-mrfiles",
        FORCED,
        1,
        r"MRCONSO\.RRF has 776 rows but MRFILES\.RRF declares 779 .* a part is missing or the file is truncated",
        previous="kg",
        setup=edit("META/MRCONSO.RRF", lambda d: b"".join(d.splitlines(True)[:-3])),
    ),
    Case(
        "rows-more-than-mrfiles",
        FORCED,
        1,
        r"has 790 rows but MRFILES\.RRF declares 779 .* extra rows",
        previous="kg",
        setup=edit("META/MRCONSO.RRF", lambda d: d + b"".join(d.splitlines(True)[:11])),
    ),
    Case(  # issue 28: without MRFILES the contract caught it, but named neither the input nor the line
        "duplicate-atom-without-mrfiles",
        FORCED,
        1,
        r"MRCONSO\.RRF:780: atom A\d+ is listed twice in MRCONSO \(line 3 and line 780\)",
        previous="kg",
        setup=both(
            remove("META/MRFILES.RRF"),
            edit("META/MRCONSO.RRF", lambda d: d + d.splitlines(True)[2]),
        ),
    ),
    Case(
        "duplicate-rank-without-mrfiles",
        FORCED,
        1,
        r"MRRANK\.RRF:\d+: MRRANK ranks \S+ \S+ twice \(line 1 and line \d+\)",
        previous="kg",
        setup=both(
            remove("META/MRFILES.RRF"),
            edit("META/MRRANK.RRF", lambda d: d + d.splitlines(True)[0]),
        ),
    ),
    Case(
        "empty-file",
        FORCED,
        1,
        r"MRSTY\.RRF: MRSTY\.RRF is empty",
        previous="kg",
        setup=edit("META/MRSTY.RRF", lambda d: b""),
    ),
    # 3. without MRDOC, both directions of an edge still collapse (built-in inverses), and the manifest says so
    Case(
        "no-mrdoc-builtin-inverses",
        EXTRACT,
        0,
        r"MRDOC\.RRF \(no relation labels, built-in REL inverses",
        setup=both(remove("META/MRDOC.RRF"), drop_mrfiles_line("MRDOC")),
    ),
    # 4. split parts: a gap, a whole file beside its parts, gzipped beside plain parts
    Case(
        "split-gap",
        FORCED,
        1,
        r"parts of MRCONSO\.RRF are incomplete: found MRCONSO\.RRF\.aa, MRCONSO\.RRF\.ac; "
        r"MRCONSO\.RRF\.ab is missing",
        previous="kg",
        setup=split("MRCONSO.RRF", 300, drop=("MRCONSO.RRF.ab",)),
    ),
    Case(
        "split-without-aa",
        FORCED,
        1,
        r"found MRREL\.RRF\.ab, MRREL\.RRF\.ac; MRREL\.RRF\.aa is missing",
        previous="kg",
        setup=split("MRREL.RRF", 1500, drop=("MRREL.RRF.aa",)),
    ),
    Case(
        "split-beside-whole",
        FORCED,
        1,
        r"MRCONSO\.RRF is present in 2 forms \(MRCONSO\.RRF; MRCONSO\.RRF\.aa, MRCONSO\.RRF\.ab.*ambiguous",
        previous="kg",
        setup=split("MRCONSO.RRF", 200, keep_whole=True),
    ),
    Case(
        "split-gz-beside-plain",
        FORCED,
        1,
        r"present in 2 forms \(MRCONSO\.RRF\.aa\.gz; MRCONSO\.RRF\.ab",
        previous="kg",
        setup=split("MRCONSO.RRF", 200, drop=("MRCONSO.RRF.aa.gz",)),
    ),
    Case(
        "whole-gz-beside-plain",
        FORCED,
        1,
        r"MRSTY\.RRF is present in 2 forms",
        previous="kg",
        setup=lambda w: (w / "META" / "MRSTY.RRF.gz").write_bytes(
            gzip.compress((w / "META" / "MRSTY.RRF").read_bytes())
        ),
    ),
    Case("split-parts-read-in-order", EXTRACT, 0, r"^wrote ", setup=split("MRREL.RRF", 1000)),
    Case("gz-parts-read", EXTRACT, 0, r"^wrote ", setup=gzip_as("MRREL.RRF", "MRREL.RRF.gz")),
    # 6. filters that keep nothing: the option, and what the input offers
    Case(
        "lang-unknown",
        FORCED + " --lang XXX",
        1,
        r"--lang XXX kept 0 of 779 atoms; languages present: ENG, SPA, FRE",
        previous="kg",
    ),
    Case(
        "lang-lower-case",
        FORCED + " --lang eng",
        1,
        r"--lang eng kept 0 of 779 atoms; languages present: ENG",
        previous="kg",
    ),
    Case(
        "sab-unknown",
        FORCED + " --sab NOPE",
        1,
        r"--sab NOPE kept 0 of \d+ atoms .*sources present: ICD10CM",
        previous="kg",
    ),
    Case(
        "exclude-every-sab",
        FORCED + " --exclude-sab MSH --exclude-sab ICD10CM --exclude-sab SNOMEDCT_US",
        1,
        r"--exclude-sab MSH --exclude-sab ICD10CM --exclude-sab SNOMEDCT_US kept 0",
        previous="kg",
    ),
    Case(
        "max-srl-negative",
        FORCED + " --max-srl -1",
        1,
        r"--max-srl -1 kept 0 of \d+ atoms .*levels present: 4, 0, 9",
        previous="kg",
    ),
    Case(
        "sab-unknown-among-valid",
        EXTRACT + " --sab MSH --sab NOPE",
        0,
        r"--sab NOPE matches no atom in MRCONSO\.RRF \(present: ICD10CM, MSH",
    ),
    Case("lang-unknown-among-valid", EXTRACT + " --lang ENG --lang XX", 0, r"--lang XX matches no atom"),
    # 7. corrupt or unreadable inputs: the file, the line where known, and the fix
    Case(
        "gz-truncated",
        FORCED,
        1,
        r"MRREL\.RRF\.gz: the gzip file is truncated or corrupt",
        previous="kg",
        setup=both(gzip_as("MRREL.RRF", "MRREL.RRF.gz", cut=4000), drop_mrfiles_line("MRREL")),
    ),
    Case(
        "gz-trailing-garbage",
        FORCED,
        1,
        r"MRREL\.RRF\.gz: the gzip file is truncated or corrupt",
        previous="kg",
        setup=gzip_as("MRREL.RRF", "MRREL.RRF.gz", tail=b"garbage"),
    ),
    Case(
        "gz-that-is-text",
        FORCED,
        1,
        r"MRREL\.RRF\.gz: named \.gz but not gzip-compressed",
        previous="kg",
        setup=lambda w: (w / "META" / "MRREL.RRF").rename(w / "META" / "MRREL.RRF.gz"),
    ),
    Case(
        "rrf-is-a-folder",
        FORCED,
        1,
        r"MRSTY\.RRF: not a regular file",
        previous="kg",
        setup=both(remove("META/MRSTY.RRF"), make_dir("META/MRSTY.RRF")),
    ),
    Case(
        "rrf-dangling-link",
        FORCED,
        1,
        r"MRDEF\.RRF: not a regular file",
        previous="kg",
        setup=both(remove("META/MRDEF.RRF"), lambda w: (w / "META" / "MRDEF.RRF").symlink_to(w / "gone")),
    ),
    Case(
        "rank-not-a-number",
        FORCED,
        1,
        r"MRRANK\.RRF:1: RANK '08x8' is not a rank",
        previous="kg",
        setup=replace("META/MRRANK.RRF", b"0888|", b"08x8|"),
    ),
    Case("memory-limit-bad", FORCED + " --memory-limit lots", 1, r"bad --memory-limit 'lots'", previous="kg"),
    Case(
        "too-few-fields",
        FORCED,
        1,
        r"MRCONSO\.RRF:1: row has 18 '\|'-separated fields, expected 19",
        previous="kg",
        setup=replace("META/MRCONSO.RRF", b"|4|N||\nC0178238", b"|4|N|\nC0178238"),
    ),
    Case(
        "value-after-last-column",
        FORCED,
        1,
        r"MRSTY\.RRF:1: .*value after the last column",
        previous="kg",
        setup=edit("META/MRSTY.RRF", lambda d: d.replace(b"|\n", b"|oops\n", 1)),
    ),
    Case(
        "invalid-utf8",
        FORCED,
        1,
        r"MRCONSO\.RRF:3: invalid UTF-8",
        previous="kg",
        setup=replace("META/MRCONSO.RRF", b"Pediculosis", b"Pedic\xffulosis"),
    ),
    # 8. licence filter: an unreadable SRL is an error, never level 0
    Case(
        "srl-malformed",
        FORCED + " --max-srl 0",
        1,
        r"MRCONSO\.RRF:3: SRL 'x' is not a source restriction level",
        previous="kg",
        setup=replace("META/MRCONSO.RRF", b"infestations (B85-B89)|4|", b"infestations (B85-B89)|x|"),
    ),
    Case(
        "mrsab-srl-malformed",
        FORCED,
        1,
        r"MRSAB\.RRF:\d+: SRL 'four' is not a source restriction level",
        previous="kg",
        setup=replace("META/MRSAB.RRF", b"||||4|||FULL", b"||||four|||FULL"),
    ),
    # 9. smaller: a NUL byte, a 2 MB line
    Case(
        "nul-byte-in-name",
        FORCED,
        1,
        r"MRCONSO\.RRF:3: STR 'Pedic\\\\0ulosis.* holds a NUL byte",
        previous="kg",
        setup=replace("META/MRCONSO.RRF", b"Pediculosis", b"Pedic\x00ulosis"),
    ),
    Case(
        "nul-byte-in-definition",
        FORCED,
        1,
        r"MRDEF\.RRF:\d+: DEF .* holds a NUL byte",
        previous="kg",
        setup=edit("META/MRDEF.RRF", lambda d: d.replace(b" ", b"\x00", 1)),
    ),
    Case(
        "line-of-2mb",
        FORCED,
        1,
        r"MRSTY\.RRF:488: line longer than 2,000,000 bytes",
        previous="kg",
        setup=edit("META/MRSTY.RRF", lambda d: d + b"C1|" + b"x" * 2_100_000 + b"|\n"),
    ),
    # OBO: an empty file, JSON, bad bytes (line and column), a BOM, a NUL byte
    Case(
        "obo-empty",
        OBO_FORCED,
        1,
        r"hp\.obo: no term to extract: 0 \[Term\] stanza",
        previous="kg",
        setup=edit("hp.obo", lambda d: b""),
    ),
    Case(
        "obo-only-obsolete",
        OBO_FORCED,
        1,
        r"no term to extract: 1 \[Term\] stanza\(s\), 1 obsolete",
        previous="kg",
        setup=edit("hp.obo", lambda d: b"format-version: 1.4\n\n[Term]\nid: X:1\nname: x\nis_obsolete: true\n"),
    ),
    Case(
        "obo-is-json",
        OBO_FORCED,
        1,
        r"hp\.obo:1: this looks like JSON .*not OBO",
        previous="kg",
        setup=edit("hp.obo", lambda d: b'{"graphs": [{"id": "http://purl.obolibrary.org/obo/hp.owl"}]}\n'),
    ),
    Case(
        "obo-is-pretty-json",
        OBO_FORCED,
        1,
        r"hp\.obo:1: this looks like JSON",
        previous="kg",
        setup=edit("hp.obo", lambda d: b'{\n  "graphs": []\n}\n'),
    ),
    Case(
        "obo-not-utf8",
        OBO_FORCED,
        1,
        r"hp\.obo:29: not UTF-8 text: byte 0xe9 at column 24",
        previous="kg",
        setup=replace("hp.obo", b"Autosomal dominant", b"Autosomal dominan\xe9t"),
    ),
    Case(
        "obo-nul-byte",
        OBO_FORCED,
        1,
        r"hp\.obo:29: a NUL byte at column 16",
        previous="kg",
        setup=replace("hp.obo", b"Autosomal dominant", b"Autosomal\x00 dominant"),
    ),
    Case(
        "umls-release-zip",
        "extract --no-progress --umls {W}/r.zip --out {OUT}",
        0,
        r"^wrote ",
        setup=zip_meta("r.zip"),
    ),
    Case(
        "umls-zip-without-meta",
        "extract --no-progress --umls {W}/r.zip --out {OUT} --force",
        1,
        r"r\.zip: no META/MRCONSO\.RRF in the zip \(it holds 2099AA/META/MRREL\.RRF, 2099AA/README\.txt\)",
        previous="kg",
        setup=zip_meta("r.zip", members=("MRREL.RRF",)),
    ),
    Case("obo-gz", "extract --obo {W}/hp.obo.gz --out {OUT}", 0, r"^wrote ", setup=gzip_to("hp.obo", "hp.obo.gz")),
    Case(
        "obo-gz-truncated",
        "extract --obo {W}/hp.obo.gz --out {OUT} --force",
        1,
        r"hp\.obo\.gz: the gzip file is truncated or corrupt",
        previous="kg",
        setup=gzip_to("hp.obo", "hp.obo.gz", cut=300),
    ),
    Case(
        "vocab-layout-missing-column",
        "extract --vocab {W}/medic.tsv --layout ctd --out {OUT} --force",
        1,
        r"medic\.tsv:3: no DiseaseID or ChemicalID column for the id",
        previous="kg",
        setup=write("medic.tsv", b"# Fields:\n# DiseaseName\tSynonyms\nDiabetes Mellitus\tDM\n"),
    ),
    Case(
        "merge-on-unknown-namespace",
        "extract --obo {OBO} --vocab {W}/kb.jsonl --layout scispacy --merge-on UMLS,FOO --out {OUT} --force",
        1,
        r"--merge-on FOO: unknown namespace — name one of ",
        previous="kg",
        setup=write("kb.jsonl", b'{"concept_id": "C0025958", "canonical_name": "Microcephalus"}\n'),
    ),
    Case(
        "merge-conflict-refused",
        "extract --obo {OBO} --vocab {W}/kb.jsonl --layout scispacy --merge-on UMLS --on-conflict fail "
        "--out {OUT} --force",
        1,
        r"1 merge conflicts .*e\.g\. HP:0000252, MONDO:0001149, C0025958",
        previous="kg",
        setup=write("kb.jsonl", b'{"concept_id": "C0025958", "canonical_name": "Microcephalus"}\n'),
    ),
    Case(
        "merge-conflict-counted",
        "extract --obo {OBO} --vocab {W}/kb.jsonl --layout scispacy --merge-on UMLS --out {OUT}",
        0,
        r"^merged on UMLS: 0 terms joined 0 concepts",
        setup=write("kb.jsonl", b'{"concept_id": "C0025958", "canonical_name": "Microcephalus"}\n'),
    ),
    Case("obo-is-a-folder", "extract --obo {META} --out {OUT}", 1, r"--obo is a folder, not an OBO file"),
    Case("obo-missing", "extract --obo {W}/nope.obo --out {OUT}", 1, r"nope\.obo: OBO file not found"),
    Case(
        "obo-with-bom",
        "extract --obo {OBO} --out {OUT}",
        0,
        r"^wrote ",
        setup=edit("hp.obo", lambda d: b"\xef\xbb\xbf" + d),
    ),
    Case(
        "obo-cycle",
        OBO_FORCED,
        1,
        r"hp\.obo:\d+: is_a cycle",
        previous="kg",
        setup=lambda w: shutil.copyfile(MINI_OBO.parent / "cyclic.obo", w / "hp.obo"),
    ),
    # build-pairs
    Case(
        "pairs-lang-unknown",
        PAIRS_FORCED + " --lang XX",
        1,
        r"--lang XX kept 0 of 574 names; languages present: ENG \(574\)",
        previous="pairs",
    ),
    Case(
        "pairs-seed-huge",
        PAIRS_FORCED + " --seed 99999999999999999999",
        1,
        r"--seed \d+ does not fit in 64 bits",
        previous="pairs",
    ),
    Case("pairs-memory-limit-bad", PAIRS_FORCED + " --memory-limit 4", 1, r"bad --memory-limit '4'", previous="pairs"),
    Case(
        "pairs-out-of-memory",
        PAIRS_FORCED + " --memory-limit 1MB",
        1,
        r"DuckDB ran out of memory in step \w+ "
        r"\(memory limit 1MB\).*raise --memory-limit",
        previous="pairs",
    ),
    Case(
        "pairs-split-percent-bad",
        PAIRS_FORCED + " --train-pct 90 --dev-pct 20",
        1,
        r"bad split percentages",
        previous="pairs",
    ),
    Case(
        "pairs-kg-corrupt-mid-file",
        PAIRS_FORCED,
        1,
        r"kg/names\.parquet: cannot read this Parquet file: it is truncated or corrupt",
        previous="pairs",
        setup=corrupt_middle("kg/names.parquet"),
    ),
    Case(
        "pairs-kg-truncated",
        PAIRS_FORCED,
        1,
        r"kg/relations\.parquet: cannot read table relations: the Parquet file is truncated",
        previous="pairs",
        setup=edit("kg/relations.parquet", lambda d: d[:2000]),
    ),
    Case(
        "pairs-kg-not-parquet",
        PAIRS_FORCED,
        1,
        r"kg/concepts\.parquet: cannot read table concepts",
        previous="pairs",
        setup=edit("kg/concepts.parquet", lambda d: b"cui,name\nC1,x\n"),
    ),
    Case(
        "pairs-kg-missing-table",
        PAIRS_FORCED,
        1,
        r"the KG folder has no relations table",
        previous="pairs",
        setup=remove("kg/relations.parquet"),
    ),
    Case(
        "pairs-kg-nul-byte",
        PAIRS_FORCED,
        1,
        r"kg/names\.parquet: 1 name\(s\) hold a NUL byte",
        previous="pairs",
        setup=nul_in_first_name,
    ),
    Case("pairs-kg-missing", "build-pairs --kg {W}/nope --out {OUT}", 1, r"nope: KG folder not found"),
    Case("pairs-kg-is-a-file", "build-pairs --kg {OBO} --out {OUT}", 1, r"hp\.obo: --kg is a file, not a folder"),
    Case(
        "pairs-definitions-missing",
        "build-pairs --kg {KG} --definitions {W}/nope --out {OUT}",
        1,
        r"nope: definitions folder not found",
    ),
    Case(
        "pairs-definitions-without-table",
        "build-pairs --kg {KG} --definitions {PAIRS} --out {OUT}",
        1,
        r"pairs: no llm_definitions table here",
    ),
    Case(
        "extract-out-of-memory", FORCED + " --memory-limit 1MB", 1, r"DuckDB ran out of memory in step", previous="kg"
    ),
    # validate: a truncated or damaged file is a failed check in the table, not a stop; unknown files are named
    Case(
        "validate-truncated",
        "validate {KG}",
        1,
        r"contract check\(s\) failed in \d+ table\(s\) \(listed above\)",
        one_line=False,
        setup=edit("kg/concepts.parquet", lambda d: d[:3000]),
    ),
    Case(
        "validate-corrupt-mid-file",
        "validate {KG}",
        1,
        r"names\.parquet is truncated or corrupt",
        one_line=False,
        setup=corrupt_middle("kg/names.parquet"),
    ),
    Case(
        "validate-duplicate-key",
        "validate {KG}",
        1,
        r"2 contract check\(s\) failed in 1 table",
        one_line=False,
        setup=lambda w: duplicate_rows(w / "kg" / "concepts.parquet"),
    ),
    Case(
        "validate-unknown-parquet",
        "validate {KG}",
        0,
        r"not checked, no contract for them: extra\.parquet",
        setup=lambda w: shutil.copyfile(w / "kg" / "sources.parquet", w / "kg" / "extra.parquet"),
    ),
    Case("validate-a-file", "validate {OBO}", 1, r"hp\.obo: not a folder \(a file\)"),
    Case("validate-missing", "validate {W}/nope", 1, r"nope: folder not found"),
    Case("validate-no-tables", "validate {META}", 1, r"no table with a contract found here"),
    # publish: everything the user can fix fails before anything is staged or sent
    Case(
        "publish-corrupt-table",
        "publish {KG} --repo-id lab/kg --dry-run",
        1,
        r"names\.parquet: contract check failed: readable: names\.parquet is truncated or corrupt",
        setup=corrupt_middle("kg/names.parquet"),
    ),
    Case(
        "publish-table-missing",
        "publish {KG} --repo-id lab/kg --dry-run",
        1,
        r"table\(s\) names listed in manifest\.json are missing",
        setup=remove("kg/names.parquet"),
    ),
    Case(
        "publish-broken-manifest",
        "publish {KG} --repo-id lab/kg --dry-run",
        1,
        r"manifest\.json:1: manifest\.json is not valid JSON",
        setup=edit("kg/manifest.json", lambda d: b"{,}"),
    ),
    Case("publish-missing-dir", "publish {W}/nope --repo-id lab/kg --dry-run", 1, r"DATA_DIR not found"),
    Case(
        "publish-data-dir-is-a-file",
        "publish {OBO} --repo-id lab/kg --dry-run",
        1,
        r"DATA_DIR is a file, not a folder",
    ),
    Case("publish-bad-repo-id", "publish {KG} --repo-id not-a-repo --dry-run", 1, r"invalid --repo-id 'not-a-repo'"),
    Case(
        "publish-public-restricted",
        "publish {KG} --repo-id lab/kg --public --stage-dir {OUT}",
        1,
        r"--i-have-redistribution-rights",
    ),
    Case(
        "publish-stage-exists",
        "publish {KG} --repo-id lab/kg --dry-run --stage-dir {OUT}",
        1,
        r"--stage-dir already exists \(an earlier kgbuild output\)",
        previous="kg",
    ),
    # permissions (as a non-root user; root reads and writes through them)
    Case(
        "rrf-unreadable",
        FORCED,
        1,
        r"MRREL\.RRF: cannot read the file \(Permission denied\)",
        previous="kg",
        setup=chmod("META/MRREL.RRF", 0),
        needs_non_root=True,
    ),
    Case(
        "out-parent-unwritable",
        "extract --no-progress --umls {META} --out {W}/locked/kg",
        1,
        r"cannot write in .*locked \(permission denied\)",
        setup=both(make_dir("locked"), chmod("locked", 0o500)),
        needs_non_root=True,
    ),
    Case(
        "out-parent-unwritable-as-seen",
        "extract --no-progress --umls {META} --out {W}/locked/kg",
        1,
        r"cannot write in .*locked \(permission denied\)",
        setup=make_dir("locked"),
        patch=lambda mp: mp.setattr("kgbuild.core.atomic._can_write", lambda folder: False),
    ),
    # 5. killed runs: their temporary folders are removed by the next run when provably ours and dead
    Case(
        "stale-temp-removed",
        EXTRACT,
        0,
        r"cleaned up 1 temporary folder\(s\).*\.out\.tmp-",
        setup=stale_temp("tmp"),
        changes=(".out.tmp-",),
    ),
    Case(
        "stale-old-rolled-back",
        EXTRACT + " --force",
        0,
        r"cleaned up 1 temporary folder\(s\)",
        setup=lambda w: shutil.copytree(w / "kg", w / f".out.old-{dead_pid()}-0123abcd"),
        changes=(".out.old-",),
    ),
    Case("live-temp-kept", EXTRACT, 0, r"^wrote ", setup=stale_temp("tmp", pid=1)),
    Case("foreign-temp-kept", EXTRACT, 0, r"^wrote ", setup=stale_temp("tmp", marker=False)),
    Case(
        "out-dot-in-empty-folder",
        "extract --no-progress --umls {META} --out .",
        0,
        r"^wrote \.",
        cwd="out",
        setup=make_dir("out"),
    ),
    Case(
        "out-dot-replaces-own-output",
        "extract --no-progress --umls {META} --out . --force",
        0,
        r"^wrote \.",
        cwd="out",
        previous="kg",
    ),
    # 9. Ctrl-C: "interrupted", exit code 130, nothing replaced, nothing left behind
    Case(
        "ctrl-c-extract",
        EXTRACT + " --force",
        130,
        r"^interrupted$",
        previous="kg",
        patch=interrupt_at("kgbuild.umls.extract.check_tables_or_raise"),
    ),
    Case(
        "ctrl-c-build-pairs",
        "build-pairs --kg {KG} --out {OUT} --force",
        130,
        r"^interrupted$",
        previous="pairs",
        patch=interrupt_at("kgbuild.pairs.build.check_tables_or_raise"),
    ),
    Case(
        "ctrl-c-obo",
        "extract --obo {OBO} --out {OUT} --force",
        130,
        r"^interrupted$",
        previous="kg",
        patch=interrupt_at("kgbuild.sources.extract.check_tables_or_raise"),
    ),
]


# ---- the three assertions ------------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 (files), 'dir' (folders), 'link' (symbolic links), hidden entries included."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "link"
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="session")
def outputs(sample_kg, tmp_path_factory) -> dict[str, Path]:
    from kgbuild.pairs import build_pairs

    pairs = tmp_path_factory.mktemp("bad-inputs") / "pairs"
    build_pairs(sample_kg, pairs)
    return {"kg": sample_kg, "pairs": pairs}


def workspace(tmp_path: Path, outputs: dict[str, Path], case: Case) -> Path:
    w = tmp_path / "w"
    w.mkdir()
    shutil.copytree(SAMPLE_META, w / "META")
    shutil.copyfile(MINI_OBO, w / "hp.obo")
    shutil.copytree(outputs["kg"], w / "kg")
    shutil.copytree(outputs["pairs"], w / "pairs")
    if case.previous:
        shutil.copytree(outputs[case.previous], w / "out")
    if case.setup:
        case.setup(w)
    return w


def message_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, outputs, tmp_path, monkeypatch):
    if case.needs_non_root and os.geteuid() == 0:
        pytest.skip("root reads and writes whatever the permissions say")
    w = workspace(tmp_path, outputs, case)
    monkeypatch.setenv("HF_TOKEN", "hf_badInputsTestToken")
    monkeypatch.setattr("kgbuild.publish.upload.HfApi", lambda: pytest.fail("publish reached the Hub"))
    if case.patch:
        case.patch(monkeypatch)
    if case.cwd:
        monkeypatch.chdir(w / case.cwd)
    before = snapshot(w)
    places = {"W": w, "META": w / "META", "OBO": w / "hp.obo", "KG": w / "kg", "PAIRS": w / "pairs", "OUT": w / "out"}
    args = [a.format(**places) for a in case.args.split()]

    result = CliRunner().invoke(app, args)

    after = snapshot(w)
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError), result.output
    assert result.exit_code == case.code, result.output
    lines = message_lines(result.stderr)
    if case.code and case.one_line:
        assert len(lines) == 1, result.stderr  # one line, never a wrapped or multi-line dump
    # A run that succeeds prints its result on stdout (the "wrote …" line) and its warnings on stderr.
    shown = [
        line.removeprefix("error: ").removeprefix("warning: ")
        for line in (lines if case.code else message_lines(result.output))
    ]
    assert any(re.search(case.message, line) for line in shown), f"{case.message!r} not in {lines}"
    # inputs never change
    for name in INPUTS:
        assert {k: v for k, v in after.items() if k.split("/")[0] == name} == {
            k: v for k, v in before.items() if k.split("/")[0] == name
        }, f"input {name} changed"
    if case.code:
        assert after == before, "a failed run changed the workspace"
    else:
        allowed = ("out", *case.changes)
        kept = {k: v for k, v in before.items() if not k.split("/")[0].startswith(allowed)}
        assert {k: v for k, v in after.items() if not k.split("/")[0].startswith(allowed)} == kept
        assert not [k for k in after if ".tmp-" in k and k not in before], "a temporary folder was left behind"
