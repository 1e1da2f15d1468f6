"""Phase 3 (BioLORD-2023): average the parameters of N checkpoints of one architecture with given weights.

Default ([weight_averaging] models): the phase-2 student, the phase-1 model and the base, weighted 0.3, 0.3 and 0.4
(DEFAULT_SOUP below; a soup with the base keeps its general-domain scores: BENCHMARKS.md, issue 14).
Weights are normalised to sum to 1. Keys and shapes must match exactly; integer buffers (e.g. position ids) must be
equal, since they cannot be averaged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, silent
from trainer.config import Section
from trainer.phases.base import Option, Phase, register

if TYPE_CHECKING:  # imported where used: `trainer --help` must not pay for loading torch
    import torch

    from trainer.config import RunConfig
    from trainer.phase_folder import PhaseRun

# The default soup and its weights: the soup with the base keeps the general-domain scores of the base at a small
# cost in linking; the base's share 0.4 is the study's pick by the targets, and with three seeds it still
# keeps the linking target, which 0.5 loses (BENCHMARKS.md, issue 14, stages 7 and 8).
DEFAULT_SOUP = {"self_distillation": 0.3, "contrastive": 0.3, "base": 0.4}


class WeightAveragingConfig(Section):
    enabled: bool = True
    # models or names of the run ("base", "contrastive", "self_distillation")
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_SOUP), min_length=2)
    # one per model (normalised); empty: DEFAULT_SOUP's for its models, else equal weights
    weights: list[float] = Field(default_factory=list)

    @field_validator("weights")
    @classmethod
    def _usable(cls, weights: list[float]) -> list[float]:
        if weights and (any(w < 0 for w in weights) or max(weights) <= 0):
            raise ValueError("give non-negative weights with a positive sum, one per model")
        return weights

    @model_validator(mode="after")
    def _one_weight_per_model(self) -> WeightAveragingConfig:
        if not self.weights:
            self.weights = (
                list(DEFAULT_SOUP.values()) if self.models == list(DEFAULT_SOUP) else [1.0] * len(self.models)
            )
        if len(self.weights) != len(self.models):
            raise ValueError(
                f"{len(self.weights)} weights for {len(self.models)} models ({', '.join(self.models)}): give one "
                "weight per model, or no weights for equal ones"
            )
        return self


def normalise_weights(weights: Sequence[float]) -> list[float]:
    """Weights that sum to 1: finite, non-negative, a positive sum. Scaled by the largest first, so that weights
    near the float limit (1e308, 1e308) do not overflow to inf and average into zeros."""
    values = [float(w) for w in weights]
    if not values or not all(math.isfinite(w) and w >= 0 for w in values) or max(values) <= 0:
        raise UserError(
            f"weights {list(weights)} are not usable", fix="give finite, non-negative weights with a positive sum"
        )
    top = max(values)
    scaled = [w / top for w in values]
    total = sum(scaled)
    return [w / total for w in scaled]


def average_state_dicts(
    state_dicts: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float], names: Sequence[str] | None = None
) -> dict[str, torch.Tensor]:
    """The weighted mean of `state_dicts`, tensor by tensor (a pure function: the inputs are not modified).

    Sums are taken in float64 and cast back to each tensor's dtype. Raises UserError on mismatched keys or shapes.
    """
    import torch

    names = list(names or [f"model {i}" for i in range(len(state_dicts))])
    if len(state_dicts) < 2:
        raise UserError(f"averaging needs at least 2 models, got {len(state_dicts)}", fix="list two or more models")
    if len(weights) != len(state_dicts):
        raise UserError(f"{len(weights)} weights for {len(state_dicts)} models", fix="give one weight per model")
    norm = normalise_weights(weights)

    reference = state_dicts[0]
    for name, state in zip(names[1:], state_dicts[1:], strict=True):
        missing, extra = set(reference) - set(state), set(state) - set(reference)
        if missing or extra:
            raise UserError(
                f"{name} has different parameters than {names[0]}: missing {sorted(missing)[:5]}, "
                f"extra {sorted(extra)[:5]}",
                path=name,
                fix="average checkpoints of one architecture",
            )
        for key, tensor in reference.items():
            if state[key].shape != tensor.shape:
                raise UserError(
                    f"{name}: {key} has shape {tuple(state[key].shape)}, {names[0]} has {tuple(tensor.shape)}",
                    path=name,
                    fix="average checkpoints of one architecture",
                )

    averaged: dict[str, torch.Tensor] = {}
    for key, tensor in reference.items():
        if not torch.is_floating_point(tensor):
            for name, state in zip(names[1:], state_dicts[1:], strict=True):
                if not torch.equal(state[key], tensor):
                    raise UserError(
                        f"{name}: non-float tensor {key} differs from {names[0]}",
                        path=name,
                        fix="average checkpoints of one architecture and configuration",
                    )
            averaged[key] = tensor.clone()
            continue
        acc = torch.zeros(tensor.shape, dtype=torch.float64)
        for w, state in zip(norm, state_dicts, strict=True):
            acc += w * state[key].detach().to("cpu", torch.float64)
        averaged[key] = acc.to(tensor.dtype)
    return averaged


def average_models(
    models: Sequence[str],
    weights: Sequence[float],
    out: Path,
    *,
    force: bool = False,
    marker: dict[str, Any] | None = None,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Average sentence-transformers models (folders or hub ids) into a normal model folder at `out`. Under torchrun
    the main process does it alone (nothing to share: it is seconds on a CPU); the others return what it will do.
    `report`: kgbuild.core.events (averaging has no progress to report: seconds)."""
    from sentence_transformers import SentenceTransformer

    from trainer.models import model_reference
    from trainer.phase_folder import PhaseRun
    from trainer.training import is_main_process

    run = PhaseRun(out, force=force, marker=marker, report=report)
    run.refuse({f"model {i + 1}": Path(m) for i, m in enumerate(models)})
    if not is_main_process():
        return {"models": [model_reference(m) for m in models], "weights": normalise_weights(weights), "main": False}
    started = time.perf_counter()

    # 1. Load every model on CPU (the first one is the container the average is written into)
    refs = [model_reference(m) for m in models]
    loaded = [SentenceTransformer(ref, device="cpu") for ref in refs]

    # 2. Average their parameters
    averaged = average_state_dicts([m.state_dict() for m in loaded], weights, names=refs)

    # 3. Load the average into the first model and save it atomically
    result = loaded[0]
    result.load_state_dict(averaged)
    summary = {
        "models": refs,
        "weights": normalise_weights(weights),
        "wall_s": round(time.perf_counter() - started, 3),
    }
    run.save(result, PHASE.name, summary, {"weights": list(weights)})
    return summary


def _inputs(cfg: RunConfig) -> dict[str, Any]:
    wa = cfg.weight_averaging  # one weight per model: checked when the config was read
    return {"models": [cfg.resolve_model(m) for m in wa.models], "weights": wa.weights}


def _weights(text: str) -> list[float]:
    """--weights as a TOML list ([0.3, 0.7], what [weight_averaging] weights holds) or comma-separated (0.3,0.7)."""
    from trainer.config import toml_value

    value = toml_value(text)
    items = value if isinstance(value, list) else [value] if isinstance(value, int | float) else text.split(",")
    if any(isinstance(w, bool) or not str(w).strip() for w in items):  # true, or an empty item ("0.5,")
        return []
    try:
        return [float(w) for w in items]
    except (TypeError, ValueError):
        return []


def _command_inputs(cfg: RunConfig, given: dict[str, Any]) -> dict[str, Any]:
    """Models named on the command line may be names of the run; weights given as text. The config's weights go
    with the config's models: models named here get equal weights."""
    inputs = _inputs(cfg)
    models = given.get("models")
    if models:
        inputs["models"] = [cfg.resolve_model(m) for m in models]
    if given.get("weights"):
        inputs["weights"] = _weights(given["weights"])
        if not inputs["weights"]:
            raise UserError(
                f"--weights {given['weights']!r} is not a list of numbers",
                fix="e.g. --weights 0.5,0.5 or --weights '[0.5, 0.5]'",
            )
    elif models:
        inputs["weights"] = [1.0] * len(inputs["models"])
    return inputs


def _run(ctx: PhaseRun, cfg: RunConfig, inputs: dict[str, Any]) -> dict[str, Any]:
    return average_models(inputs["models"], inputs["weights"], ctx.out, force=ctx.force, marker=ctx.marker)


def _done(phase: Phase, summary: dict[str, Any], out: Path) -> str:
    return f"averaged {len(summary['models'])} models with weights {summary['weights']}; saved to {out}"


PHASE = register(
    Phase(
        name="weight_averaging",
        command="average",
        folder="final",
        verb="averaging",
        status="averaged",
        label="averaging",
        title="3. Weight averaging",
        config=WeightAveragingConfig,
        inputs=_inputs,
        run=_run,
        help="Phase 3 (BioLORD-2023): the weighted average of the parameters of N models of one architecture.",
        epilog="Example: trainer average run/self_distillation run/contrastive --weights 0.5,0.5 --out run/final",
        options=(
            Option(
                "models",
                "",
                "Models to average (folders, hub ids, or base / contrastive / self_distillation of the config); "
                "default [weight_averaging] models: phase 2, phase 1 and the base.",
            ),
            Option(
                "weights",
                "--weights",
                "Weights, one per model (normalised): 0.3,0.7 or as in the TOML, [0.3, 0.7].",
                kind="text",
            ),
        ),
        command_inputs=_command_inputs,
        done=_done,
    )
)
