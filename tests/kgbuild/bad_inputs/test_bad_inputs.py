"""Hostile but realistic inputs to extract, build-pairs, publish and validate, one table row each.

Every row runs the real CLI in a fresh workspace and makes the same three assertions: no traceback and one message
line matching the row's pattern; every input file unchanged (checksums before and after); and any previous output
unchanged — for a failing row the whole workspace is byte-for-byte what it was, temporary folders included.

Workspace: META/ (the bundled sample release), hp.obo (tests/fixtures/obo/mini.obo), kg/ (the sample extracted
once per session), pairs/ (built once from it) and, when the row asks for it, out/ holding a previous output.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
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


def both(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        for step in steps:
            step(w)

    return run


# ---- the table -----------------------------------------------------------------------------------------------------

EXTRACT = "extract --quiet --umls {META} --out {OUT}"

CASES = [
    # 1. --force never deletes an input, nor a folder kgbuild did not write
    Case(
        "force-out-is-umls",
        "extract --quiet --umls {META} --out {META} --force",
        1,
        r"--out is the same path as the input --umls",
    ),
    Case(
        "force-out-inside-umls",
        "extract --quiet --umls {META} --out {META}/kg --force",
        1,
        r"--out is inside the input --umls",
    ),
    Case(
        "force-out-holds-umls", "extract --quiet --umls {META} --out {W} --force", 1, r"--out holds the input --umls"
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
        "extract --quiet --umls {META} --out {W}/hp.obo/kg",
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
        "extract --quiet --umls {META} --out .",
        0,
        r"^wrote \.",
        cwd="out",
        setup=make_dir("out"),
    ),
    Case(
        "out-dot-replaces-own-output",
        "extract --quiet --umls {META} --out . --force",
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
        patch=interrupt_at("kgbuild.obo.extract.check_tables_or_raise"),
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
    if case.code:
        assert len(lines) == 1, result.stderr  # one line, never a wrapped or multi-line dump
    shown = [line.removeprefix("error: ").removeprefix("warning: ") for line in lines]
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
