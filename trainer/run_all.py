"""`trainer run-all`: the enabled phases in order (the registry's, trainer.phases), an evaluation after each, resume,
and the run manifest. A library: it reports what it does (kgbuild.core.events), the command renders it.

A phase whose folder holds a finished model with the same configuration fingerprint is skipped (resume); a finished
folder made with another configuration is refused unless --force. manifest.json records the config, data hashes,
versions, seeds, timings and scores, and is rewritten after every phase so a stopped run still shows its progress.
Each phase folder's README.md is its model card, rewritten after the phase's evaluation on every run (write_card).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kgbuild.core.atomic import check_output, check_overlap, write_errors
from kgbuild.core.console import shown
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, say, silent
from kgbuild.core.manifest import read_manifest, write_manifest
from trainer import __version__
from trainer.config import RunConfig
from trainer.evaluate import REFERENCES, evalsets_folder, evaluate_model, headline, reference_for
from trainer.hashing import sha256_file, short_hash
from trainer.phase_folder import PhaseRun, drop_checkpoints, finished
from trainer.phases import PHASES
from trainer.training import barrier, is_main_process, world_size

logger = logging.getLogger(__name__)


def file_digest(path: Path) -> dict[str, Any]:
    return {"path": str(path), "bytes": Path(path).stat().st_size, "sha256": sha256_file(path)}


def data_inputs(config: RunConfig) -> dict[str, Any]:
    """Hashes of the data a run reads (pairs and parallel tables)."""
    from kgbuild.core.contracts import table_files

    inputs: dict[str, Any] = {}
    if config.data.pairs and Path(config.data.pairs).is_dir():
        inputs["pairs"] = [
            file_digest(Path(f))
            for t in ("pairs", "linking", "linking_candidates")
            for f in table_files(config.data.pairs, t)
        ]
    if config.multilingual.enabled and config.parallel and config.parallel.exists():
        parallel = config.parallel
        files = [parallel] if parallel.is_file() else [Path(f) for f in table_files(parallel, "parallel")]
        inputs["parallel"] = [file_digest(f) for f in files]
    return inputs


def data_lineage(config: RunConfig) -> dict[str, Any] | None:
    """The lineage of the data a run reads (the folders data_inputs hashes), carried into the run manifest so that
    `trainer push` reads the training data's licence there, not from folders that may have moved since."""
    from kgbuild.core import lineage

    folders = [Path(config.data.pairs)] if config.data.pairs and Path(config.data.pairs).is_dir() else []
    parallel = config.parallel if config.multilingual.enabled else None
    if parallel is not None and Path(parallel).exists():
        folders.append(Path(parallel))  # a bare parallel file has no manifest: an origin of unknown kind, restricted
    return lineage.carry(*folders) if folders else None


# Settings that change how a phase runs, not what it makes: changing them never retrains a finished phase.
_NOT_IN_FINGERPRINT = ("keep_checkpoints", "dataloader_workers")


def phase_fingerprint(config: RunConfig, phase: str, data_hash: str) -> str:
    """What a phase's output depends on: data, model settings and this and every earlier phase's section."""
    order = list(PHASES)
    upto = order[: order.index(phase) + 1]

    def section(name: str) -> dict[str, Any]:
        return {k: v for k, v in config.section(name).items() if k not in _NOT_IN_FINGERPRINT}

    return short_hash({"data": data_hash, "model": section("model"), **{p: section(p) for p in upto}})


def _require(value: Any, what: str, config: RunConfig, fix: str) -> Any:
    if not value:
        raise UserError(f"{what} is not set", path=config.source, fix=fix)
    return value


def _seconds_left(
    config: RunConfig, remaining: list[str], phases: dict[str, Any], timings: dict[str, float]
) -> float | None:
    """The whole run's time left, from the seconds per step and per evaluation measured so far; None when a remaining
    phase runs by epochs (its steps are not known before it starts) or nothing was measured yet."""
    done = [(timings[p], phases[p]["steps"]) for p in phases if p in timings and phases[p].get("steps")]
    if not done:
        return None
    per_step = sum(t for t, _ in done) / sum(n for _, n in done)
    steps = [getattr(config, p).max_steps for p in remaining if PHASES[p].trains]
    if any(n <= 0 for n in steps):
        return None
    evals = [t for k, t in timings.items() if k.startswith("evaluate_")]
    return per_step * sum(steps) + (sum(evals) / len(evals) if evals else 0) * len(remaining)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _fmt_scores(flat: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in flat.items()) or "no evaluation set found"


def write_card(config: RunConfig, phase: str, out: Path, *, final: bool) -> None:
    """The card of a phase folder, rewritten on every run so none is stale: the run's last phase gets the BioLORD
    card, built like `trainer push` builds it from the manifest just written (so it holds the scores); the others
    their phase card (again: a folder that was the last phase of an earlier run may hold a full card)."""
    from trainer import model_card

    if not final:
        model_card.write(model_card.phase_card(out.name, phase, finished(out) or {}, config.section(phase)), out)
        return
    from sentence_transformers import SentenceTransformer

    facts = model_card.read_model(out, config.output_dir / "manifest.json")
    model_card.describe_loaded(facts, SentenceTransformer(str(out), device="cpu", local_files_only=True))
    model_card.write(model_card.build(facts, model_card.training_licence(facts)), out)


def _check_run_folder(config: RunConfig, enabled: list[str], *, force: bool, report: Reporter) -> None:
    """Before anything is loaded or written: the run folder must not overlap an input (in any direction), and an
    existing one must be a run-all folder (its checkpoints and manifest are replaced as the run goes); with --force,
    a phase folder in it is replaced only if the trainer wrote it."""
    out = config.output_dir
    inputs: dict[str, Path | None] = {"[data] pairs": config.data.pairs, "[data] evalsets": config.data.evalsets}
    if "multilingual" in enabled:
        inputs["[multilingual] parallel"] = config.parallel
    for name, value in (("[model] base", config.model.base), ("[multilingual] student", config.multilingual.student)):
        if value and Path(value).exists():
            inputs[name] = Path(value)
    check_overlap(out, inputs, option="[model] output_dir")
    if out.is_dir() and any(out.iterdir()) and read_manifest(out).get("command") != "trainer run-all":
        raise UserError(
            "[model] output_dir holds files that trainer run-all did not write",
            path=out,
            fix="set output_dir to a new folder, or to the folder of an earlier run-all to resume it",
        )
    if force:
        for phase in enabled:
            if config.phase_dir(phase).exists():
                check_output(config.phase_dir(phase), force=True, report=report)


def _check_required(config: RunConfig, enabled: list[str]) -> None:
    """Every input an enabled phase cannot run without (its `required`), before anything is written or trained."""
    checked: set[str] = set()
    for name in enabled:
        inputs = config.phase_inputs(name)
        for need in PHASES[name].required:
            if need.setting in checked:
                continue
            checked.add(need.setting)
            value = _require(inputs[need.key], need.setting, config, f"set it to {need.fix}")
            if need.check is not None:
                need.check(value)


def run_all(
    config: RunConfig,
    *,
    force: bool = False,
    callbacks: Callable[[str], list] | None = None,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Run the enabled phases of `config` in order (the registry's, trainer.phases) and return the manifest (also
    written to output_dir).

    `report`: what the run is doing, each phase's training progress and each evaluation's scores, as
    kgbuild.core.events (silent by default; `trainer run-all` renders them). `callbacks`: a phase's name →
    transformers TrainerCallbacks for its trainer (benchmarks/gpu_check.py's meters)."""
    enabled = [p for p in PHASES if getattr(config, p).enabled]
    if not enabled:
        raise UserError("every phase is disabled", path=config.source, fix="enable at least one phase")
    _check_required(config, enabled)
    output_dir = config.output_dir
    _check_run_folder(config, enabled, force=force, report=report)
    with write_errors(output_dir):  # a read-only or full disk: one line before anything is loaded
        output_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    inputs = data_inputs(config)
    lineage_block = data_lineage(config)
    data_hash = short_hash(inputs)
    previous = read_manifest(output_dir)
    evalsets = evalsets_folder(config.data.evalsets) if config.evaluate.enabled else None
    # the KG and cross-lingual linking sets: the pairs folder, else the parallel folder (also a build-pairs output)
    parallel = config.parallel if "multilingual" in enabled else None
    eval_pairs = config.data.pairs or (parallel if parallel and parallel.is_dir() else None)
    phases: dict[str, Any] = {}
    scores: dict[str, Any] = {}
    timings: dict[str, float] = {}

    def evaluate(name: str, model: str, model_key: str) -> None:
        if not config.evaluate.enabled or not is_main_process():
            return
        # scores are reused only for the same model scored the same way
        fingerprint = short_hash([model_key, config.section("evaluate"), str(evalsets)])
        old = previous.get("scores", {}).get(name)
        if old and old.get("fingerprint") == fingerprint:
            scores[name] = old  # resumed: this exact model was scored before
            return
        t = time.perf_counter()
        result = evaluate_model(
            model,
            evalsets=evalsets,
            pairs_dir=eval_pairs,
            sets=config.evaluate.sets,
            linking=config.evaluate.linking,
            linking_split=config.evaluate.linking_split,
            batch_size=config.evaluate.batch_size,
            label=name,
            report=report,
        )
        timings[f"evaluate_{name}"] = time.perf_counter() - t
        scores[name] = {"model": model, "fingerprint": fingerprint, "results": result, "headline": headline(result)}
        say(report, name, f"{name}: {_fmt_scores(headline(result))}", scores=headline(result))

    def save_manifest() -> dict[str, Any]:
        if not is_main_process():
            return {}
        timings["total"] = time.perf_counter() - started
        reference = reference_for(config.model.base)
        return write_manifest(
            output_dir,
            command="trainer run-all",
            inputs=inputs,
            parameters=config.to_dict(),
            tables={},
            timings=timings,
            extra={
                "lineage": lineage_block,
                "trainer_version": __version__,
                "config_file": str(config.source) if config.source else None,
                "seeds": {"seed": config.model.seed, "data_seed": config.model.seed},
                "world_size": world_size(),
                "phases": phases,
                "scores": scores,
                "reference": {"name": reference, **REFERENCES.get(reference or "", {})},
            },
        )

    save_manifest()  # first: the folder is the run's from now on (a rerun of a killed first run may resume it)
    evaluate("base", config.model.base, config.model.base)
    upstream_trained = False  # a retrained phase makes the finished outputs after it stale
    for i, phase in enumerate(enabled):
        out = config.phase_dir(phase)
        fingerprint = phase_fingerprint(config, phase, data_hash)
        done = finished(out)
        same = bool(done) and done.get("fingerprint") == fingerprint
        if same and not force and not upstream_trained:
            say(report, phase, f"{phase}: complete in {shown(out)}, skipped")
            phases[phase] = {"status": "skipped (complete)", "output": str(out), **done}
        else:
            if out.exists() and not force and not (same and upstream_trained):
                why = "was made with another configuration" if done else "exists but is not a finished phase output"
                raise UserError(f"{phase} output {why}", path=out, fix="pass --force to retrain it, or remove it")
            left = _seconds_left(config, enabled[i:], phases, timings)
            eta = f"; the run has about {_duration(left)} left" if left is not None else ""
            say(
                report,
                phase,
                f"{phase} (phase {i + 1} of {len(enabled)}): {PHASES[phase].verb} into {shown(out)}{eta}",
            )
            t = time.perf_counter()
            run = PhaseRun(
                out,
                force=True,
                checkpoints=output_dir / "checkpoints" / out.name,
                marker={"fingerprint": fingerprint},
                report=report,
                callbacks=callbacks(phase) if callbacks else None,
            )
            summary = PHASES[phase].run(run, config, config.phase_inputs(phase))
            timings[phase] = time.perf_counter() - t
            phases[phase] = {"status": PHASES[phase].status, "output": str(out), "fingerprint": fingerprint, **summary}
            upstream_trained = True
        barrier()
        if not config.model.keep_checkpoints:  # after the barrier: every process is done with them
            drop_checkpoints(output_dir / "checkpoints" / out.name)
        evaluate(phase, str(out), fingerprint)
        save_manifest()
        if is_main_process():
            write_card(config, phase, out, final=phase == enabled[-1])
    return save_manifest()
