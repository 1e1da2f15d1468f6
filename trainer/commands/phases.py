"""`trainer contrastive | distill | average | multilingual`: each phase alone (the config gives the defaults)."""

from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.core.errors import UserError
from trainer.commands.common import CONFIG_OPTION, FORCE_OPTION, SET_OPTION, interruptible, report, resolve_config
from trainer.phase_folder import checkpoints_for
from trainer.phases import PHASES


def _abs(path: Path | None) -> Path | None:
    return Path(path).resolve() if path is not None else None


def _model(value: str | None) -> str | None:
    """A model option: an existing folder becomes absolute, anything else is a hub id."""
    if value and Path(value).exists():
        return str(Path(value).resolve())
    return value


def _pairs(pairs: Path | None, cfg) -> Path:
    """--pairs, else [data] pairs from the config; one of them is needed."""
    pairs = _abs(pairs) or cfg.data.pairs  # every phase that reads pairs reads [data] pairs
    if pairs is None:
        raise UserError("no pairs folder given", fix="pass --pairs PAIRS_DIR or set [data] pairs in the config")
    return pairs


@user_errors
def contrastive(
    config: Path = CONFIG_OPTION,
    base: str = typer.Option(None, "--base", help="Base model (folder or hub id); default [model] base."),
    pairs: Path = typer.Option(None, "--pairs", help="build-pairs output folder; default [data] pairs."),
    out: Path = typer.Option(None, "--out", help="Output model folder; default <output_dir>/contrastive."),
    overrides: list[str] = SET_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Phase 1 (BioLORD-2023-C): contrastive training with in-batch negatives, one pair per cui in a batch."""
    from trainer.phases.contrastive import train_contrastive

    cfg = resolve_config(config, overrides)
    pairs = _pairs(pairs, cfg)
    out = _abs(out) or cfg.phase_dir("contrastive")
    with interruptible(checkpoints_for(out)):
        summary = train_contrastive(
            _model(base) or cfg.phase_inputs("contrastive")["base"],
            pairs,
            out,
            cfg.contrastive,
            max_seq_length=cfg.model.max_seq_length,
            seed=cfg.model.seed,
            force=force,
        )
    report(PHASES["contrastive"].label, summary, out, keep_checkpoints=cfg.model.keep_checkpoints)


@user_errors
def distill(
    config: Path = CONFIG_OPTION,
    teacher: str = typer.Option(None, "--teacher", help="Teacher model; default <output_dir>/contrastive."),
    student: str = typer.Option(
        None, "--student", help="Student start; default [self_distillation] student (the phase-1 model)."
    ),
    pairs: Path = typer.Option(None, "--pairs", help="build-pairs output folder; default [data] pairs."),
    out: Path = typer.Option(None, "--out", help="Output model folder; default <output_dir>/self_distillation."),
    overrides: list[str] = SET_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Phase 2 (BioLORD-2023-S): the student learns the teacher's embeddings of the training texts (MSE)."""
    from trainer.phases.self_distillation import train_self_distillation

    cfg = resolve_config(config, overrides)
    pairs = _pairs(pairs, cfg)
    sd = cfg.self_distillation
    out = _abs(out) or cfg.phase_dir("self_distillation")
    inputs = cfg.phase_inputs("self_distillation")
    teacher = _model(teacher) or inputs["teacher"]
    student = _model(student) or inputs["student"]
    with interruptible(checkpoints_for(out)):
        summary = train_self_distillation(
            teacher,
            student,
            pairs,
            out,
            sd,
            max_seq_length=cfg.model.max_seq_length,
            seed=cfg.model.seed,
            cache_dir=out.parent / "cache",
            force=force,
        )
    report(PHASES["self_distillation"].label, summary, out, keep_checkpoints=cfg.model.keep_checkpoints)


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


@user_errors
def average(
    models: list[str] = typer.Argument(
        None,
        help="Models to average (folders, hub ids, or base / contrastive / self_distillation of the config); "
        "default [weight_averaging] models: phase 2, phase 1 and the base.",
    ),
    weights: str = typer.Option(
        None,
        "--weights",
        help="Weights, one per model (normalised): 0.3,0.7 or as in the TOML, [0.3, 0.7].",
    ),
    config: Path = CONFIG_OPTION,
    out: Path = typer.Option(None, "--out", help="Output model folder; default <output_dir>/final."),
    overrides: list[str] = SET_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Phase 3 (BioLORD-2023): the weighted average of the parameters of N models of one architecture."""
    from trainer.phases.weight_averaging import average_models

    cfg = resolve_config(config, overrides)
    inputs = cfg.phase_inputs("weight_averaging")
    chosen = [cfg.resolve_model(_model(m)) for m in models] if models else inputs["models"]
    if weights:
        parsed = _weights(weights)
        if not parsed:
            raise UserError(
                f"--weights {weights!r} is not a list of numbers",
                fix="e.g. --weights 0.5,0.5 or --weights '[0.5, 0.5]'",
            )
    else:  # the config's weights go with the config's models; models named here get equal weights
        parsed = [1.0] * len(chosen) if models else inputs["weights"]
    out = _abs(out) or cfg.phase_dir("weight_averaging")
    summary = average_models(chosen, parsed, out, force=force)
    err.print(f"averaged {len(chosen)} models with weights {summary['weights']}; saved to {out}", style="green")


@user_errors
def multilingual(
    config: Path = CONFIG_OPTION,
    student: str = typer.Option(None, "--student", help="Multilingual student model; default [multilingual] student."),
    teacher: str = typer.Option(None, "--teacher", help="English teacher; default <output_dir>/final."),
    parallel: Path = typer.Option(None, "--parallel", help="Parallel table (en, xx): a Parquet file or folder."),
    out: Path = typer.Option(None, "--out", help="Output model folder; default <output_dir>/multilingual."),
    overrides: list[str] = SET_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Phase 4 (BioLORD-2023-M): a multilingual student maps English and translated text to the teacher's embedding."""
    from trainer.phases.multilingual import train_multilingual

    cfg = resolve_config(config, overrides)
    inputs = cfg.phase_inputs("multilingual")
    parallel = _abs(parallel) or inputs["parallel"]
    student = _model(student) or inputs["student"]
    if parallel is None or not student:
        raise UserError(
            "the parallel table and the student are required",
            fix="pass --parallel FILE --student MODEL (or set them in the config)",
        )
    out = _abs(out) or cfg.phase_dir("multilingual")
    teacher = _model(teacher) or inputs["teacher"]
    with interruptible(checkpoints_for(out)):
        summary = train_multilingual(
            teacher, student, parallel, out, cfg.multilingual, seed=cfg.model.seed, force=force
        )
    report(PHASES["multilingual"].label, summary, out, keep_checkpoints=cfg.model.keep_checkpoints)


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Example: trainer contrastive --base sentence-transformers/all-mpnet-base-v2 "
        "--pairs pairs/ --out run/contrastive --set contrastive.max_steps=1000"
    )(contrastive)
    app.command(
        epilog="Example: trainer distill --teacher run/contrastive --student "
        "sentence-transformers/all-mpnet-base-v2 --pairs pairs/ --out run/self_distillation"
    )(distill)
    app.command(
        epilog="Example: trainer average run/self_distillation run/contrastive --weights 0.5,0.5 --out run/final"
    )(average)
    app.command(
        epilog="Example: trainer multilingual --teacher run/final --student "
        "sentence-transformers/paraphrase-multilingual-mpnet-base-v2 --parallel en_nl.parquet "
        "--out run/multilingual"
    )(multilingual)
