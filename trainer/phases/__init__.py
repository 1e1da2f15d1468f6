"""The training phases, each a plain function: contrastive → self-distillation → weight averaging (→ multilingual).

`PHASES` is the one table of their names: the config section (and manifest key), the `trainer` command, the output
folder under `output_dir`, what run-all says it is doing (averaging does not train), and the title shown on bars and
model cards.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    name: str  # TOML section, manifest key
    command: str  # `trainer COMMAND`
    folder: str  # output folder under [model] output_dir
    verb: str  # "training" or "averaging"
    label: str  # progress bars and messages
    title: str  # model cards


PHASES: dict[str, Phase] = {
    p.name: p
    for p in (
        Phase(
            "contrastive",
            "contrastive",
            "contrastive",
            "training",
            "contrastive",
            "1. Contrastive (LORD: names ↔ definitions/descriptions)",
        ),
        Phase(
            "self_distillation",
            "distill",
            "self_distillation",
            "training",
            "self-distillation",
            "2. Self-distillation",
        ),
        Phase("weight_averaging", "average", "final", "averaging", "averaging", "3. Weight averaging"),
        Phase(
            "multilingual", "multilingual", "multilingual", "training", "multilingual", "4. Multilingual distillation"
        ),
    )
}
