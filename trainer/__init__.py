"""trainer: the three BioLORD-2023 phases (contrastive, self-distillation, weight averaging), multilingual
distillation and evaluation, on sentence-transformers."""

from __future__ import annotations

__version__ = "0.1.0"
