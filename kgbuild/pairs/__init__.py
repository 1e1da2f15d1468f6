"""build-pairs: KG tables → descriptions, training pairs with concept-level splits, and a KG linking set.

`PairOptions` loads alone (the command builds its options from it); `build_pairs` brings polars and pyarrow."""

from __future__ import annotations

from kgbuild.core.lazy import exports

_API = {"PairOptions": "options", "build_pairs": "build"}
__all__ = sorted(_API)
__getattr__ = exports(__name__, _API)
