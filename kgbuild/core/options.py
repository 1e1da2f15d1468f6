"""Options models as the one source of defaults: a library's options dataclass says each field's default and help,
and a command's typer option is built from that field, so the two cannot drift."""

from __future__ import annotations

import dataclasses
from typing import Any

import typer


def described(default: Any, help: str) -> Any:
    """A dataclass field with its default and the help its command option shows."""
    return dataclasses.field(default=default, metadata={"help": help})


def option(model: type, name: str, *flags: str, **kwargs: Any) -> Any:
    """The typer option of field `name` of the options dataclass `model`: its default and help are the field's."""
    field = {f.name: f for f in dataclasses.fields(model)}[name]
    default = field.default_factory() if field.default is dataclasses.MISSING else field.default
    return typer.Option(default, *flags, help=field.metadata["help"], **kwargs)
