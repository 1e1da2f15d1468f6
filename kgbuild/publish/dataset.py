"""`kgbuild publish` as a library call: check DATA_DIR, apply the licence guard, stage and verify, then upload."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi

from kgbuild.core.atomic import check_output, temp_dir
from kgbuild.core.errors import UserError
from kgbuild.publish.licence import Licence, assess, guard
from kgbuild.publish.stage import SHARD_BYTES, Staged, checked_tables, stage_dataset
from kgbuild.publish.upload import Uploaded, check_repo_id, upload_folder


@dataclass(frozen=True)
class Published:
    staged: Staged
    stage_kept: bool
    uploaded: Uploaded | None


def default_stage_dir(data_dir: Path) -> Path:
    return Path(data_dir).parent / f"{Path(data_dir).name}.hub"


def publish_dataset(
    data_dir: Path,
    *,
    repo_id: str,
    public: bool = False,
    dry_run: bool = False,
    stage_dir: Path | None = None,
    revision: str | None = None,
    acknowledge_rights: bool = False,
    force: bool = False,
    api: HfApi | None = None,
    shard_bytes: int = SHARD_BYTES,
    validate_online: bool = True,
) -> Published:
    """Everything that can fail on the user's side fails before a file is staged or a request is sent."""
    data_dir = Path(data_dir)
    check_repo_id(repo_id)
    if not data_dir.is_dir():
        raise UserError(
            "DATA_DIR is a file, not a folder" if data_dir.exists() else "DATA_DIR not found",
            path=data_dir,
            fix="give the output folder of kgbuild extract, build-pairs or generate-definitions",
        )
    keep = dry_run or stage_dir is not None
    target = Path(stage_dir) if stage_dir is not None else default_stage_dir(data_dir)
    if keep:
        check_output(target, force=force, inputs={"DATA_DIR": data_dir}, option="--stage-dir")
    tables = checked_tables(data_dir)
    lic: Licence = assess(data_dir)
    guard(lic, public=public, acknowledged=acknowledge_rights, path=data_dir)

    def send(staged: Staged) -> Uploaded:
        return upload_folder(
            staged.folder,
            repo_id=repo_id,
            repo_type="dataset",
            public=public,
            revision=revision,
            api=api,
            validate_online=validate_online,
            commit_message=_message(staged),
        )

    if keep:
        staged = stage_dataset(
            data_dir, target, repo_id=repo_id, licence=lic, tables=tables, force=force, shard_bytes=shard_bytes
        )
        return Published(staged, True, None if dry_run else send(staged))
    # Not kept: stage on DATA_DIR's disk (the shards are as big as the data) and remove it after the upload.
    with temp_dir(default_stage_dir(data_dir)) as scratch:
        staged = stage_dataset(
            data_dir, scratch / "repo", repo_id=repo_id, licence=lic, tables=tables, shard_bytes=shard_bytes
        )
        sent = send(staged)
    return Published(staged, False, sent)


def _message(staged: Staged) -> str:
    tables = ", ".join(f"{t.name} ({t.rows:,} rows)" for t in staged.tables)
    return f"kgbuild publish: {tables}"
