"""The one way to the Hub, for datasets (`kgbuild publish`) and models (`trainer push`): the options checked before
any work, the licence guard, a verified repository folder staged, then one upload (private by default). What differs
is only what each stages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from kgbuild.core.atomic import check_output, temp_dir
from kgbuild.core.events import Reporter, silent
from kgbuild.core.options import described
from kgbuild.publish.licence import ACK_FLAG, Licence, guard
from kgbuild.publish.repo_ids import check_repo_id

T = TypeVar("T")


@dataclass(frozen=True)
class PublishOptions:
    """The option block of both publishing commands (their typer options are built from these fields)."""

    repo_id: str = described(dataclasses.MISSING, "The Hub repository, ORG/NAME.")
    public: bool = described(False, "Make a new repository public (default: private).")
    dry_run: bool = described(False, "Stage and verify the repository folder; upload nothing.")
    stage_dir: Path | None = described(
        None,
        "Where to build the repository folder (kept). Default: the input folder's name + .hub for --dry-run, "
        "else a temporary folder beside it, removed after the upload.",
    )
    revision: str | None = described(None, "Upload to this branch (created when missing).")
    acknowledge_rights: bool = described(
        False,
        "Acknowledge that your licences allow public redistribution of restricted content (UMLS SRL > 0, SNOMED CT, "
        "unknown sources) or of a model trained on it.",
    )
    force: bool = described(False, "Replace an existing stage folder.")
    # Not options of the commands: the Hub client (tests give a recording one), the Hub's own card check, and where
    # the library's messages go (kgbuild.core.events; the commands pass their renderer).
    api: Any = None
    validate_online: bool = True
    report: Reporter = silent

    @property
    def keep(self) -> bool:
        return self.dry_run or self.stage_dir is not None


# The commands' flags of the option block.
PUBLISH_FLAGS = {
    "repo_id": "--repo-id",
    "public": "--public",
    "dry_run": "--dry-run",
    "stage_dir": "--stage-dir",
    "revision": "--revision",
    "acknowledge_rights": ACK_FLAG,
    "force": "--force",
}


@dataclass(frozen=True)
class Published(Generic[T]):
    staged: T  # what the stage step returned (the dataset's tables, the model's facts)
    folder: Path  # the staged repository folder (removed after the upload unless kept)
    kept: bool
    uploaded: Any  # upload.Uploaded, or None for --dry-run

    def line(self) -> str:
        """What happened, in one line: the dry run's folder, or where the upload went."""
        if self.uploaded is None:
            return f"dry run: verified repository folder in {self.folder}; nothing uploaded"
        up = self.uploaded
        branch = f" (branch {up.revision})" if up.revision else ""
        return f"uploaded to {up.url}{branch}, {'private' if up.private else 'public'}"


def default_stage_dir(source: Path) -> Path:
    return Path(source).parent / f"{Path(source).name}.hub"


def check_options(source: Path, options: PublishOptions, what: str) -> None:
    """What can be refused before the input is read: the repository id and a kept stage folder."""
    check_repo_id(options.repo_id)
    if options.keep:
        check_output(
            options.stage_dir or default_stage_dir(source),
            force=options.force,
            inputs={what: Path(source)},
            option="--stage-dir",
            report=options.report,
        )


def publish(
    source: Path,
    options: PublishOptions,
    *,
    repo_type: str,
    licence: Licence,
    stage: Callable[[Path, bool], T],
    message: Callable[[T], str],
) -> Published[T]:
    """Guard, stage into `--stage-dir` (kept) or a temporary folder on the source's disk, then upload unless
    --dry-run. `stage(folder, force)` writes and verifies the repository folder."""
    from kgbuild.publish.upload import upload_folder  # huggingface_hub loads only to send

    guard(licence, public=options.public, acknowledged=options.acknowledge_rights, path=Path(source))

    def send(folder: Path, staged: T) -> Any:
        return upload_folder(
            folder,
            repo_id=options.repo_id,
            repo_type=repo_type,
            public=options.public,
            revision=options.revision,
            api=options.api,
            validate_online=options.validate_online,
            commit_message=message(staged),
        )

    if options.keep:
        folder = Path(options.stage_dir or default_stage_dir(source))
        staged = stage(folder, options.force)
        return Published(staged, folder, True, None if options.dry_run else send(folder, staged))
    # as big as the data: on its disk, removed after the upload
    with temp_dir(default_stage_dir(source), report=options.report) as scratch:
        folder = scratch / "repo"
        staged = stage(folder, False)
        sent = send(folder, staged)
    return Published(staged, folder, False, sent)
