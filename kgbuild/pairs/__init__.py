"""build-pairs: KG tables → descriptions, training pairs with concept-level splits, and a KG linking set."""

from __future__ import annotations

from kgbuild.pairs.build import PairOptions, build_pairs

__all__ = ["PairOptions", "build_pairs"]
