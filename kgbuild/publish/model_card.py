"""The model card (README.md) of a trained model, in sentence-transformers conventions.

It reads the model folder (modules.json and the module configs) and the run manifest that `trainer run-all` writes
beside the phase folders (config, phases, evaluation scores); every key of the manifest is optional.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import ModelCard

from kgbuild import __version__
from kgbuild.errors import UserError
from kgbuild.publish.card import BIOLORD_BIBTEX, licence_metadata
from kgbuild.publish.licence import Licence, terms_text
from kgbuild.publish.stage import redact_paths

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_PHASE_TITLES = {"contrastive": "1. Contrastive (LORD: names ↔ definitions/descriptions)",
                 "self_distillation": "2. Self-distillation", "weight_averaging": "3. Weight averaging",
                 "multilingual": "4. Multilingual distillation"}
_PHASE_KEYS = ("loss", "batch_size", "epochs", "max_steps", "learning_rate", "warmup_ratio", "kinds", "texts",
               "weights", "models", "student", "teacher")


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
        raise UserError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno,
                        fix="restore the file from the run that wrote it") from None


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
        raise UserError("not a sentence-transformers model folder (no modules.json)", path=model_dir,
                        fix="give a folder saved with SentenceTransformer.save(), e.g. a trainer phase output")
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON: {exc.msg}", path=model_dir / "modules.json", line=exc.lineno,
                        fix="re-save the model with SentenceTransformer.save()") from None
    run_path, run = find_run_manifest(model_dir, run_manifest)
    return ModelFacts(folder=model_dir, run=run, run_path=run_path,
                      modules=[m.get("type", "?").rsplit(".", 1)[-1] for m in modules])


def describe_loaded(facts: ModelFacts, model: Any) -> None:
    """Fill in what the loaded SentenceTransformer knows (config file layouts change between major versions)."""
    dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    facts.dimension = dim()
    facts.max_seq_length = getattr(model, "max_seq_length", None)
    facts.similarity = getattr(model, "similarity_fn_name", None)
    facts.modules = [type(module).__name__ for module in model]
    hf = _read_json(facts.folder / "config.json")
    facts.architecture = ", ".join(hf.get("architectures") or []) or hf.get("model_type")


def _table(rows: list[list[Any]], header: list[str]) -> str:
    cell = lambda v: "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                      *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)])


def _evaluation(facts: ModelFacts) -> str:
    scores = facts.run.get("scores") or {}
    headlines = {name: s.get("headline") or {} for name, s in scores.items() if isinstance(s, dict)}
    metrics = list(dict.fromkeys(m for h in headlines.values() for m in h))
    if not metrics:
        return "No evaluation scores were recorded for this run."
    this = facts.phase
    rows = [[f"**{name}** (this model)" if name == this else name, *(h.get(m) for m in metrics)]
            for name, h in headlines.items()]
    text = ("Spearman correlation for the similarity sets, accuracy for KG linking, as recorded by "
            "`trainer run-all`.\n\n" + _table(rows, ["model", *metrics]))
    reference = facts.run.get("reference") or {}
    if isinstance(reference, dict) and reference.get("scores"):
        text += (f"\n\nPublished reference for {reference.get('name')} ({reference.get('source', '')}): "
                 + ", ".join(f"{k} {v}" for k, v in reference["scores"].items()) + ".")
    return text


def _phases(facts: ModelFacts) -> str:
    phases = facts.run.get("phases") or {}
    if not phases:
        return "The run manifest was not found, so the training phases are not recorded here."
    rows = []
    for name, info in phases.items():
        section = redact_paths(facts.config.get(name) or {})  # model paths in settings: names only
        settings = ", ".join(f"{k}={json.dumps(section[k])}" for k in _PHASE_KEYS if k in section and section[k])
        info = info if isinstance(info, dict) else {}
        rows.append([_PHASE_TITLES.get(name, name), info.get("status"), info.get("steps"), info.get("rows"),
                     settings])
    return _table(rows, ["phase", "status", "steps", "training rows", "settings"])


def metadata(facts: ModelFacts, lic: Licence, datasets: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"library_name": "sentence-transformers", "pipeline_tag": "sentence-similarity",
                            "tags": ["sentence-transformers", "sentence-similarity", "feature-extraction",
                                     "biomedical", "biolord", "kgbuild"],
                            **licence_metadata(lic)}
    base = facts.base_model
    if base and _HUB_ID.match(base) and not Path(base).exists():  # a local base folder is no Hub reference
        meta["base_model"] = base
    if datasets:
        meta["datasets"] = list(datasets)
    return meta


def render(repo_id: str, facts: ModelFacts, lic: Licence, datasets: list[str]) -> str:
    meta = yaml.safe_dump(metadata(facts, lic, datasets), sort_keys=False, allow_unicode=True, width=1000)
    base = facts.base_model
    base_text = f"`{base}`" if base and (not Path(base).exists()) else (f"a local model ({Path(base).name})"
                                                                        if base else "not recorded")
    phase = facts.phase
    data_lines = [f"- Hub dataset: [{d}](https://huggingface.co/datasets/{d})" for d in datasets]
    if lic.origin == "umls":
        data_lines.append(f"- Built with kgbuild from the UMLS Metathesaurus release {lic.release or 'unknown'}.")
    elif lic.origin == "obo":
        onto = lic.ontology or {}
        data_lines.append(f"- Built with kgbuild from the ontology {onto.get('name')} ({onto.get('version')}).")
    if lic.sources:
        data_lines.append("- Source vocabularies: " + ", ".join(
            f"{s.sab} (SRL {'?' if s.srl is None else s.srl})" for s in lic.sources) + ".")
    body = [
        f"# {repo_id.split('/')[-1]}", "",
        "A [sentence-transformers](https://www.sbert.net) model for biomedical concept names and definitions, "
        f"trained with the kgbuild trainer ({__version__}) following the BioLORD-2023 recipe. It maps text to a "
        f"{facts.dimension or '?'}-dimensional dense vector space.", "",
        "## Model details", "",
        _table([["Base model", base_text], ["This model", f"output of the {phase} phase" if phase else "-"],
                ["Maximum sequence length", facts.max_seq_length], ["Output dimension", facts.dimension],
                ["Similarity function", facts.similarity or "cosine"], ["Architecture", facts.architecture],
                ["Modules", " → ".join(facts.modules)]], ["", ""]), "",
        "## Usage", "", "```python", "from sentence_transformers import SentenceTransformer", "",
        f'model = SentenceTransformer("{repo_id}")',
        'embeddings = model.encode(["myocardial infarction", "heart attack", "a kind of ischemic heart disease"])',
        "print(model.similarity(embeddings, embeddings))", "```", "",
        "## Training", "", _phases(facts), "",
        "### Data", "", "\n".join(data_lines) or "Not recorded.", "",
        "## Evaluation", "", _evaluation(facts), "",
        "## Licence", "", terms_text(lic, subject="The training data of this model"), "",
        "## Citation", "", "```bibtex", BIOLORD_BIBTEX, "```", "",
    ]
    return f"---\n{meta}---\n\n" + "\n".join(body)


def validate(text: str) -> ModelCard:
    try:
        card = ModelCard(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(f"the generated model card does not parse: {exc}", path="README.md",
                        fix="report this as a kgbuild bug") from exc
    data = card.data.to_dict()
    missing = [k for k in ("library_name", "pipeline_tag", "license") if not data.get(k)]
    if missing:
        raise UserError(f"the generated model card misses {missing}", path="README.md",
                        fix="report this as a kgbuild bug")
    return card
