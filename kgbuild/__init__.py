"""kgbuild: biomedical knowledge graphs (UMLS, OBO) to BioLORD-style training data."""

from __future__ import annotations

__version__ = "0.1.0"
