"""A package's public names, imported from their modules on first use (PEP 562 `__getattr__`), so that a command
that only names a package (its options, a flag) does not load the heavy libraries behind the rest of it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """The package's `__getattr__`: each public name → the submodule (of `package`) that defines it."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{names[name]}"), name)

    return __getattr__
