"""Compare the tables of two KG folders row by row (kgbuild.core.tables.differences): the before/after check of a change
that must leave the output alone, e.g. the same ontology extracted by two commits.

Usage: python benchmarks/compare_kg.py BEFORE_DIR AFTER_DIR [BEFORE_DIR AFTER_DIR ...]
Prints one line per pair ("identical: N tables" or what differs); exit code 1 when any pair differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kgbuild.core.tables import differences


def main(argv: list[str]) -> int:
    if not argv or len(argv) % 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    failed = False
    for before, after in zip(argv[::2], argv[1::2], strict=True):
        found = differences(Path(before), Path(after))
        n = len(list(Path(before).glob("*.parquet")))
        print(f"{before} vs {after}: " + ("; ".join(found) if found else f"identical: {n} tables"))
        failed |= bool(found)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
