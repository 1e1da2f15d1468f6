"""Hub repository ids, by huggingface_hub's own rule (`validate_repo_id`); light to import (the check loads it)."""

from __future__ import annotations

from kgbuild.core.errors import UserError


def repo_id_problem(repo_id: str, *, namespaced: bool = True) -> str | None:
    """Why `repo_id` is not a Hub repository id ([ORG/]NAME; ORG/NAME when `namespaced`), or None when it is."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        return str(exc)
    if namespaced and "/" not in repo_id:
        return f"no organisation or user: {repo_id!r}"
    return None


def check_repo_id(repo_id: str, option: str = "--repo-id") -> str:
    problem = repo_id_problem(repo_id or "")
    if problem:
        raise UserError(
            f"invalid {option} {repo_id!r} ({problem})",
            fix="use ORG/NAME: letters, digits, '-', '_' and '.', e.g. my-lab/umls-kg-2025aa",
        )
    return repo_id
