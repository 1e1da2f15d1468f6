"""`trainer push MODEL_DIR --repo-id ORG/NAME`: publish a trained model with a generated model card.

Same shape as `kgbuild publish`: check, licence guard, stage a verified folder, then upload (private by default).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, ModelCard

from kgbuild.core.atomic import atomic_dir, temp_dir
from kgbuild.core.errors import UserError
from kgbuild.publish import Licence, Uploaded, check_repo_id, guard, redact_paths, refuse_links, upload_folder
from trainer import model_card
from trainer.model_card import ModelFacts, training_licence

# Training state that belongs to resuming a run, not to the published model.
_SKIP_DIRS = ("runs",)
_SKIP_FILES = (
    "README.md",
    "optimizer.pt",
    "scheduler.pt",
    "scaler.pt",
    "trainer_state.json",
    "training_args.bin",
    "trainer_phase.json",
)
_PROBE = ["myocardial infarction", "heart attack"]


@dataclass(frozen=True)
class Pushed:
    folder: Path
    facts: ModelFacts
    licence: Licence
    uploaded: Uploaded | None
    card_reused: bool = False  # the card trainer run-all wrote into MODEL_DIR was current and went out as is


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


def hub_card(facts: ModelFacts, lic: Licence, *, repo_id: str, datasets: list[str]) -> tuple[ModelCard, bool]:
    """The card trainer run-all wrote into the model folder when it is ours and current, else one built the same
    way; either way made the Hub repository's (its id, the Hub datasets). Returns it and whether it was reused."""
    card = model_card.current(facts, lic)
    reused = card is not None
    return model_card.for_hub(card if reused else model_card.build(facts, lic), repo_id, datasets), reused


def stage_model(
    facts: ModelFacts, lic: Licence, stage_dir: Path, *, repo_id: str, datasets: list[str], force: bool, reference
) -> tuple[Path, bool]:
    with atomic_dir(stage_dir, force=force, inputs={"MODEL_DIR": facts.folder}, option="--stage-dir") as tmp:
        _copy_model(facts.folder, tmp)
        card, reused = hub_card(facts, lic, repo_id=repo_id, datasets=datasets)
        (tmp / "README.md").write_text(str(card), encoding="utf-8")
        if facts.run:
            (tmp / "kgbuild_run.json").write_text(
                json.dumps(redact_paths(facts.run), indent=2, ensure_ascii=False), encoding="utf-8"
            )
        _verify_model(tmp, reference)
    return Path(stage_dir), reused


def push_model(
    model_dir: Path,
    *,
    repo_id: str,
    public: bool = False,
    dry_run: bool = False,
    stage_dir: Path | None = None,
    revision: str | None = None,
    acknowledge_rights: bool = False,
    force: bool = False,
    run_manifest: Path | None = None,
    datasets: list[str] | None = None,
    api: HfApi | None = None,
    validate_online: bool = True,
) -> Pushed:
    model_dir = Path(model_dir)
    check_repo_id(repo_id)
    for ds in datasets or []:
        check_repo_id(ds)
    if not model_dir.is_dir():
        raise UserError("MODEL_DIR not found", path=model_dir, fix="give a trained model folder, e.g. run/final")
    facts = model_card.read_model(model_dir, run_manifest)
    lic = training_licence(facts)
    guard(lic, public=public, acknowledged=acknowledge_rights, path=model_dir)
    model, reference = load_model(model_dir, what="MODEL_DIR")
    model_card.describe_loaded(facts, model)
    del model

    def send(folder: Path) -> Uploaded:
        return upload_folder(
            folder,
            repo_id=repo_id,
            repo_type="model",
            public=public,
            revision=revision,
            api=api,
            validate_online=validate_online,
            commit_message="trainer push",
        )

    def stage(where: Path, replace: bool) -> tuple[Path, bool]:
        return stage_model(
            facts, lic, where, repo_id=repo_id, datasets=datasets or [], force=replace, reference=reference
        )

    if dry_run or stage_dir is not None:
        folder, reused = stage(Path(stage_dir) if stage_dir else model_dir.parent / f"{model_dir.name}.hub", force)
        return Pushed(folder, facts, lic, None if dry_run else send(folder), reused)
    with temp_dir(model_dir.parent / f"{model_dir.name}.hub") as scratch:  # removed after the upload
        folder, reused = stage(scratch / "repo", False)
        sent = send(folder)
    return Pushed(folder, facts, lic, sent, reused)
