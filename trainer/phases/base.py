"""What a phase is: one registered `Phase` object in its own file (trainer/phases/<name>.py), in the manner of
sentence-transformers' one loss per file. The registry `PHASES` is read by everything that lists the phases: the
run config's tables (trainer.config), `trainer run-all`'s loop, the `trainer <command>` of each phase, the model
cards' titles. Registration order is run order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from trainer.config import RunConfig, Section
    from trainer.phase_folder import PhaseRun


@dataclass(frozen=True)
class Option:
    """A `trainer <command>` option that overrides one of the phase's inputs (`Phase.inputs`)."""

    key: str  # the input it overrides
    flag: str  # "--base"; "" for the command's positional arguments (a list)
    help: str
    # model: an existing folder made absolute, else a hub id (or a name of the run); path: made absolute; text: as is
    kind: Literal["model", "path", "text"] = "model"


@dataclass(frozen=True)
class Required:
    """An input the phase cannot run without, checked before anything is written or trained."""

    key: str  # the input
    setting: str  # where the config sets it: "[data] pairs"
    fix: str  # what to set it to: "a build-pairs output folder"
    check: Callable[[Any], Any] | None = None  # a deeper check of the value (e.g. trainer.data.pair_files)


def trained_line(phase: Phase, summary: dict[str, Any], out: Path) -> str:
    """The line `trainer <command>` prints once a training phase's model is saved."""
    losses = summary.get("losses") or []
    trend = f", loss {losses[0][1]:.4f} → {losses[-1][1]:.4f}" if len(losses) > 1 else ""
    return f"{phase.label}: {summary.get('steps', 0)} steps{trend}; model saved to {out}"


@dataclass(frozen=True)
class Phase:
    name: str  # TOML section, manifest key
    command: str  # `trainer COMMAND`
    folder: str  # output folder under [model] output_dir
    verb: str  # what run-all says it is doing: "training" or "averaging"
    label: str  # progress bars and messages
    title: str  # model cards
    config: type[Section]  # its TOML table
    # What the phase reads, with the names of the run resolved: by default the outputs of the phases before it
    inputs: Callable[[RunConfig], dict[str, Any]]
    # Runs the phase into ctx.out from its inputs (defaults, or overridden by the command's options): its summary
    run: Callable[[PhaseRun, RunConfig, dict[str, Any]], dict[str, Any]]
    help: str  # the command's help
    epilog: str  # the command's example
    status: str = "trained"  # what run-all's manifest records once it ran ("averaged")
    options: tuple[Option, ...] = ()
    required: tuple[Required, ...] = ()
    path_keys: tuple[str, ...] = ()  # keys of its table that are paths, relative to the config file
    model_keys: tuple[str, ...] = ()  # keys that are model references: a folder beside the config, else a hub id
    # the inputs of `trainer <command>`: the config's, then `given` (the options set, by key) applied over them
    command_inputs: Callable[[RunConfig, dict[str, Any]], dict[str, Any]] | None = None
    done: Callable[[Phase, dict[str, Any], Path], str] = field(default=trained_line)  # the command's last line

    @property
    def trains(self) -> bool:
        return self.status == "trained"


def training_evaluator(cfg: RunConfig, section: Any) -> Any:
    """Step 4 of a training phase: with `evaluate_during_training`, the run's evaluators (trainer.evaluate's
    build_evaluators, as run-all's evaluation after the phase uses them) as one SequentialEvaluator for the trainer;
    else None."""
    if not getattr(section, "evaluate_during_training", False):
        return None
    from sentence_transformers.evaluation import SequentialEvaluator

    from trainer.evaluate import build_evaluators, evalsets_folder

    ev = cfg.evaluate
    evaluators = build_evaluators(
        evalsets_folder(cfg.data.evalsets),
        cfg.data.pairs,
        sets=ev.sets,
        linking=ev.linking,
        linking_split=ev.linking_split,
        batch_size=ev.batch_size,
    )
    return SequentialEvaluator(evaluators) if evaluators else None


PHASES: dict[str, Phase] = {}


def register(phase: Phase) -> Phase:
    """Add `phase` to the registry, after the ones registered before it (it runs after them)."""
    from pydantic import BaseModel

    from trainer.config import SHARED

    if phase.name in PHASES or phase.command in {p.command for p in PHASES.values()}:
        raise ValueError(f"a phase named {phase.name!r} or with the command {phase.command!r} is registered already")
    # its table is read as `config.<name>`: not a name the run config has already
    if phase.name in (*SHARED, "phases", "source") or hasattr(BaseModel, phase.name):
        raise ValueError(f"{phase.name!r} is taken by the run config: name the phase otherwise")
    PHASES[phase.name] = phase
    return phase
