"""The one run config of the trainer tests: the minimal TOML (pairs and base model beside it, 5 + 5 tiny steps),
with any section added or changed."""

from __future__ import annotations

import json
from typing import Any

MINIMAL: dict[str, dict[str, Any]] = {
    "data": {"pairs": "pairs"},
    "model": {"base": "base", "output_dir": "run"},
    "contrastive": {"max_steps": 5, "batch_size": 8},
    "self_distillation": {"max_steps": 5, "batch_size": 8},
    "weight_averaging": {"models": ["self_distillation", "contrastive"], "weights": [0.5, 0.5]},
}


def run_toml(*, base: str = "base", steps: int = 5, **sections: dict[str, Any]) -> str:
    """MINIMAL with `base`, `steps` in both training phases, and each given section merged in."""
    tables = {name: dict(values) for name, values in MINIMAL.items()}
    tables["model"]["base"] = base
    tables["contrastive"]["max_steps"] = tables["self_distillation"]["max_steps"] = steps
    for name, values in sections.items():
        tables.setdefault(name, {}).update(values)
    lines = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"
