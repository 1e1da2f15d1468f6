"""Options models as the one source of defaults: a library's options dataclass says each field's default and help,
and a command's typer option is built from that field, so the two cannot drift."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import typer


def described(default: Any, help: str) -> Any:
    """A dataclass field with its default and the help its command option shows."""
    return dataclasses.field(default=default, metadata={"help": help})


def option(model: type, name: str, *flags: str, **kwargs: Any) -> Any:
    """The typer option of field `name` of the options dataclass `model`: its default and help are the field's."""
    field = {f.name: f for f in dataclasses.fields(model)}[name]
    if field.default is not dataclasses.MISSING:
        default = field.default
    elif field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    else:
        default = ...  # required
    return typer.Option(default, *flags, help=field.metadata["help"], **kwargs)


def options_block(model: type, name: str, flags: dict[str, str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A typer command's option block from one options dataclass: the fields named in `flags` (field → flag) become
    the command's options, and the command gets them as one `model` instance in its parameter `name`, so several
    commands share one block (`kgbuild publish`, `trainer push`)."""
    hints = typing.get_type_hints(model)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command)
        block = [
            inspect.Parameter(
                field,
                inspect.Parameter.KEYWORD_ONLY,
                default=option(model, field, flag),
                annotation=hints[field],
            )
            for field, flag in flags.items()
        ]

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            given = model(**{field: kwargs.pop(field) for field in flags})
            return command(*args, **kwargs, **{name: given})

        run.__signature__ = signature.replace(  # what typer reads
            parameters=[p for p in signature.parameters.values() if p.name != name] + block
        )
        return run

    return decorate
