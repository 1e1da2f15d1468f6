"""The options of build-pairs: their defaults and the help of the command's options (kgbuild.core.options)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from kgbuild.core.engine import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_HELP, check_memory_limit
from kgbuild.core.errors import UserError
from kgbuild.core.options import described

if TYPE_CHECKING:
    import pyarrow as pa

TEMPLATE_VERSION = "v1"


@dataclass(frozen=True)
class PairOptions:
    """Parameters of build-pairs; all land in manifest.json."""

    seed: int = described(42, "Seed of the concept splits and of every tie-break.")
    train_pct: int = described(80, "Percent of concepts in train.")
    dev_pct: int = described(10, "Percent of concepts in dev (test gets the rest).")
    lang: str = described("ENG", "Language of the names (names.lang).")
    max_anchor_names: int = described(4, "Names of a concept paired with each of its definitions/description.")
    max_synonyms: int = described(8, "Cap of name-synonym pairs per concept.")
    max_definitions: int = 3
    max_llm_definitions: int = 2
    # so very large concepts do not dominate
    max_pairs_per_concept: int = described(24, "Cap of pairs per concept.")
    max_types: int = 2  # semantic types named in a description
    max_parents: int = 2
    max_relations: int = 3
    # "Varicella is a disease which ..." (True) or "A disease which ..." (False): with the name, a description pair
    # can be solved by string match; measured in BENCHMARKS.md (issue 14)
    name_in_descriptions: bool = described(
        True, 'Open each description with the concept\'s name ("Varicella is a disease ...") or leave it out.'
    )
    min_reading_ratio: float = 1.0  # see sql/pairs/int_relation_readings.sql
    max_linking_queries: int = 3
    # target languages of the parallel table (names.lang codes)
    parallel_langs: tuple[str, ...] = described(
        (),
        "Also write parallel.parquet (--lang names and definitions against this language's) and a cross-lingual "
        "linking set; repeatable.",
    )
    max_parallel_per_concept: int = described(16, "Cap of parallel pairs per concept and language.")
    template_version: str = TEMPLATE_VERSION
    memory_limit: str = described(DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_HELP)
    threads: int | None = None
    # The model whose LLM definitions become pairs (a DEFS folder may hold several): default, the DEFS run's own.
    definitions_model: str | None = described(
        None,
        "The model whose definitions are used when --definitions holds several (default: the model of the "
        "generate-definitions run that wrote it).",
    )

    def validate(self) -> None:
        if not (0 <= self.train_pct and 0 <= self.dev_pct and self.train_pct + self.dev_pct <= 100):
            raise UserError(
                f"bad split percentages train={self.train_pct} dev={self.dev_pct}",
                fix="give --train-pct and --dev-pct between 0 and 100 with a sum of at most 100",
            )
        for name in (
            "max_anchor_names",
            "max_pairs_per_concept",
            "max_types",
            "max_parents",
            "max_relations",
            "max_linking_queries",
            "max_parallel_per_concept",
        ):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be at least 1, got {getattr(self, name)}")
        check_memory_limit(self.memory_limit)
        if not -(2**63) <= self.seed < 2**63:
            raise UserError(f"--seed {self.seed} does not fit in 64 bits", fix="give a --seed such as 42")
        for name in ("max_synonyms", "max_definitions", "max_llm_definitions"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.lang in self.parallel_langs:
            raise UserError(
                f"--parallel-lang {self.lang} is the language of the pairs (--lang {self.lang})",
                fix="give --parallel-lang the other languages, e.g. --parallel-lang SPA",
            )

    def sql_params(self) -> pa.Table:
        import pyarrow as pa  # only when pairs are built, not when the command reads its defaults

        # the languages are a table of their own; the definitions' model selects rows of an input
        skip = {"memory_limit", "threads", "parallel_langs", "definitions_model"}
        return pa.table({k: [v] for k, v in asdict(self).items() if k not in skip})
