"""One TOML file drives a run: every phase is a table; paths are relative to the config file (or absolute).

CLI options override single values with `--set section.key=value` (parsed as TOML values). Each table is a pydantic
model: unknown keys and wrong types or values are errors that name the file and line. The shared tables ([data],
[model], [evaluate]) are here; each phase's table is in its phase file (trainer/phases/), found in the registry.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    # Step 4 of a training phase: the run's evaluators (the sets of [evaluate], trainer.evaluate.build_evaluators)
    # scored inside the loop at every save_steps, their figures in the phase's summary; off, run-all scores each
    # phase's output after it. Left out of dumps (manifest parameters, fingerprints): it measures, the model is the
    # same, and a run made before the setting existed resumes.
    evaluate_during_training: bool = Field(False, exclude=True)


class EvaluateConfig(Section):
    enabled: bool = True
    sets: list[str] = Field(default_factory=list)  # empty = every set found
    linking: bool = True
    linking_split: Literal["test", "dev"] = "test"  # "dev" to choose between recipes without the test concepts
    batch_size: int = Field(64, ge=1)


def _phases() -> dict[str, Any]:
    from trainer.phases import PHASES  # here: the phase files build on the sections above

    return PHASES


class RunConfig(BaseModel):
    """The run: the shared tables, and one table per registered phase (trainer.phases), read as `config.<name>`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    phases: dict[str, Any] = Field(default_factory=dict)  # phase name → its table (a Phase's config model)
    source: Path | None = None  # the TOML file this came from

    @model_validator(mode="before")
    @classmethod
    def _phase_tables(cls, values: Any) -> Any:
        """Each registered phase's table, given by its name (`RunConfig(contrastive=...)`) or else its defaults."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        tables = dict(values.pop("phases", None) or {})
        for name, phase in _phases().items():
            table = values.pop(name, tables.get(name))
            tables[name] = phase.config.model_validate(table) if isinstance(table, dict) else table or phase.config()
        values["phases"] = tables
        return values

    def __getattr__(self, name: str) -> Any:
        tables = self.__dict__.get("phases") or {}
        if name in tables:
            return tables[name]
        return super().__getattr__(name)

    @property
    def output_dir(self) -> Path:
        return self.model.output_dir

    def phase_dir(self, phase: str) -> Path:
        return self.output_dir / _phases()[phase].folder

    @property
    def parallel(self) -> Path | None:
        """[multilingual] parallel (a build-pairs --parallel-lang folder), else the older [data] parallel."""
        return self.multilingual.parallel or self.data.parallel

    def resolve_model(self, name: str) -> str:
        """A model setting: "base" (the run's [model] base), a phase name (that phase's output folder, "final" for
        the averaged model), else a folder or hub id as given."""
        phases = _phases()
        if name == "base":
            return self.model.base
        if name in phases:
            return str(self.phase_dir(name))
        if name in {p.folder for p in phases.values()} and not Path(name).exists():
            return str(self.output_dir / name)
        return name

    def phase_inputs(self, phase: str) -> dict[str, Any]:
        """What `phase` reads, with the names of the run resolved (its Phase's `inputs`): by default each phase
        starts from the outputs of the phases before it. A CLI option overrides one value."""
        phases = _phases()
        if phase not in phases:
            raise ValueError(f"unknown phase {phase!r}")
        return phases[phase].inputs(self)

    def section(self, name: str) -> dict[str, Any]:
        return getattr(self, name).model_dump(mode="json")

    def to_dict(self) -> dict[str, Any]:
        return {s: self.section(s) for s in sections()}


SHARED = ("data", "model", "evaluate")


def sections() -> tuple[str, ...]:
    """The tables of a run config in file order: data, model, each registered phase, evaluate."""
    return ("data", "model", *_phases(), "evaluate")


def section_model(name: str) -> type[Section] | None:
    if name in SHARED:
        return RunConfig.model_fields[name].annotation
    phase = _phases().get(name)
    return phase.config if phase else None


_SHARED_PATHS = {("data", "pairs"), ("data", "evalsets"), ("data", "parallel"), ("model", "output_dir")}


def path_settings() -> set[tuple[str, str]]:
    """(table, key) of the paths, relative to the config file: the shared ones and each phase's `path_keys`."""
    return _SHARED_PATHS | {(p.name, k) for p in _phases().values() for k in p.path_keys}


def model_settings() -> set[tuple[str, str]]:
    """Model references: a folder (relative to the config file) when one exists there, else a hub id."""
    return {("model", "base")} | {(p.name, k) for p in _phases().values() for k in p.model_keys}


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
    tables: dict[str, Any] = {}
    paths, models = path_settings(), model_settings()
    for section, values in raw.items():
        kind = section_model(section)
        if kind is None or not isinstance(values, dict):
            raise UserError(
                f"unknown section [{section}]",
                path=source,
                line=_line_of(text, section, None),
                fix=f"use one of {', '.join(f'[{s}]' for s in sections())}",
            )
        # an empty path means "not set", as an absent key does
        values = {k: None if (section, k) in paths and v == "" else v for k, v in values.items()}
        try:
            tables[section] = kind.model_validate(values)
        except ValidationError as exc:
            raise _user_error(exc, kind, section, source, text, overridden or set()) from None
    config = RunConfig(**tables, source=source)
    for section, key in paths:
        value = getattr(getattr(config, section), key)
        if value is not None and str(value):
            setattr(getattr(config, section), key, (base_dir / value).resolve())
    for section, key in models:
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
        if isinstance(value, str) and value and (section, key) in path_settings():
            value = str(Path(value).resolve())
        elif isinstance(value, str) and (section, key) in model_settings() and Path(value).exists():
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
