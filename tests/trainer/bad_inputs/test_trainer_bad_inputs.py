"""Issue 28: the trainer keeps the promises kgbuild keeps. Hostile but realistic uses of `trainer` and `kgbuild demo`,
one table row each, through the real CLI in a fresh workspace. Every row asserts: the exit code, no traceback, the
one error line; and that the workspace — every input and every earlier output — is byte-for-byte what it was.

Workspace: base/ (a tiny BERT model), base2/ (a copy), pairs/ (literal build-pairs output), mine/ (a user's folder
with their own run.toml and notes), run.toml (the minimal run config, output_dir run/).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers.run_toml import run_toml
from trainer.cli import app as trainer_app


@dataclass
class Case:
    id: str
    args: str
    message: str  # a regex the one error line must match
    code: int = 1
    setup: Callable[[Path], None] | None = None
    app: str = "trainer"


def config(*, replace: tuple[str, str] | None = None, **sections) -> Callable[[Path], None]:
    """Write run.toml with these sections; `replace` edits its text (TOML's own spellings, such as nan)."""

    def write(w: Path) -> None:
        text = run_toml(**sections)
        (w / "run.toml").write_text(text.replace(*replace) if replace else text)

    return write


CASES = [
    # 1. outputs over inputs
    Case(
        "contrastive-out-is-pairs",
        "contrastive --base base --pairs pairs --out pairs --force",
        r"same path as the input --pairs",
    ),
    Case(
        "contrastive-out-in-pairs",
        "contrastive --base base --pairs pairs --out pairs/model",
        r"inside the input --pairs",
    ),
    Case(
        "contrastive-out-is-base",
        "contrastive --base base --pairs pairs --out base --force",
        r"same path as the input --base",
    ),
    Case("contrastive-out-holds-pairs", "contrastive --base base --pairs pairs --out . --force", r"holds the input"),
    Case("average-out-is-a-model", "average base base2 --out base --force", r"same path as the input model 1"),
    Case(
        "run-all-over-user-folder",
        "run-all --config run.toml",
        r"holds files that trainer run-all did not write",
        setup=config(model={"output_dir": "mine"}),
    ),
    Case(
        "run-all-over-pairs",
        "run-all --config run.toml",
        r"output_dir is the same path as the input \[data\] pairs",
        setup=config(model={"output_dir": "pairs"}),
    ),
    Case(
        "run-all-holding-pairs",
        "run-all --config run.toml",
        r"output_dir holds the input \[data\] pairs",
        setup=config(model={"output_dir": "."}),
    ),
    Case(
        "demo-over-user-folder",
        "demo --workdir mine --no-llm",
        r"--workdir holds files that kgbuild demo did not write",
        app="kgbuild",
    ),
    # 2. garbage numbers never become a model
    Case("average-weight-nan", "average base base2 --weights nan,1 --out avg", r"nan|finite"),
    Case("average-weight-inf", "average base base2 --weights inf,1 --out avg", r"inf|finite"),
    Case(
        "learning-rate-inf",
        "contrastive --base base --pairs pairs --out c --set contrastive.learning_rate=inf",
        r"learning_rate",
    ),
    Case(
        "scale-nan",
        "run-all --config run.toml",
        r"scale",
        setup=config(contrastive={"scale": 1.5}, replace=("scale = 1.5", "scale = nan")),
    ),
    Case("seed-negative", "run-all --config run.toml", r"seed", setup=config(model={"seed": -5})),
    Case("seed-too-large", "run-all --config run.toml", r"seed", setup=config(model={"seed": 2**66})),
    Case(
        "config-not-utf8",
        "run-all --config run.toml",
        r"run\.toml: not UTF-8",
        setup=lambda w: (w / "run.toml").write_bytes(b'[data]\npairs = "p\xff"\n'),
    ),
    Case(
        "set-value-blames-set",
        "contrastive --config run.toml --set contrastive.max_steps=ten",
        r"^error: --set contrastive\.max_steps: contrastive\.max_steps = 'ten'",
    ),
]


def _digest(w: Path) -> dict[str, str]:
    out = {}
    for path in sorted(w.rglob("*")):
        rel = str(path.relative_to(w))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture
def workspace(tmp_path, tiny_model, pairs_dir, monkeypatch) -> Path:
    w = tmp_path / "w"
    w.mkdir()
    shutil.copytree(tiny_model, w / "base")
    shutil.copytree(tiny_model, w / "base2")
    shutil.copytree(pairs_dir, w / "pairs")
    (w / "mine").mkdir()
    (w / "mine" / "run.toml").write_text("# my own experiment config, months of tuning\n")
    (w / "mine" / "notes.txt").write_text("years of work")
    (w / "run.toml").write_text(run_toml())
    monkeypatch.chdir(w)
    return w


def invoke(app_name: str, args: str):
    if app_name == "kgbuild":
        from kgbuild.cli import app
    else:
        app = trainer_app
    return CliRunner().invoke(app, args.split())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_use_is_one_line_and_changes_nothing(case: Case, workspace: Path):
    if case.setup:
        case.setup(workspace)
    before = _digest(workspace)
    result = invoke(case.app, case.args)
    assert result.exit_code == case.code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(case.message, errors[0]), result.output
    assert _digest(workspace) == before  # inputs, earlier outputs and the user's files untouched


# -- what must succeed -----------------------------------------------------------------------------------------------


def test_weights_near_the_float_limit_average_without_overflow(workspace: Path):
    import torch
    from sentence_transformers import SentenceTransformer

    result = invoke("trainer", "average base base2 --weights 1e308,1e308 --out avg")
    assert result.exit_code == 0, result.output
    model = SentenceTransformer(str(workspace / "avg"), device="cpu")
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert json.loads((workspace / "avg" / "trainer_phase.json").read_text())["weights"] == [0.5, 0.5]


def test_a_nan_model_is_never_saved_as_a_finished_phase(workspace: Path):
    import torch
    from sentence_transformers import SentenceTransformer

    broken = SentenceTransformer(str(workspace / "base"), device="cpu")
    with torch.no_grad():
        next(broken.parameters()).fill_(float("nan"))
    broken.save(str(workspace / "nan-model"))
    result = invoke("trainer", "average nan-model base --out avg")
    assert result.exit_code == 1 and "NaN or infinite" in result.output, result.output
    assert not (workspace / "avg").exists()


def test_push_refuses_a_symbolic_link_in_the_model_folder(workspace: Path, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN PRIVATE KEY-----")
    (workspace / "base" / "extra.txt").symlink_to(secret)
    before = _digest(workspace)
    result = invoke("trainer", "push base --repo-id me/model --dry-run --stage-dir staged")
    assert result.exit_code == 1, result.output
    assert "symbolic link (extra.txt ->" in result.output and "Traceback" not in result.output
    assert not (workspace / "staged").exists() and _digest(workspace) == before


def test_publish_refuses_a_symbolic_link_in_the_data_folder(workspace: Path, tmp_path):
    from kgbuild.cli import app

    secret = tmp_path / "private.parquet"
    shutil.copy(next((workspace / "pairs").glob("*.parquet")), secret)
    (workspace / "pairs" / "linked.parquet").symlink_to(secret)
    result = CliRunner().invoke(app, ["publish", "pairs", "--repo-id", "me/data", "--dry-run", "--stage-dir", "st"])
    assert result.exit_code == 1 and "symbolic link (linked.parquet ->" in result.output, result.output
    assert not (workspace / "st").exists()


# -- 6: a checkpoint left half-written ------------------------------------------------------------------------------


def test_a_half_written_checkpoint_is_removed_and_the_run_resumes_from_the_last_complete_one(tmp_path):
    from trainer.phase_folder import SEALED, resume_checkpoint

    checkpoints = tmp_path / "checkpoints" / "contrastive"
    checkpoints.mkdir(parents=True)
    (checkpoints / "phase-fingerprint.txt").write_text("key\n")
    for step in (5, 10):
        (checkpoints / f"checkpoint-{step}").mkdir()
        (checkpoints / f"checkpoint-{step}" / "model.safetensors").write_bytes(b"weights")
        (checkpoints / f"checkpoint-{step}" / SEALED).write_text(json.dumps({"global_step": step, "processes": 1}))
    (checkpoints / "checkpoint-5" / "trainer_state.json").write_text(json.dumps({"global_step": 5}))
    (checkpoints / "checkpoint-10" / "trainer_state.json").write_text('{"global_st')  # killed while writing it
    assert resume_checkpoint(checkpoints, "key") == str(checkpoints / "checkpoint-5")
    assert not (checkpoints / "checkpoint-10").exists()


# -- index, link and evaluate (items 1, 3, 7, 8) -------------------------------------------------------------------


def _shuffle_names(w: Path) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(w / "idx" / "names.parquet")
    pq.write_table(table.take(list(reversed(range(table.num_rows)))), w / "idx" / "names.parquet")


def _truncate(name: str) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        data = (w / "idx" / name).read_bytes()
        (w / "idx" / name).write_bytes(data[: len(data) // 2])

    return run


def _edit_manifest(drop: str) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        doc = json.loads((w / "idx" / "manifest.json").read_text())
        doc.pop(drop)
        (w / "idx" / "manifest.json").write_text(json.dumps(doc))

    return run


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    def run(w: Path) -> None:
        (w / name).write_bytes(data)

    return run


def _int_mentions(w: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"mention": [1, 2, 3]}), w / "ints.parquet")


LINK_CASES = [
    Case(
        "link-out-inside-index",
        "link --index idx --mentions m.txt --out idx/names.parquet --force",
        r"inside the input --index",
    ),
    Case(
        "link-out-is-mentions",
        "link --index idx --mentions m.parquet --out m.parquet --force",
        r"is the input --mentions",
        setup=lambda w: shutil.copy(w / "links.parquet", w / "m.parquet"),
    ),
    Case("link-out-exists", "link --index idx --mentions m.txt --out links.parquet", r"--out exists.*--force"),
    Case(
        "link-out-parent-missing",
        "link --index idx --mentions m.txt --out nowhere/links.jsonl",
        r"folder of --out does not exist",
    ),
    Case(
        "link-out-is-a-folder",
        "link --index idx --mentions m.txt --out mine.jsonl",
        r"--out is a folder",
        setup=lambda w: (w / "mine.jsonl").mkdir(),
    ),
    Case(
        "evaluate-json-over-mentions",
        "evaluate --index idx --mentions gold.tsv --json gold.tsv --force",
        r"is the input --mentions",
    ),
    Case("evaluate-plot-exists", "evaluate --index idx --mentions gold.tsv --plot links.parquet", r"--plot exists"),
    Case(
        "index-names-shuffled",
        "link --index idx --mentions m.txt",
        r"damaged or was changed.*names\.parquet",
        setup=_shuffle_names,
    ),
    Case(
        "index-faiss-truncated",
        "link --index idx --mentions m.txt",
        r"damaged or was changed.*index\.faiss",
        setup=_truncate("index.faiss"),
    ),
    Case(
        "index-names-truncated",
        "link --index idx --mentions m.txt",
        r"damaged or was changed.*names\.parquet",
        setup=_truncate("names.parquet"),
    ),
    Case(
        "index-manifest-no-model",
        "link --index idx --mentions m.txt",
        r"lacks the model",
        setup=_edit_manifest("model"),
    ),
    Case(
        "link-tsv-without-mention-header",
        "link --index idx --mentions bad.tsv",
        r"mention",
        setup=_write("bad.tsv", b"name\tid\nheart attack\t1\n"),
    ),
    Case(
        "link-binary-mentions",
        "link --index idx --mentions bin.txt",
        r"UTF-8|text",
        setup=_write("bin.txt", b"\xff\xfe\x00\x81garbage"),
    ),
    Case("link-int-mentions", "link --index idx --mentions ints.parquet", r"mention", setup=_int_mentions),
]


@pytest.fixture(scope="module")
def built_linking_workspace(tmp_path_factory, minilm) -> Path:
    """A KG, its index and a link output, built once per module (each test gets its own copy)."""
    from test_linking import write_kg

    from trainer.linking import build_index

    w = tmp_path_factory.mktemp("linking") / "lw"
    w.mkdir()
    write_kg(w / "kg")
    build_index(minilm, w / "kg", w / "idx")
    (w / "m.txt").write_text("heart attack\nasthma\n")
    (w / "gold.tsv").write_text("mention\tgold_ids\nheart attack\tMESH:D009203\n")
    args = ["link", "--index", str(w / "idx"), "--mentions", str(w / "m.txt"), "--out", str(w / "links.parquet")]
    assert CliRunner().invoke(trainer_app, args).exit_code == 0
    return w


@pytest.fixture
def linking_workspace(built_linking_workspace, tmp_path, monkeypatch) -> Path:
    w = tmp_path / "lw"
    shutil.copytree(built_linking_workspace, w)
    monkeypatch.chdir(w)
    return w


@pytest.mark.parametrize("case", LINK_CASES, ids=[c.id for c in LINK_CASES])
def test_bad_use_of_an_index_is_one_line_and_changes_nothing(case: Case, linking_workspace: Path, monkeypatch):
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)
    test_bad_use_is_one_line_and_changes_nothing(case, linking_workspace)


def test_a_second_index_build_into_the_same_out_is_refused_while_the_first_runs(tmp_path, minilm):
    import fcntl

    from test_linking import write_kg

    from trainer.linking import build_index

    kg = write_kg(tmp_path / "kg")
    work = tmp_path / ".idx.embeddings"
    work.mkdir()
    with open(work / ".lock", "a+") as held:  # the first build holds the lock
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(Exception, match="another trainer index is building this index"):
            build_index(minilm, kg, tmp_path / "idx")
    build_index(minilm, kg, tmp_path / "idx")  # once it is done, the build goes through
    assert (tmp_path / "idx" / "index.faiss").is_file()


def test_binary_standard_input_is_one_line(linking_workspace: Path):
    result = CliRunner().invoke(trainer_app, ["link", "--index", "idx"], input=b"\xff\xfeheart \x81attack\n")
    assert result.exit_code == 1 and "standard input is not UTF-8 text" in result.output, result.output
    assert "Traceback" not in result.output


def test_evaluate_checks_its_mention_files_before_scoring_any_model(linking_workspace: Path, monkeypatch):
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)
    (linking_workspace / "bad.tsv").write_text("mention\tids\nheart attack\tMESH:D009203\n")
    args = ["evaluate", "--index", "idx", "--mentions", "gold.tsv", "--mentions", "bad.tsv"]
    result = CliRunner().invoke(trainer_app, args)
    assert result.exit_code == 1 and "no mention and gold_ids columns" in result.output, result.output
    assert "scoring" not in result.output  # no model was loaded or scored first


# -- 12: a full disk, a read-only folder --------------------------------------------------------------------------


def test_an_index_on_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, minilm, small_disk, fill_disk):
    from test_linking import write_kg

    kg = write_kg(tmp_path / "kg")
    fill_disk(small_disk)
    result = CliRunner().invoke(
        trainer_app, ["index", "--model", str(minilm), "--kg", str(kg), "--out", str(small_disk / "idx")]
    )
    assert result.exit_code == 1 and "cannot write the output (No space left on device)" in result.output, (
        result.output
    )
    assert "Traceback" not in result.output and not (small_disk / "idx").exists()


def test_a_run_folder_on_a_read_only_disk_is_one_line(workspace: Path, read_only_disk: Path):
    (workspace / "run.toml").write_text(
        run_toml().replace('output_dir = "run"', f'output_dir = "{read_only_disk}/run"')
    )
    result = invoke("trainer", "run-all --config run.toml")
    assert result.exit_code == 1 and "Read-only file system" in result.output, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


def test_publish_staging_on_a_full_disk_is_one_line(sample_kg, small_disk, fill_disk):
    from kgbuild.cli import app

    fill_disk(small_disk)
    args = ["publish", str(sample_kg), "--repo-id", "me/kg", "--dry-run", "--stage-dir", str(small_disk / "st")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert "internal error" not in result.output and not (small_disk / "st").exists()


def test_kgbuild_info_verifies_an_index_file_by_file(linking_workspace: Path):
    from kgbuild.cli import app

    result = CliRunner().invoke(app, ["info", "idx"])
    assert result.exit_code == 0 and re.search(r"files\s+as built", result.output), result.output
    _truncate("index.faiss")(linking_workspace)
    result = CliRunner().invoke(app, ["info", "idx"])
    assert re.search(r"files\s+CHANGED since built: index\.faiss has", result.output), result.output


def test_evaluate_with_nothing_to_score_is_one_line_before_loading(workspace: Path, monkeypatch):
    """Issue 31, item 10: it loaded the model, printed an empty table and exited 0."""
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)
    result = invoke("trainer", "evaluate base")
    assert result.exit_code == 1 and "nothing to score" in result.output and "scoring" not in result.output
