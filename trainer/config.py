"""One TOML file drives a run: every phase is a table; paths are relative to the config file (or absolute).

CLI options override single values with `--set section.key=value` (parsed as TOML values). Each table is a pydantic
model: unknown keys and wrong types or values are errors that name the file and line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kgbuild.core.errors import UserError


class Section(BaseModel):
    # strict: 5 is not "5" and "true" is not true (a TOML typo must not pass as another value); ints pass as floats.
    # No inf or nan anywhere: a learning rate of inf trains a NaN model, a weight of nan averages into one.
    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True, allow_inf_nan=False)


class DataConfig(Section):
    pairs: Path | None = Field(None, strict=False)  # a build-pairs output folder
    evalsets: Path | None = Field(None, strict=False)  # folder of evaluation sets (else KGBUILD_EVALSETS)
    parallel: Path | None = Field(None, strict=False)  # older place of [multilingual] parallel, still read


class ModelConfig(Section):
    base: str = "sentence-transformers/all-mpnet-base-v2"
    output_dir: Path = Field(Path("run"), strict=False)
    max_seq_length: int = Field(128, ge=8)
    seed: int = Field(42, ge=0, lt=2**32)  # what torch, numpy and the samplers accept
    # A finished phase's checkpoints only serve to resume it: deleted once its model is saved (GBs for mpnet).
    keep_checkpoints: bool = False


class TrainingConfig(Section):
    """The training settings every training phase has."""

    enabled: bool = True
    batch_size: int = Field(32, ge=1)
    max_steps: int = -1  # -1 = run `epochs` epochs
    epochs: float = Field(1.0, gt=0)
    learning_rate: float = Field(2e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    bf16: Literal["auto", "true", "false"] = "auto"  # "auto": when the GPU supports it
    save_steps: int = Field(500, ge=1)
    save_total_limit: int = Field(2, ge=1)
    logging_steps: int = Field(10, ge=1)
    # processes that fetch, tokenise and collate batches ahead of the GPU; unset: chosen from the machine's cores
    # (trainer.training.dataloader_workers), and the chosen number is recorded in the run manifest
    dataloader_workers: int | None = Field(None, ge=0)


class ContrastiveConfig(TrainingConfig):
    learning_rate: float = Field(1e-4, gt=0)  # +3.7 points of linking over 3e-5 (BENCHMARKS.md, issue 14)
    loss: Literal["mnrl", "cached_mnrl"] = "mnrl"  # cached_mnrl: GradCache, big batches on small memory
    mini_batch_size: int = Field(32, ge=1)  # cached_mnrl only
    scale: float = Field(20.0, gt=0)
    kinds: list[str] = Field(default_factory=list)  # pair kinds to train on; empty = all
    sort_by_length: bool = False  # cached_mnrl: each batch longest first, so mini-batches pad less (same loss)


class SelfDistillationConfig(TrainingConfig):
    teacher: str = "contrastive"  # a model, or a name of the run: "base" or an earlier phase
    # from phase 1 (the study of BENCHMARKS.md, issue 14: better linking and general scores than from the base at a
    # CPU budget); "base" is the paper's student
    student: str = "contrastive"
    texts: list[Literal["anchor", "positive"]] = Field(default_factory=lambda: ["anchor", "positive"])  # learnt
    kinds: list[str] = Field(default_factory=list)
    encode_batch_size: int = Field(128, ge=1)
    group_by_length: bool = False  # batches of texts of similar length: far less padding, other batch mixes


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


class MultilingualConfig(TrainingConfig):
    enabled: bool = False
    parallel: Path | None = Field(None, strict=False)  # a build-pairs --parallel-lang folder, or an (en, xx) table
    student: str = ""  # a multilingual sentence-transformers model (e.g. an XLM-R one)
    teacher: str = "weight_averaging"  # the final (averaged) model, or another model or name of the run
    max_seq_length: int = Field(64, ge=8)
    encode_batch_size: int = Field(128, ge=1)


class EvaluateConfig(Section):
    enabled: bool = True
    sets: list[str] = Field(default_factory=list)  # empty = every set found
    linking: bool = True
    linking_split: Literal["test", "dev"] = "test"  # "dev" to choose between recipes without the test concepts
    batch_size: int = Field(64, ge=1)


class RunConfig(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    contrastive: ContrastiveConfig = Field(default_factory=ContrastiveConfig)
    self_distillation: SelfDistillationConfig = Field(default_factory=SelfDistillationConfig)
    weight_averaging: WeightAveragingConfig = Field(default_factory=WeightAveragingConfig)
    multilingual: MultilingualConfig = Field(default_factory=MultilingualConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
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

    def resolve_model(self, name: str) -> str:
        """A model setting: "base" (the run's [model] base), a phase name (that phase's output folder, "final" for
        the averaged model), else a folder or hub id as given."""
        from trainer.phases import PHASES

        if name == "base":
            return self.model.base
        if name in PHASES:
            return str(self.phase_dir(name))
        if name in {p.folder for p in PHASES.values()} and not Path(name).exists():
            return str(self.output_dir / name)
        return name

    def phase_inputs(self, phase: str) -> dict[str, Any]:
        """What `phase` reads, with the names of the run resolved (the one place they are): by default each phase
        starts from the outputs of the phases before it. A CLI option overrides one value."""
        if phase == "contrastive":
            return {"base": self.model.base, "pairs": self.data.pairs}
        if phase == "self_distillation":
            sd = self.self_distillation
            return {
                "teacher": self.resolve_model(sd.teacher),
                "student": self.resolve_model(sd.student),
                "pairs": self.data.pairs,
            }
        if phase == "weight_averaging":
            wa = self.weight_averaging
            return {
                "models": [self.resolve_model(m) for m in wa.models],
                "weights": wa.weights,
            }
        if phase == "multilingual":
            ml = self.multilingual
            return {
                "teacher": self.resolve_model(ml.teacher),
                "student": ml.student,
                "parallel": self.parallel,
            }
        raise ValueError(f"unknown phase {phase!r}")

    def section(self, name: str) -> dict[str, Any]:
        return getattr(self, name).model_dump(mode="json")

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


def build_config(
    raw: dict[str, Any],
    *,
    base_dir: Path,
    source: Path | None = None,
    text: str = "",
    overridden: set[tuple[str, ...]] | None = None,
) -> RunConfig:
    """Turn a parsed TOML dict into a RunConfig; unknown sections/keys and wrong types or values are UserErrors that
    name the line."""
    sections: dict[str, Any] = {}
    for section, values in raw.items():
        if section not in SECTIONS or not isinstance(values, dict):
            raise UserError(
                f"unknown section [{section}]",
                path=source,
                line=_line_of(text, section, None),
                fix=f"use one of {', '.join(f'[{s}]' for s in SECTIONS)}",
            )
        kind = RunConfig.model_fields[section].annotation
        # an empty path means "not set", as an absent key does
        values = {k: None if (section, k) in _PATH_FIELDS and v == "" else v for k, v in values.items()}
        try:
            sections[section] = kind.model_validate(values)
        except ValidationError as exc:
            raise _user_error(exc, kind, section, source, text, overridden or set()) from None
    config = RunConfig(**sections, source=source)
    for section, key in _PATH_FIELDS:
        value = getattr(getattr(config, section), key)
        if value is not None and str(value):
            setattr(getattr(config, section), key, (base_dir / value).resolve())
    for section, key in _MODEL_FIELDS:
        value = getattr(getattr(config, section), key)
        if value and (base_dir / value).exists():
            setattr(getattr(config, section), key, str((base_dir / value).resolve()))
    return config


def _user_error(
    exc: ValidationError,
    kind: type[Section],
    section: str,
    source: Path | None,
    text: str,
    overridden: set[tuple[str, ...]],
) -> UserError:
    """The first problem pydantic found, as one line naming the file and line of the key (or the --set that gave it:
    the file is not to blame for a value typed on the command line)."""
    problem = exc.errors()[0]
    key = str(problem["loc"][0]) if problem["loc"] else None
    if key is not None and (section, key) in overridden:
        where = ".".join(str(part) for part in (section, *problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        return UserError(
            f"--set {section}.{key}: {where} = {problem.get('input')!r}: {message}",
            fix=f"fix the value given to --set {section}.{key}",
        )
    line = _line_of(text, section, key)
    if problem["type"] == "extra_forbidden":
        return UserError(
            f"unknown key {key!r} in [{section}]",
            path=source,
            line=line,
            fix=f"valid keys: {', '.join(kind.model_fields)}",
        )
    message = problem["msg"].removeprefix("Value error, ")
    if not problem["loc"]:  # a rule across keys of the table
        return UserError(f"[{section}]: {message}", path=source, line=line, fix="fix the table in the config")
    where = ".".join(str(part) for part in (section, *problem["loc"]))
    value = problem.get("input")
    return UserError(f"{where} = {value!r}: {message}", path=source, line=line, fix="fix the value in the config")


def _split_override(item: str, source: Path | None) -> tuple[str, str, str]:
    """(section, key, value text) of a `section.key=value` override."""
    name, sep, value_text = item.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot:
        raise UserError(
            f"override {item!r} is not of the form section.key=value",
            path=source,
            fix="e.g. --set contrastive.max_steps=100",
        )
    return section, key, value_text


def override_keys(overrides: list[str] | None) -> set[tuple[str, ...]]:
    """The (section, key) each override sets: a bad value there is the --set's, not the config file's."""
    return {_split_override(item, None)[:2] for item in overrides or []}


def toml_value(text: str) -> Any:
    """A value written as in TOML (3, 0.5, true, [0.3, 0.7], "x"); a bare word is taken as the string it is."""
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: Path | None) -> dict[str, Any]:
    """`section.key=value` strings (value in TOML syntax, bare words taken as strings) into the raw dict. A path given
    on the command line is relative to the working directory, not to the config file (a shipped config such as
    configs/hpo-minilm-cpu.toml takes `--set data.pairs=pairs` from where the user runs it)."""
    for item in overrides:
        section, key, value_text = _split_override(item, source)
        value = toml_value(value_text)
        if isinstance(value, str) and value and (section, key) in _PATH_FIELDS:
            value = str(Path(value).resolve())
        elif isinstance(value, str) and (section, key) in _MODEL_FIELDS and Path(value).exists():
            value = str(Path(value).resolve())
        raw.setdefault(section, {})[key] = value
    return raw


def load_config(path: Path, overrides: list[str] | None = None) -> RunConfig:
    """Read the TOML run config at `path` (plus CLI overrides) into a RunConfig."""
    path = Path(path)
    if not path.is_file():
        raise UserError("config file not found", path=path, fix="give the path of a run TOML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", path=path, fix="save the config as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise UserError(
            f"not valid TOML: {exc}", path=path, line=int(match.group(1)) if match else None, fix="fix the TOML syntax"
        ) from None
    raw = apply_overrides(raw, overrides or [], path)
    return build_config(
        raw, base_dir=path.resolve().parent, source=path, text=text, overridden=override_keys(overrides)
    )
