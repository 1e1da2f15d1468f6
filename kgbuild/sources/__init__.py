"""Sources of terms for `kgbuild extract` besides a UMLS release: each kind is one registered object in its own file
(obo.py: `--obo`, vocab.py: `--vocab`) that reads one input into the staging tables of staging.py; extract.py runs
the SQL of sql/terms/ over the staging tables of every input given, merged where they share an id."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from kgbuild.sources.staging import Staged


class Source(Protocol):
    option: str  # the extract option that gives it (--obo, --vocab)
    kind: str  # what the manifest calls it (obo, vocab)

    def read(self, path: Path, source: int, **options: Any) -> Staged: ...


SOURCES: dict[str, Source] = {}


def register(cls: type) -> type:
    SOURCES[cls.option] = cls()
    return cls
