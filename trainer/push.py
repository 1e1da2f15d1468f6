"""`trainer push MODEL_DIR --repo-id ORG/NAME`: publish a trained model with a generated model card.

What is particular to a model: its staged folder (loads and embeds as MODEL_DIR does) and its card; the check,
licence guard, staging place and upload are kgbuild.publish's one publisher, shared with `kgbuild publish`.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from kgbuild.core.atomic import atomic_dir
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, silent
from kgbuild.publish import (
    Licence,
    Published,
    PublishOptions,
    check_options,
    check_repo_id,
    publish,
    redact_paths,
    refuse_links,
)
from trainer import model_card
from trainer.model_card import ModelFacts, training_licence
from trainer.phase_folder import MARKER, SEALED

# Training state that belongs to resuming a run, not to the published model.
_SKIP_DIRS = ("runs",)
_SKIP_FILES = (
    "README.md",
    "optimizer.pt",
    "scheduler.pt",
    "scaler.pt",
    "trainer_state.json",
    "training_args.bin",
    MARKER,
    SEALED,
)
_PROBE = ["myocardial infarction", "heart attack"]


@dataclass(frozen=True)
class StagedModel:
    facts: ModelFacts
    licence: Licence
    card_reused: bool = False  # MODEL_DIR's own card (trainer run-all's) was current: the staged one says the same


def _copy_model(src: Path, dest: Path) -> None:
    def ignored(folder: Path, name: str) -> bool:
        top = folder == src
        return (
            name.startswith("checkpoint-")
            or name.startswith("rng_state")
            or top
            and (name in _SKIP_FILES or name in _SKIP_DIRS or name == "manifest.json")
        )

    def skipped(path: Path) -> bool:  # what is not staged: a link there is harmless
        return any(ignored(p.parent, p.name) for p in (path, *path.parents) if p != src and src in p.parents)

    refuse_links(src, "MODEL_DIR", skip=skipped)
    shutil.copytree(
        src, dest, ignore=lambda folder, names: [n for n in names if ignored(Path(folder), n)], dirs_exist_ok=True
    )


def load_model(folder: Path, *, what: str):
    """Load `folder` as a SentenceTransformer (offline, CPU) and embed two probe sentences."""
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        return model, model.encode(_PROBE, convert_to_numpy=True)
    except Exception as exc:  # anything that stops loading here would stop users too
        raise UserError(
            f"{what} does not load with SentenceTransformer: {type(exc).__name__}: {exc}",
            path=folder,
            fix="give a complete model folder (weights, tokenizer, modules.json) saved by the trainer",
        ) from None


def _verify_model(folder: Path, reference) -> None:
    """The staged folder loads as a SentenceTransformer and embeds exactly as the trained model does."""
    import numpy as np

    _, got = load_model(folder, what="the staged model")
    if got.shape != reference.shape or not np.allclose(got, reference, atol=1e-5):
        raise UserError(
            "the staged model embeds differently from MODEL_DIR",
            path=folder,
            fix="a file is missing from the model folder; re-save the model",
        )
    model_card.validate((folder / "README.md").read_text(encoding="utf-8"))


def stage_model(
    facts: ModelFacts,
    lic: Licence,
    stage_dir: Path,
    *,
    repo_id: str,
    datasets: list[str],
    force: bool,
    report: Reporter = silent,
) -> StagedModel:
    """Load MODEL_DIR (it must load as users will load it), then write and verify the repository folder."""
    model, reference = load_model(facts.folder, what="MODEL_DIR")
    model_card.describe_loaded(facts, model)
    del model
    with atomic_dir(
        stage_dir, force=force, inputs={"MODEL_DIR": facts.folder}, option="--stage-dir", report=report
    ) as tmp:
        _copy_model(facts.folder, tmp)
        reused = model_card.current(facts, lic) is not None
        card = model_card.build(facts, lic, repo_id=repo_id, datasets=datasets)
        (tmp / "README.md").write_text(str(card), encoding="utf-8")
        if facts.run:
            (tmp / "kgbuild_run.json").write_text(
                json.dumps(redact_paths(facts.run), indent=2, ensure_ascii=False), encoding="utf-8"
            )
        _verify_model(tmp, reference)
    return StagedModel(facts, lic, reused)


def push_model(
    model_dir: Path,
    options: PublishOptions,
    *,
    run_manifest: Path | None = None,
    datasets: list[str] | None = None,
) -> Published[StagedModel]:
    model_dir = Path(model_dir)
    check_options(model_dir, options, "MODEL_DIR")
    for ds in datasets or []:
        check_repo_id(ds, "--dataset")
    if not model_dir.is_dir():
        raise UserError("MODEL_DIR not found", path=model_dir, fix="give a trained model folder, e.g. run/final")
    facts = model_card.read_model(model_dir, run_manifest)
    lic = training_licence(facts)
    return publish(
        model_dir,
        options,
        repo_type="model",
        licence=lic,
        stage=lambda folder, force: stage_model(
            facts, lic, folder, repo_id=options.repo_id, datasets=datasets or [], force=force, report=options.report
        ),
        message=lambda _: "trainer push",
    )
