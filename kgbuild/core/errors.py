"""The one exception type a user can act on: the CLI prints it as one red line, exit code 1."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input or a failed check the user can fix. The message names the file (and line) and the fix.
    `exit_code` is 1, or 130 for a run the user interrupted (the shell's code for Ctrl-C)."""

    exit_code = 1

    def __init__(
        self, message: str, *, path: str | Path | None = None, line: int | None = None, fix: str | None = None
    ):
        self.path = str(path) if path is not None else None
        self.line = line
        self.fix = fix
        where = ""
        if self.path:
            where = f"{self.path}:{line}: " if line else f"{self.path}: "
        text = f"{where}{message}"
        if fix:
            text += f" — {fix}"
        super().__init__(text)


def gzip_error(path: str | Path, exc: Exception, *, fix: str = "copy or download this file again") -> UserError:
    """A gzip stream that ends early or holds bad data (every reader of .gz input says it the same way)."""
    return UserError(f"the gzip file is truncated or corrupt ({exc})", path=path, fix=fix)
