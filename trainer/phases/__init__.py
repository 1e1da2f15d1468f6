"""The training phases, each a plain function: contrastive → self-distillation → weight averaging (→ multilingual)."""
