"""The console rules every command shares: --debug anywhere on the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("cli", ["kgbuild", "trainer"])
def test_debug_after_the_subcommand_shows_the_traceback(cli, tmp_path):
    args = (
        ["extract", "--umls", str(tmp_path / "missing"), "--out", str(tmp_path / "kg")]
        if cli == "kgbuild"
        else ["evaluate", "--model", str(tmp_path / "missing"), "--pairs", str(tmp_path)]
    )
    plain = subprocess.run([sys.executable, "-m", cli, *args], capture_output=True, text=True, cwd=ROOT)
    debug = subprocess.run([sys.executable, "-m", cli, *args, "--debug"], capture_output=True, text=True, cwd=ROOT)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr and "error:" in plain.stderr
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "No such option" not in debug.stderr


def test_text_we_did_not_write_is_never_read_as_markup(capsys):
    from typer.testing import CliRunner

    from kgbuild.core import console
    from trainer.cli import app

    console.warn("pip install -e '.[local-llm]' then weights [0.5, 0.5] in /data/[v2]/kg")
    printed = " ".join(capsys.readouterr().err.split())
    assert "'.[local-llm]'" in printed and "[0.5, 0.5]" in printed and "/data/[v2]/kg" in printed
    help_text = CliRunner().invoke(app, ["contrastive", "--help"]).output
    assert "default [model] base" in " ".join(help_text.split())


@pytest.mark.parametrize("cli", ["kgbuild", "trainer"])
def test_help_and_version_load_no_heavy_library(cli):
    """`--help` and `--version` answer at once, and library progress bars stay hidden: tqdm and huggingface_hub read
    their settings when imported, so nothing may import them before `run_app` sets those settings."""
    code = (
        f"import sys; from {cli}.cli import app; from kgbuild.core.console import run_app\n"
        "for args in (['--help'], ['--version']):\n"
        "    try:\n        run_app(app, args)\n    except SystemExit:\n        pass\n"
        "heavy = ('torch', 'datasets', 'transformers', 'sentence_transformers', 'huggingface_hub', 'tqdm')\n"
        "print('loaded:', [m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "loaded: []" in result.stdout and f"{cli} 0." in result.stdout


def test_a_mistyped_option_value_is_one_line_not_a_box():
    """Issue 28, item 12: `--max-srl abc` gave click's boxed usage error; it is the toolkit's one line, exit 1."""
    import subprocess
    import sys

    code = "import sys; from kgbuild.cli import main; sys.argv[0] = 'kgbuild'; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, "extract", "--umls", "META", "--out", "kg", "--max-srl", "abc"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Invalid value for '--max-srl'"), proc.stderr
    assert "kgbuild extract --help" in lines[0] and "╭" not in proc.stderr


def _commands(group, path=()):
    import typer

    click_group = typer.main.get_command(group) if isinstance(group, typer.Typer) else group
    for name, command in getattr(click_group, "commands", {}).items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


def test_usage_lines_name_arguments_as_click_does_and_long_steps_have_progress_options():
    """Issue 31, item 9: Usage lines read `{data_dir}`; --progress/--no-progress was missing from build-pairs,
    evaluate, link and run-all."""
    from typer.testing import CliRunner

    from kgbuild.cli import app as kgbuild_app
    from trainer.cli import app as trainer_app

    helps = {}
    for app in (kgbuild_app, trainer_app):
        for command in _commands(app):
            result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
            assert result.exit_code == 0, (command, result.output)
            usage = next(line for line in result.output.splitlines() if line.startswith("Usage:"))
            assert "{" not in usage, usage
            helps[command[-1]] = result.output
    assert "DATA_DIR" in helps["publish"] and "[MODELS]..." in helps["evaluate"]
    for command in ("build-pairs", "evaluate", "link", "run-all", "index"):
        assert "--no-progress" in helps[command], command
    assert "--lang" in helps["index"]


def test_the_readme_guide_uses_only_commands_and_options_that_exist():
    """Issue 31, item 12: every command line of "From a UMLS release to a published model" is one its --help knows."""
    from pathlib import Path

    from typer.testing import CliRunner

    from kgbuild.cli import app as kgbuild_app
    from trainer.cli import app as trainer_app

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    guide = readme.split("## From a UMLS release to a published model", 1)[1].split("\n## ", 1)[0]
    apps = {"kgbuild": kgbuild_app, "trainer": trainer_app}
    seen = set()
    for line in guide.splitlines():
        for segment in line.split(" # ")[0].replace("&&", "|").split("|"):
            words = segment.split()
            if not words or words[0] not in apps:
                continue
            command = words[1:3] if words[1] == "evalsets" else words[1:2]
            result = CliRunner().invoke(apps[words[0]], [*command, "--help"], env={"COLUMNS": "200"})
            assert result.exit_code == 0, (line, result.output)
            for option in (w.split("=")[0] for w in words if w.startswith("--")):
                assert option in result.output, (line, option)
            seen.add(" ".join([words[0], *command]))
    assert len(seen) >= 9, seen  # extract, validate, generate-definitions, build-pairs, publish, run-all, evaluate, …
