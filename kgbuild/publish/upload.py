"""Send a verified staged folder to the Hub with huggingface_hub: create_repo, (create_branch), upload_folder.

The token comes from HF_TOKEN or the user's `hf auth login`; it is passed to huggingface_hub only and never
printed, logged or written. Every Hub call goes through the `api` object, so callers (and tests) can supply one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx
from huggingface_hub import HfApi, RepoCard, get_token
from huggingface_hub.errors import HfHubHTTPError

from kgbuild.core.atomic import MARKER
from kgbuild.core.errors import UserError
from kgbuild.publish.repo_ids import check_repo_id


@dataclass(frozen=True)
class Uploaded:
    repo_id: str
    repo_type: str
    url: str
    revision: str | None
    private: bool
    commit_url: str | None


def resolve_token() -> str:
    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise UserError(
            "no Hugging Face token found",
            fix="set HF_TOKEN to a write token, or run `hf auth login` (or pass --dry-run to only stage)",
        )
    return token


def refuse_leaked_token(folder: Path, token: str) -> None:
    """Defence in depth: no staged text file (card, manifest, configs) may contain the token."""
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.suffix in (".md", ".json", ".yaml", ".yml", ".txt", ".toml", ".cfg"):
            if token in path.read_text(encoding="utf-8", errors="replace"):
                raise UserError(
                    "a staged file contains the Hugging Face token; nothing was uploaded",
                    path=path,
                    fix="remove the token from the data's manifest or config and stage again",
                )


def validate_card_on_hub(folder: Path, repo_type: str) -> None:
    """The Hub's own YAML validation (licence ids, config syntax); the offline checks ran when staging."""
    card = RepoCard.load(Path(folder) / "README.md", repo_type=repo_type)
    try:
        card.validate(repo_type=repo_type)
    except ValueError as exc:
        raise UserError(
            f"the Hub rejects the card's metadata: {exc}",
            path=Path(folder) / "README.md",
            fix="report this as a kgbuild bug; nothing was uploaded",
        ) from None
    except (HfHubHTTPError, httpx.HTTPError) as exc:
        raise UserError(
            f"cannot validate the card on the Hub ({type(exc).__name__}: {exc})",
            fix="check the network and HF_ENDPOINT, then rerun; nothing was uploaded",
        ) from None


def _hub_error(exc: HfHubHTTPError, repo_id: str) -> UserError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    hint = {
        401: "the token is invalid or expired: set HF_TOKEN or run `hf auth login` again",
        403: f"the token cannot write to {repo_id}: use a write token with access to the organisation",
        404: f"{repo_id} or the revision was not found: check --repo-id and --revision",
    }.get(status, "check the repository name, your access and network, then rerun")
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return UserError(f"the Hub refused the upload ({status}: {first_line})", fix=hint)


def upload_folder(
    folder: Path,
    *,
    repo_id: str,
    repo_type: str,
    public: bool,
    revision: str | None = None,
    api: HfApi | None = None,
    commit_message: str | None = None,
    validate_online: bool = True,
) -> Uploaded:
    """Create the repository (private unless `public`), the branch when given, then send `folder` in one commit."""
    check_repo_id(repo_id)
    from huggingface_hub import constants

    if constants.is_offline_mode():  # many users export it for training; an upload can only fail under it
        raise UserError(
            "HF_HUB_OFFLINE is set: nothing can be sent to the Hub",
            fix="unset HF_HUB_OFFLINE (and TRANSFORMERS_OFFLINE) for this command, or use --dry-run",
        )
    api = api or HfApi()
    token = resolve_token()
    refuse_leaked_token(folder, token)
    if validate_online:
        validate_card_on_hub(folder, repo_type)
    try:
        url = api.create_repo(repo_id, token=token, private=not public, repo_type=repo_type, exist_ok=True)
        info = api.repo_info(repo_id, repo_type=repo_type, token=token)
        if not public and not info.private:
            raise UserError(
                f"{repo_id} already exists and is public; refusing to upload without --public",
                fix="make the repository private on the Hub, choose another --repo-id, or pass --public",
            )
        if revision:
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, token=token, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(folder),
            repo_type=repo_type,
            revision=revision,
            token=token,
            commit_message=commit_message or "Upload with kgbuild",
            ignore_patterns=[MARKER],
        )  # our ownership marker is no part of the repository
    except HfHubHTTPError as exc:
        raise _hub_error(exc, repo_id) from None
    return Uploaded(
        repo_id=repo_id,
        repo_type=repo_type,
        url=str(url),
        revision=revision,
        private=bool(info.private),
        commit_url=getattr(commit, "commit_url", None),
    )
