"""One TOML file drives a run: every phase is a table; paths are relative to the config file (or absolute).

CLI options override single values with `--set section.key=value` (parsed as TOML values).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgbuild.errors import UserError


@dataclass
class DataConfig:
    pairs: Path | None = None  # a build-pairs output folder
    evalsets: Path | None = None  # folder of evaluation sets (else KGBUILD_EVALSETS)
    parallel: Path | None = None  # older place of [multilingual] parallel, still read


@dataclass
class ModelConfig:
    base: str = "sentence-transformers/all-mpnet-base-v2"
    output_dir: Path = Path("run")
    max_seq_length: int = 128
    seed: int = 42
    # A finished phase's checkpoints only serve to resume it: deleted once its model is saved (GBs for mpnet).
    keep_checkpoints: bool = False


@dataclass
class TrainingConfig:
    """The training settings every training phase has."""

    enabled: bool = True
    batch_size: int = 32
    max_steps: int = -1  # -1 = run `epochs` epochs
    epochs: float = 1.0
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    bf16: str = "auto"  # "auto" (when the GPU supports it), "true", "false"
    save_steps: int = 500
    save_total_limit: int = 2
    logging_steps: int = 10
    dataloader_workers: int = 0  # processes that fetch, tokenise and collate batches ahead of the GPU


@dataclass
class ContrastiveConfig(TrainingConfig):
    loss: str = "mnrl"  # "mnrl" or "cached_mnrl" (GradCache: big batches on small memory)
    mini_batch_size: int = 32  # cached_mnrl only
    scale: float = 20.0
    kinds: list[str] = field(default_factory=list)  # pair kinds to train on; empty = all
    sort_by_length: bool = False  # cached_mnrl: each batch longest first, so mini-batches pad less (same loss)


@dataclass
class SelfDistillationConfig(TrainingConfig):
    teacher: str = ""  # default: the contrastive output
    student: str = ""  # default: model.base
    texts: list[str] = field(default_factory=lambda: ["anchor", "positive"])  # pair columns whose texts are learnt
    kinds: list[str] = field(default_factory=list)
    encode_batch_size: int = 128
    group_by_length: bool = False  # batches of texts of similar length: far less padding, other batch mixes


@dataclass
class WeightAveragingConfig:
    enabled: bool = True
    models: list[str] = field(default_factory=list)  # default: the self_distillation and contrastive outputs
    weights: list[float] = field(default_factory=lambda: [0.5, 0.5])


@dataclass
class MultilingualConfig(TrainingConfig):
    enabled: bool = False
    parallel: Path | None = None  # a build-pairs --parallel-lang folder (its train split), or an (en, xx) table
    student: str = ""  # a multilingual sentence-transformers model (e.g. an XLM-R one)
    teacher: str = ""  # default: the final (averaged) model
    max_seq_length: int = 64
    encode_batch_size: int = 128


@dataclass
class EvaluateConfig:
    enabled: bool = True
    sets: list[str] = field(default_factory=list)  # empty = every set found
    linking: bool = True
    linking_split: str = "test"  # "dev" to choose between recipes without looking at the test concepts
    batch_size: int = 64


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    contrastive: ContrastiveConfig = field(default_factory=ContrastiveConfig)
    self_distillation: SelfDistillationConfig = field(default_factory=SelfDistillationConfig)
    weight_averaging: WeightAveragingConfig = field(default_factory=WeightAveragingConfig)
    multilingual: MultilingualConfig = field(default_factory=MultilingualConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    source: Path | None = None  # the TOML file this came from

    @property
    def output_dir(self) -> Path:
        return self.model.output_dir

    def phase_dir(self, phase: str) -> Path:
        from trainer.phases import PHASES

        return self.output_dir / PHASES[phase].folder

    @property
    def parallel(self) -> Path | None:
        """[multilingual] parallel (a build-pairs --parallel-lang folder), else the older [data] parallel."""
        return self.multilingual.parallel or self.data.parallel

    def phase_inputs(self, phase: str) -> dict[str, Any]:
        """What `phase` reads, with the defaults filled in (the one place they are): each phase starts from the
        outputs of the phases before it unless the config names other models. A CLI option overrides one value."""
        if phase == "contrastive":
            return {"base": self.model.base, "pairs": self.data.pairs}
        if phase == "self_distillation":
            sd = self.self_distillation
            return {
                "teacher": sd.teacher or str(self.phase_dir("contrastive")),
                "student": sd.student or self.model.base,
                "pairs": self.data.pairs,
            }
        if phase == "weight_averaging":
            wa = self.weight_averaging
            models = wa.models or [str(self.phase_dir("self_distillation")), str(self.phase_dir("contrastive"))]
            return {"models": models, "weights": wa.weights}
        if phase == "multilingual":
            ml = self.multilingual
            return {
                "teacher": ml.teacher or str(self.phase_dir("weight_averaging")),
                "student": ml.student,
                "parallel": self.parallel,
            }
        raise ValueError(f"unknown phase {phase!r}")

    def section(self, name: str) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(getattr(self, name)))

    def to_dict(self) -> dict[str, Any]:
        return {s: self.section(s) for s in SECTIONS}


SECTIONS = ("data", "model", "contrastive", "self_distillation", "weight_averaging", "multilingual", "evaluate")
_PATH_FIELDS = {
    ("data", "pairs"),
    ("data", "evalsets"),
    ("data", "parallel"),
    ("multilingual", "parallel"),
    ("model", "output_dir"),
}
# Model references: a folder (relative to the config file) when one exists there, else a hub id.
_MODEL_FIELDS = {
    ("model", "base"),
    ("self_distillation", "teacher"),
    ("self_distillation", "student"),
    ("multilingual", "student"),
    ("multilingual", "teacher"),
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _line_of(text: str, section: str, key: str | None) -> int | None:
    """The line of `[section]` (or of `key` inside it) in the TOML text, for error messages."""
    in_section = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[] ") == section
            if in_section and key is None:
                return number
        elif in_section and key and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return None


def _coerce(value: Any, example: Any, where: str) -> Any:
    """Check a TOML value against the type of the dataclass default; ints are accepted for floats."""
    if isinstance(example, bool):
        ok = isinstance(value, bool)
    elif isinstance(example, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(example, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(example, list):
        ok = isinstance(value, list)
    else:  # str, Path, None
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"{where} = {value!r} has the wrong type (expected {type(example).__name__})")
    return value


def build_config(raw: dict[str, Any], *, base_dir: Path, source: Path | None = None, text: str = "") -> RunConfig:
    """Turn a parsed TOML dict into a RunConfig; unknown sections/keys and wrong types are UserErrors."""
    config = RunConfig(source=source)
    for section, values in raw.items():
        if section not in SECTIONS or not isinstance(values, dict):
            raise UserError(
                f"unknown section [{section}]",
                path=source,
                line=_line_of(text, section, None),
                fix=f"use one of {', '.join(f'[{s}]' for s in SECTIONS)}",
            )
        target = getattr(config, section)
        known = {f.name: f for f in dataclasses.fields(target)}
        for key, value in values.items():
            line = _line_of(text, section, key)
            if key not in known:
                raise UserError(
                    f"unknown key {key!r} in [{section}]",
                    path=source,
                    line=line,
                    fix=f"valid keys: {', '.join(known)}",
                )
            example = getattr(target, key)
            if example is None:
                example = ""
            try:
                value = _coerce(value, example, f"{section}.{key}")
            except ValueError as exc:
                raise UserError(str(exc), path=source, line=line, fix="fix the value in the config") from None
            if (section, key) in _PATH_FIELDS:
                value = (base_dir / value).resolve() if value else None
            elif (section, key) in _MODEL_FIELDS and value:
                local = base_dir / value
                value = str(local.resolve()) if local.exists() else value
            setattr(target, key, value)
    if config.model.output_dir is None:
        config.model.output_dir = (base_dir / "run").resolve()
    elif not config.model.output_dir.is_absolute():
        config.model.output_dir = (base_dir / config.model.output_dir).resolve()
    _validate(config, source, text)
    return config


def _validate(config: RunConfig, source: Path | None, text: str) -> None:
    def bad(section: str, key: str, message: str, fix: str) -> UserError:
        return UserError(message, path=source, line=_line_of(text, section, key), fix=fix)

    if config.contrastive.loss not in ("mnrl", "cached_mnrl"):
        raise bad("contrastive", "loss", f"unknown loss {config.contrastive.loss!r}", 'use "mnrl" or "cached_mnrl"')
    for section in ("contrastive", "self_distillation", "multilingual"):
        phase = getattr(config, section)
        if phase.batch_size < 1:
            raise bad(section, "batch_size", "batch_size must be at least 1", "set a positive batch_size")
        if phase.bf16 not in ("auto", "true", "false"):
            raise bad(section, "bf16", f"bf16 = {phase.bf16!r}", 'use "auto", "true" or "false"')
    if config.evaluate.linking_split not in ("test", "dev"):
        raise bad(
            "evaluate", "linking_split", f"linking_split = {config.evaluate.linking_split!r}", 'use "test" or "dev"'
        )
    for key in config.self_distillation.texts:
        if key not in ("anchor", "positive"):
            raise bad("self_distillation", "texts", f"unknown text column {key!r}", 'use "anchor" and/or "positive"')
    weights = config.weight_averaging.weights
    if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise bad(
            "weight_averaging",
            "weights",
            f"weights {weights} are not usable",
            "give non-negative weights with a positive sum, one per model",
        )


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: Path | None) -> dict[str, Any]:
    """`section.key=value` strings (value in TOML syntax, bare words taken as strings) into the raw dict."""
    for item in overrides:
        name, sep, value_text = item.partition("=")
        section, dot, key = name.strip().partition(".")
        if not sep or not dot:
            raise UserError(
                f"override {item!r} is not of the form section.key=value",
                path=source,
                fix="e.g. --set contrastive.max_steps=100",
            )
        try:
            value = tomllib.loads(f"v = {value_text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = value_text.strip()
        raw.setdefault(section, {})[key] = value
    return raw


def load_config(path: Path, overrides: list[str] | None = None) -> RunConfig:
    """Read the TOML run config at `path` (plus CLI overrides) into a RunConfig."""
    path = Path(path)
    if not path.is_file():
        raise UserError("config file not found", path=path, fix="give the path of a run TOML file")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise UserError(
            f"not valid TOML: {exc}", path=path, line=int(match.group(1)) if match else None, fix="fix the TOML syntax"
        ) from None
    raw = apply_overrides(raw, overrides or [], path)
    return build_config(raw, base_dir=path.resolve().parent, source=path, text=text)
