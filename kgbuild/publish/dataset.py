"""`kgbuild publish` as a library call: check DATA_DIR and its tables, assess the licence, then the one publisher
(guard, stage and verify, upload)."""

from __future__ import annotations

from pathlib import Path

from kgbuild.core.errors import UserError
from kgbuild.publish.licence import assess
from kgbuild.publish.publisher import Published, PublishOptions, check_options, publish
from kgbuild.publish.stage import SHARD_BYTES, Staged, checked_tables, stage_dataset


def publish_dataset(data_dir: Path, options: PublishOptions, *, shard_bytes: int = SHARD_BYTES) -> Published[Staged]:
    """Everything that can fail on the user's side fails before a file is staged or a request is sent."""
    data_dir = Path(data_dir)
    check_options(data_dir, options, "DATA_DIR")
    if not data_dir.is_dir():
        raise UserError(
            "DATA_DIR is a file, not a folder" if data_dir.exists() else "DATA_DIR not found",
            path=data_dir,
            fix="give the output folder of kgbuild extract, build-pairs or generate-definitions",
        )
    tables = checked_tables(data_dir)
    lic = assess(data_dir)
    return publish(
        data_dir,
        options,
        repo_type="dataset",
        licence=lic,
        stage=lambda folder, force: stage_dataset(
            data_dir,
            folder,
            repo_id=options.repo_id,
            licence=lic,
            tables=tables,
            force=force,
            shard_bytes=shard_bytes,
            report=options.report,
        ),
        message=lambda staged: "kgbuild publish: " + ", ".join(f"{t.name} ({t.rows:,} rows)" for t in staged.tables),
    )
