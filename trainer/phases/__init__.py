"""The training phases: contrastive → self-distillation → weight averaging (→ multilingual).

Each is one registered `Phase` (trainer/phases/base.py) in its own file: its TOML table, its inputs, its run, its
command. `REGISTERED` is the registration: importing each file registers its phase, in this order, the run order.
Adding a phase is one new file that calls `register(Phase(...))`, plus its name here.
"""

from __future__ import annotations

import importlib

from trainer.phases.base import PHASES, Option, Phase, Required, register

REGISTERED = ("contrastive", "self_distillation", "weight_averaging", "multilingual")  # run order
for _module in REGISTERED:
    importlib.import_module(f"trainer.phases.{_module}")

__all__ = ["PHASES", "REGISTERED", "Option", "Phase", "Required", "register"]
