"""`trainer contrastive | distill | average | multilingual`: each registered phase alone (the config gives the
defaults), one command per phase made from its `Phase` (trainer/phases/): its options, help and example."""

from __future__ import annotations

import contextlib
import inspect
from pathlib import Path
from typing import Any

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.core.errors import UserError
from trainer.commands.common import CONFIG_OPTION, FORCE_OPTION, SET_OPTION, interruptible, resolve_config
from trainer.phase_folder import checkpoints_for, drop_checkpoints
from trainer.phases import PHASES, Option, Phase
from trainer.training import is_main_process


def _abs(path: Path | None) -> Path | None:
    return Path(path).resolve() if path is not None else None


def _model(value: str | None) -> str | None:
    """A model option: an existing folder becomes absolute, anything else is a hub id."""
    if value and Path(value).exists():
        return str(Path(value).resolve())
    return value


def _value(option: Option, value: Any) -> Any:
    if option.kind == "path":
        return _abs(value)
    if option.kind == "model":
        return [_model(v) for v in value] if isinstance(value, list) else _model(value)
    return value


def _parameter_of(name: str, default: Any, kind: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=kind)


def _parameter(option: Option) -> inspect.Parameter:
    if not option.flag:  # the positional arguments
        return _parameter_of(option.key, typer.Argument(None, help=option.help), list[str])
    kind = Path if option.kind == "path" else str
    return _parameter_of(option.key, typer.Option(None, option.flag, help=option.help), kind)


def _inputs(phase: Phase, cfg: Any, given: dict[str, Any]) -> dict[str, Any]:
    """The config's inputs with the options given applied over them; a required one missing is one line."""
    if phase.command_inputs is not None:
        inputs = phase.command_inputs(cfg, given)
    else:
        inputs = phase.inputs(cfg)
        inputs.update({k: v for k, v in given.items() if v})
    flags = {o.key: o.flag for o in phase.options}
    missing = [need for need in phase.required if not inputs.get(need.key)]
    if missing:
        raise UserError(
            f"no {' and no '.join(flags[n.key] for n in missing)} given",
            fix=f"pass {' '.join(f'{flags[n.key]} {n.key.upper()}' for n in missing)} "
            f"or set {' and '.join(n.setting for n in missing)} in the config",
        )
    return inputs


def command(phase: Phase):
    """The `trainer <phase.command>` function, its parameters in the order --help lists them: the phase's positional
    arguments, --config, the phase's options, --out, --set, --force."""

    def run_phase(**values: Any) -> None:
        from kgbuild.core.render import Renderer
        from trainer.phase_folder import PhaseRun

        cfg = resolve_config(values["config"], values["overrides"])
        given = {o.key: _value(o, values[o.key]) for o in phase.options if values[o.key] is not None}
        inputs = _inputs(phase, cfg, given)
        out = _abs(values["out"]) or cfg.phase_dir(phase.name)
        run = PhaseRun(out, force=values["force"], report=Renderer(progress=True))
        # a training phase keeps checkpoints to resume from; averaging is seconds
        stop = interruptible(checkpoints_for(out)) if phase.trains else contextlib.nullcontext()
        with stop:
            summary = phase.run(run, cfg, inputs)
        if phase.trains and not cfg.model.keep_checkpoints:  # a phase run on its own drops them once saved
            drop_checkpoints(checkpoints_for(out))
        if is_main_process():  # under torchrun, one process reports
            err.print(phase.done(phase, summary, out), style="green")

    common = {
        "config": (CONFIG_OPTION, Path),
        "out": (typer.Option(None, "--out", help=f"Output model folder; default <output_dir>/{phase.folder}."), Path),
        "overrides": (SET_OPTION, list[str]),
        "force": (FORCE_OPTION, bool),
    }
    parameters = [
        *(_parameter(o) for o in phase.options if not o.flag),
        _parameter_of("config", *common.pop("config")),
        *(_parameter(o) for o in phase.options if o.flag),
        *(_parameter_of(name, default, kind) for name, (default, kind) in common.items()),
    ]
    run_phase.__signature__ = inspect.Signature(parameters)  # what typer reads: the options, in this order
    run_phase.__annotations__ = {p.name: p.annotation for p in parameters}
    run_phase.__name__ = phase.command
    run_phase.__doc__ = phase.help
    return user_errors(run_phase)


def register(app: typer.Typer) -> None:
    for phase in PHASES.values():
        app.command(phase.command, epilog=phase.epilog)(command(phase))
