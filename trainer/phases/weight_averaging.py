"""Phase 3 (BioLORD-2023): average the parameters of N checkpoints of one architecture with given weights.

Default ([weight_averaging] models): the phase-2 student, the phase-1 model and the base, weighted 0.3, 0.3 and 0.4
(trainer.config.DEFAULT_SOUP; a soup with the base keeps its general-domain scores: BENCHMARKS.md, issue 14).
Weights are normalised to sum to 1. Keys and shapes must match exactly; integer buffers (e.g. position ids) must be
equal, since they cannot be averaged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from kgbuild.core.errors import UserError
from trainer.models import model_reference
from trainer.phase_folder import refuse_existing, save_phase
from trainer.training import is_main_process


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
) -> dict[str, Any]:
    """Average sentence-transformers models (folders or hub ids) into a normal model folder at `out`. Under torchrun
    the main process does it alone (nothing to share: it is seconds on a CPU); the others return what it will do."""
    from sentence_transformers import SentenceTransformer

    out = Path(out)
    refuse_existing(out, force, inputs={f"model {i + 1}": Path(m) for i, m in enumerate(models)})
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
    save_phase(
        result,
        out,
        info={"phase": "weight_averaging", **summary, **(marker or {})},
        settings={"weights": list(weights)},
    )
    return summary
