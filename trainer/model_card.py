"""The model cards (README.md) of trained models, built with huggingface_hub's ModelCard / ModelCardData.

Two kinds, both rendered from a template beside this module: the short phase card every phase folder gets when the
phase saves its model (which phase, made from which models, its settings), and the BioLORD card of a run's final
model (phases, data and its licence, evaluation with n, model-index results, intended use and limits, citation),
which `trainer run-all` writes after evaluating it and `trainer push` reuses while it is current. The BioLORD card
reads the model folder and the run manifest that `trainer run-all` writes beside the phase folders; every key of
the manifest is optional. Both carry a `kgbuild` metadata key (which card, and the key of what it was built from),
so a card of ours that no longer matches its folder is recognised and rebuilt.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from kgbuild import __version__
from kgbuild.core import lineage
from kgbuild.core.atomic import atomic_write_bytes
from kgbuild.core.errors import UserError
from kgbuild.core.languages import iso_code
from kgbuild.publish import (
    BIOLORD_BIBTEX,
    Licence,
    from_lineage,
    licence_metadata,
    redact_paths,
    repo_id_problem,
    terms_text,
    unknown,
)
from trainer import models
from trainer.hashing import short_hash
from trainer.phases import PHASES


def _title(name: str) -> str:
    """A phase's title on the cards (its registered Phase's), else its name."""
    return PHASES[name].title if name in PHASES else name


# What a phase's summary (its marker, the run manifest's phases) says about the model it made.
_PHASE_INFO = (
    "steps",
    "rows",
    "epoch",
    "world_size",
    "weights",
    "models",
    "teacher",
    "student",
    "base",
    "fingerprint",
    "languages",
)
_PHASE_KEYS = (
    "loss",
    "batch_size",
    "epochs",
    "max_steps",
    "learning_rate",
    "warmup_ratio",
    "kinds",
    "texts",
    "weights",
    "models",
    "student",
    "teacher",
)


@dataclass
class ModelFacts:
    folder: Path
    run: dict[str, Any] = field(default_factory=dict)  # the run manifest, {} when not found
    run_path: Path | None = None
    dimension: int | None = None
    max_seq_length: int | None = None
    similarity: str | None = None
    modules: list[str] = field(default_factory=list)
    architecture: str | None = None

    @property
    def config(self) -> dict[str, Any]:
        params = self.run.get("parameters")
        return params if isinstance(params, dict) else {}

    @property
    def base_model(self) -> str | None:
        base = (self.config.get("model") or {}).get("base")
        return str(base) if base else None

    @property
    def phase(self) -> str | None:
        """The phase whose output this model folder is, matched by path."""
        for name, info in (self.run.get("phases") or {}).items():
            out = info.get("output") if isinstance(info, dict) else None
            if out and _same(Path(out), self.folder, self.run_path):
                return name
        return None

    @property
    def pairs_dir(self) -> Path | None:
        pairs = (self.config.get("data") or {}).get("pairs")
        if not pairs:
            return None
        path = Path(pairs)
        for candidate in (path, (self.run_path.parent / path) if self.run_path else None):
            if candidate is not None and candidate.is_dir():
                return candidate
        return None


def _same(out: Path, folder: Path, run_path: Path | None) -> bool:
    """The manifest records phase outputs as the trainer saw them; the run folder may have moved since."""
    if out.exists() and out.resolve() == folder.resolve():
        return True
    return run_path is not None and run_path.parent.resolve() == folder.parent.resolve() and out.name == folder.name


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except json.JSONDecodeError as exc:
        raise UserError(
            f"not valid JSON: {exc.msg}", path=path, line=exc.lineno, fix="restore the file from the run that wrote it"
        ) from None


def find_run_manifest(model_dir: Path, explicit: Path | None = None) -> tuple[Path | None, dict[str, Any]]:
    """--run-manifest, else manifest.json in MODEL_DIR or its parent (run-all writes it beside the phase folders)."""
    if explicit is not None:
        if not Path(explicit).is_file():
            raise UserError("run manifest not found", path=explicit, fix="give the manifest.json of trainer run-all")
        return Path(explicit), _read_json(Path(explicit))
    for candidate in (model_dir / "manifest.json", model_dir.parent / "manifest.json"):
        manifest = _read_json(candidate)
        if str(manifest.get("command", "")).startswith("trainer") or "phases" in manifest:
            return candidate, manifest
    return None, {}


def read_model(model_dir: Path, run_manifest: Path | None = None) -> ModelFacts:
    model_dir = Path(model_dir)
    if not (model_dir / "modules.json").is_file():
        raise UserError(
            "not a sentence-transformers model folder (no modules.json)",
            path=model_dir,
            fix="give a folder saved with SentenceTransformer.save(), e.g. a trainer phase output",
        )
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(
            f"not valid JSON: {exc.msg}",
            path=model_dir / "modules.json",
            line=exc.lineno,
            fix="re-save the model with SentenceTransformer.save()",
        ) from None
    run_path, run = find_run_manifest(model_dir, run_manifest)
    return ModelFacts(
        folder=model_dir, run=run, run_path=run_path, modules=[m.get("type", "?").rsplit(".", 1)[-1] for m in modules]
    )


def describe_loaded(facts: ModelFacts, model: Any) -> None:
    """Fill in what the loaded SentenceTransformer knows (config file layouts change between major versions)."""
    dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    facts.dimension = dim()
    facts.max_seq_length = getattr(model, "max_seq_length", None)
    facts.similarity = getattr(model, "similarity_fn_name", None)
    facts.modules = [type(module).__name__ for module in model]
    hf = _read_json(facts.folder / "config.json")
    facts.architecture = ", ".join(hf.get("architectures") or []) or hf.get("model_type")


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def hub_model_id(reference: str | None) -> str | None:
    """A model reference as a Hub id for `base_model`, or None for a local folder (it says nothing on the Hub)."""
    if not reference or Path(reference).exists() or Path(reference).is_absolute():
        return None
    reference = models.hub_id(reference)
    return None if repo_id_problem(reference) else reference


def _model_name(reference: Any) -> str:
    """How a card names a model: its Hub id, or `a local model (NAME)` (a local path never reaches a card)."""
    text = str(reference)
    hub = hub_model_id(text)
    return f"`{hub}`" if hub else f"a local model ({Path(text).name})"


def _settings(section: dict[str, Any]) -> str:
    section = redact_paths(section)  # model paths in settings: names only
    return ", ".join(
        f"{k}={json.dumps(section[k], default=str)}" for k in _PHASE_KEYS if section.get(k) not in (None, "", [])
    )


def _parents(phase: str, info: dict[str, Any]) -> str:
    """The models a phase started from, as its summary records them."""
    if phase == "weight_averaging" and info.get("models"):
        weights = info.get("weights") or []
        return " + ".join(
            _model_name(m) + (f" × {weights[i]:g}" if i < len(weights) else "") for i, m in enumerate(info["models"])
        )
    if info.get("teacher") or info.get("student"):
        return f"teacher {_model_name(info.get('teacher'))}, student {_model_name(info.get('student'))}"
    return _model_name(info["base"]) if info.get("base") else ""


def _phase_row(name: str, info: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": _title(name),
        "parents": _cell(_parents(name, info)),
        "steps": _cell(info.get("steps")),
        "rows": _cell(info.get("rows")),
        "settings": _cell(_settings(section)),
    }


def _phases_of(facts: ModelFacts) -> dict[str, dict[str, Any]]:
    """The run's phases up to and including this model's (a later phase did not make it)."""
    phases = facts.run.get("phases") or {}
    kept: dict[str, dict[str, Any]] = {}
    for name, info in phases.items():
        kept[name] = {k: v for k, v in info.items() if k in _PHASE_INFO} if isinstance(info, dict) else {}
        if name == facts.phase:
            break
    return kept


def _scores_of(entry: Any) -> dict[str, dict[str, Any]]:
    """{set: {metric: value, "n": n}} of one model's scores: evaluate_model's results (with n), else the headline."""
    if not isinstance(entry, dict):
        return {}
    results = entry.get("results")
    if isinstance(results, dict) and results:
        return {
            name: {
                k: (round(v, 2) if k != "n" else v)
                for k, v in value.items()
                if k == "n" or k == "spearman" or k.startswith("acc@")
            }
            for name, value in results.items()
            if isinstance(value, dict) and "skipped" not in value
        }
    scores: dict[str, dict[str, Any]] = {}
    for key, value in (entry.get("headline") or {}).items():
        name, _, metric = key.rpartition(" ")
        if metric.startswith("acc@"):
            scores.setdefault(name, {})[metric] = value
        else:
            scores.setdefault(key, {})["spearman"] = value
    return scores


def _metric_label(metric: str) -> str:
    return "Spearman (cosine)" if metric == "spearman" else metric


def _evaluation(facts: ModelFacts) -> dict[str, Any] | None:
    """The evaluation table: a row per set and metric with its n, a column per model of the run (this one marked)."""
    all_scores = facts.run.get("scores") or {}
    included = {"base", *_phases_of(facts)}
    models = {name: _scores_of(entry) for name, entry in all_scores.items() if name in included}
    models = {name: scores for name, scores in models.items() if scores}
    if not models:
        return None
    this = facts.phase
    reference = facts.run.get("reference") if isinstance(facts.run.get("reference"), dict) else {}
    published = reference.get("scores") or {}
    columns = [f"**{name}** (this model)" if name == this else name for name in models]
    if published:
        columns.append(f"published {reference.get('name')}")
    sets = list(dict.fromkeys(s for scores in models.values() for s in scores))
    rows = []
    for name in sets:
        metrics = list(dict.fromkeys(m for scores in models.values() for m in scores.get(name, {}) if m != "n"))
        n = next(
            (
                scores[name]["n"]
                for scores in [models.get(this or "", {}), *models.values()]
                if scores.get(name, {}).get("n") is not None
            ),
            None,
        )  # this model's n first
        for metric in metrics:
            values = [scores.get(name, {}).get(metric) for scores in models.values()]
            if published:
                values.append(published.get(name) if metric == "spearman" else None)
            rows.append(
                {
                    "set": _cell(name),
                    "metric": _metric_label(metric),
                    "n": _cell(n),
                    "cells": [_cell(v) for v in values],
                }
            )
    ref = (
        (
            f"{reference.get('name')} ({reference.get('source', '')}): "
            + ", ".join(f"{k} {v}" for k, v in published.items())
        )
        if published
        else None
    )
    return {"columns": columns, "rows": rows, "reference": ref}


def eval_results(facts: ModelFacts) -> list[EvalResult]:
    """The model-index results of this model: one per similarity set (Spearman) and per KG linking accuracy."""
    scores = _scores_of((facts.run.get("scores") or {}).get(facts.phase or ""))
    results = []
    for name, values in scores.items():
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        args = {"n": values["n"]} if values.get("n") is not None else None
        linking = name == "KG linking" or name.startswith("XL linking")
        for metric, value in values.items():
            if metric == "n":
                continue
            results.append(
                EvalResult(
                    task_type="sentence-similarity",
                    task_name="Entity linking" if linking else "Semantic similarity",
                    dataset_type=slug,
                    dataset_name=name,
                    dataset_split="test" if linking else None,
                    dataset_args=args,
                    metric_type="spearman_cosine" if metric == "spearman" else metric,
                    metric_name="Spearman (cosine) ×100" if metric == "spearman" else f"{metric} (%)",
                    metric_value=value,
                )
            )
    return results


def _data_lines(facts: ModelFacts, lic: Licence) -> list[str]:
    lines = []
    if facts.pairs_dir is not None:
        lines.append(
            f"Training pairs: a kgbuild build-pairs folder ({facts.pairs_dir.name}): concept names paired "
            "with synonyms, definitions and knowledge-graph descriptions, split by concept into "
            "train/validation/test."
        )
    if lic.origin == "umls":
        lines.append(f"Built with kgbuild from the UMLS Metathesaurus release {lic.release or 'unknown'}.")
    elif lic.origin == "obo":
        onto = lic.ontology or {}
        lines.append(f"Built with kgbuild from the ontology {onto.get('name')} ({onto.get('version')}).")
    if lic.sources:
        lines.append(
            "Source vocabularies: "
            + ", ".join(f"{s.sab} (SRL {'?' if s.srl is None else s.srl})" for s in lic.sources)
            + "."
        )
    if lic.origin == "unknown":
        lines.append("Licence of the data: could not be established; see Licence below.")
    else:
        lines.append(
            f"Licence of the data: {lic.licence_name or lic.hub_licence}"
            + (f" ({lic.licence_link})" if lic.licence_link else "")
            + "; see Licence below."
        )
    return lines


def _scale(facts: ModelFacts) -> str:
    phases = _phases_of(facts)
    steps = sum(int(info.get("steps") or 0) for info in phases.values())
    rows = max((int(info.get("rows") or 0) for info in phases.values()), default=0)
    run = (
        f"This run took {steps} optimiser steps in all, on at most {rows} training rows per phase. "
        if steps
        else "The scale of this run is not recorded. "
    )
    return (
        run + "The published BioLORD-2023 models used the whole UMLS plus about 400,000 LLM-generated "
        "definitions; a small run (such as the bundled demo) shows the pipeline works, it does not reproduce "
        "the paper's scores — compare the evaluation above before relying on it."
    )


def card_key(facts: ModelFacts, lic: Licence) -> str:
    """What the card of `facts` is built from, hashed: when any of it changes, a card written earlier is stale.

    Covers the run manifest's parts the card shows, the phase marker of the folder (a retrained phase writes a new
    one), the loaded model's details, the licence assessment and the toolkit version.
    """
    phases = _phases_of(facts)
    shown = {"base", *phases}
    scores = {k: v for k, v in (facts.run.get("scores") or {}).items() if k in shown}
    blob = {
        "kgbuild": __version__,
        "phase": facts.phase,
        "marker": _read_json(facts.folder / "trainer_phase.json"),
        "parameters": facts.config,
        "phases": phases,
        "scores": scores,
        "reference": facts.run.get("reference"),
        "model": [facts.dimension, facts.max_seq_length, facts.similarity, facts.modules, facts.architecture],
        "licence": {k: v for k, v in dataclasses.asdict(lic).items() if k != "chain"},
    }
    return short_hash(blob)


def model_languages(facts: ModelFacts) -> list[str] | None:
    """ISO 639-1 codes of what the model was trained for: English, plus the parallel table's languages once the
    multilingual phase made it; None for a model of no recorded run (the data's languages then)."""
    phases = _phases_of(facts)
    if not phases:
        return None
    parallel = (phases.get("multilingual") or {}).get("languages") or []
    return list(dict.fromkeys(["en", *(iso for code in parallel if (iso := iso_code(code)))]))


def _card_data(
    lic: Licence | None,
    *,
    base: str | list[str] | None,
    model_name: str,
    results: list[EvalResult],
    marker: dict[str, Any],
    languages: list[str] | None = None,
) -> ModelCardData:
    meta = licence_metadata(lic) if lic is not None else {}
    if languages:
        meta["language"] = languages
    return ModelCardData(
        library_name="sentence-transformers",
        pipeline_tag="sentence-similarity",
        tags=[
            "sentence-transformers",
            "sentence-similarity",
            "feature-extraction",
            "biomedical",
            "BioLORD",
            "kgbuild",
        ],
        base_model=base or None,
        model_name=model_name if results else None,
        eval_results=results or None,
        **meta,
        kgbuild=marker,
    )  # ours, and what it was built from: see current()


def local_id(folder: Path) -> str:
    """How the card in a run folder tells users to load it: relative to where the run was started."""
    return f"./{folder.parent.name}/{folder.name}" if folder.parent.name else f"./{folder.name}"


def build(facts: ModelFacts, lic: Licence, *, repo_id: str | None = None, datasets: Sequence[str] = ()) -> ModelCard:
    """The BioLORD card of a trained model (`describe_loaded` first): its run folder's, or with `repo_id` the Hub
    repository's (its name, how to load it, the Hub datasets it was trained on)."""
    model_id = repo_id or local_id(facts.folder)
    name = repo_id.rsplit("/", 1)[-1] if repo_id else facts.folder.name
    base = facts.base_model
    phase = facts.phase
    marker = {"card": "model", "phase": phase, "key": card_key(facts, lic), "model_id": model_id}
    if phase == "multilingual":  # the student's weights, not the English base's, are what this model starts from
        base = (_phases_of(facts).get("multilingual") or {}).get("student") or base
    data = _card_data(
        lic,
        base=hub_model_id(base),
        model_name=name,
        results=eval_results(facts),
        marker=marker,
        languages=model_languages(facts),
    )
    data.datasets = list(datasets) or None
    config = facts.config
    phases = [_phase_row(n, info, config.get(n) or {}) for n, info in _phases_of(facts).items()]
    details = [
        ("Base model", _model_name(base) if base else "not recorded"),
        ("This model", f"output of the {phase} phase" if phase else "-"),
        ("Maximum sequence length", facts.max_seq_length),
        ("Output dimension", facts.dimension),
        ("Similarity function", facts.similarity or "cosine"),
        ("Architecture", facts.architecture),
        ("Modules", " → ".join(facts.modules)),
    ]
    return ModelCard.from_template(
        data,
        template_str=_template("model_card_template.md"),
        name=name,
        model_id=model_id,
        version=__version__,
        dimension=facts.dimension,
        details=[(k, _cell(v)) for k, v in details],
        phases=phases,
        data_lines=[f"Hub dataset: [{d}](https://huggingface.co/datasets/{d})" for d in datasets]
        + _data_lines(facts, lic),
        evaluation=_evaluation(facts),
        scale=_scale(facts),
        multilingual="multilingual" in _phases_of(facts),
        terms=terms_text(lic, subject="The training data of this model"),
        bibtex=BIOLORD_BIBTEX,
    )


def phase_card(name: str, phase: str, info: dict[str, Any], settings: dict[str, Any]) -> ModelCard:
    """The short card of a phase output named `name`: which phase, made from which models, with what settings."""
    info = {k: v for k, v in info.items() if k in _PHASE_INFO}
    parents = [info.get("base"), info.get("teacher"), info.get("student"), *(info.get("models") or [])]
    base = [hub for hub in dict.fromkeys(hub_model_id(str(p)) for p in parents if p) if hub]
    marker = {"card": "phase", "phase": phase}
    if info.get("fingerprint"):  # of the run-all configuration; a phase run alone has none
        marker["fingerprint"] = info["fingerprint"]
    data = _card_data(None, base=base[0] if len(base) == 1 else base, model_name=name, results=[], marker=marker)
    details = [
        ("Phase", _title(phase)),
        ("Made from", _parents(phase, info)),
        ("Settings", _settings(settings)),
        ("Steps", info.get("steps")),
        ("Training rows", info.get("rows")),
    ]
    return ModelCard.from_template(
        data,
        template_str=_template("phase_card_template.md"),
        name=name,
        title=_title(phase),
        phase=phase,
        parents=_parents(phase, info),
        version=__version__,
        details=[(k, _cell(v)) for k, v in details if v not in (None, "")],
    )


def training_licence(facts: ModelFacts) -> Licence:
    """The licence of the training data: the lineage block of the run manifest (carried from the pairs and parallel
    folders it read). Without one (pairs of the user's own, or made before lineage was recorded) the data's origin is
    not guessed: it is unknown, hence restricted."""
    if not facts.run:
        return unknown(
            "the run manifest (manifest.json of trainer run-all) was not found beside the model, so its "
            "training data cannot be established"
        )
    block = facts.run.get(lineage.KEY)
    if not isinstance(block, dict):
        return unknown(
            "the run manifest records no lineage of its training data (pairs not made by this kgbuild's build-pairs); "
            "rebuild the pairs with kgbuild build-pairs and rerun trainer run-all to record it"
        )
    return from_lineage(block, folder=facts.run_path.parent if facts.run_path else facts.folder, manifest=facts.run)


def _template(name: str) -> str:
    return (resources.files("trainer") / name).read_text(encoding="utf-8")


def write(card: ModelCard, folder: Path) -> Path:
    """README.md of `folder`, replaced atomically (the folder is the toolkit's own output)."""
    path = Path(folder) / "README.md"
    atomic_write_bytes(path, str(card).encode("utf-8"))
    return path


def ours(folder: Path) -> ModelCard | None:
    """The card in `folder` when the toolkit wrote it (a `kgbuild` metadata key), else None."""
    path = Path(folder) / "README.md"
    if not path.is_file():
        return None
    try:
        card = ModelCard.load(path)
    except (ValueError, yaml.YAMLError):
        return None
    return card if isinstance(getattr(card.data, "kgbuild", None), dict) else None


def current(facts: ModelFacts, lic: Licence) -> ModelCard | None:
    """The folder's BioLORD card if it was built from exactly what `facts` and `lic` say now, else None."""
    card = ours(facts.folder)
    if card is None or card.data.kgbuild.get("card") != "model":
        return None
    return card if card.data.kgbuild.get("key") == card_key(facts, lic) else None


def validate(text: str) -> ModelCard:
    try:
        card = ModelCard(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(
            f"the generated model card does not parse: {exc}", path="README.md", fix="report this as a kgbuild bug"
        ) from exc
    data = card.data.to_dict()
    missing = [k for k in ("library_name", "pipeline_tag", "license") if not data.get(k)]
    if missing:
        raise UserError(
            f"the generated model card misses {missing}", path="README.md", fix="report this as a kgbuild bug"
        )
    return card
