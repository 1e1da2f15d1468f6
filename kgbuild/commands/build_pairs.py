from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kgbuild.console import err, user_errors
from kgbuild.console import out as out_console
from kgbuild.engine import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_HELP
from kgbuild.progress import progress_option


@user_errors
def build_pairs_command(
    kg: Path = typer.Option(..., "--kg", help="KG folder written by kgbuild extract."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    definitions: Path | None = typer.Option(
        None, "--definitions", help="Folder of kgbuild generate-definitions (rows with status ok)."
    ),
    definitions_model: str | None = typer.Option(
        None,
        "--definitions-model",
        help="The model whose definitions are used when --definitions holds several (default: the model of the "
        "generate-definitions run that wrote it).",
    ),
    seed: int = typer.Option(42, "--seed", help="Seed of the concept splits and of every tie-break."),
    train_pct: int = typer.Option(80, "--train-pct", help="Percent of concepts in train."),
    dev_pct: int = typer.Option(10, "--dev-pct", help="Percent of concepts in dev (test gets the rest)."),
    max_pairs_per_concept: int = typer.Option(24, "--max-pairs-per-concept", help="Cap of pairs per concept."),
    max_synonyms: int = typer.Option(8, "--max-synonyms", help="Cap of name-synonym pairs per concept."),
    max_anchor_names: int = typer.Option(
        4, "--max-anchor-names", help="Names of a concept paired with each of its definitions/description."
    ),
    name_in_descriptions: bool = typer.Option(
        True,
        "--name-in-descriptions/--no-name-in-descriptions",
        help='Open each description with the concept\'s name ("Varicella is a disease ...") or leave it out.',
    ),
    lang: str = typer.Option("ENG", "--lang", help="Language of the names (names.lang)."),
    parallel_langs: list[str] = typer.Option(
        [],
        "--parallel-lang",
        help="Also write parallel.parquet (--lang names and definitions against "
        "this language's) and a cross-lingual linking set; repeatable.",
    ),
    max_parallel_per_concept: int = typer.Option(
        16, "--max-parallel-per-concept", help="Cap of parallel pairs per concept and language."
    ),
    memory_limit: str = typer.Option(DEFAULT_MEMORY_LIMIT, "--memory-limit", help=MEMORY_LIMIT_HELP),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
    progress: bool = progress_option(),
) -> None:
    """Build descriptions, training pairs (split by concept) and a KG linking set from KG tables."""
    from kgbuild.pairs import PairOptions, build_pairs  # polars and pyarrow load only for this command

    options = PairOptions(
        seed=seed,
        train_pct=train_pct,
        dev_pct=dev_pct,
        lang=lang,
        max_pairs_per_concept=max_pairs_per_concept,
        max_synonyms=max_synonyms,
        max_anchor_names=max_anchor_names,
        name_in_descriptions=name_in_descriptions,
        memory_limit=memory_limit,
        parallel_langs=tuple(dict.fromkeys(parallel_langs)),
        max_parallel_per_concept=max_parallel_per_concept,
        definitions_model=definitions_model,
    )
    manifest = build_pairs(
        kg, out, definitions=definitions, options=options, force=force, progress=True if progress else None
    )
    table = Table("table", "rows", title=str(out))
    for name, rows in manifest["tables"].items():
        table.add_row(name, f"{rows:,}")
    out_console.print(table)  # the result on stdout; messages on stderr
    for code, block in (manifest.get("parallel") or {}).items():
        kinds = ", ".join(f"{k} {n:,}" for k, n in block["kinds"].items())
        linking = ", ".join(f"{k} {n:,}" for k, n in block["linking"].items()) or "none"
        out_console.print(
            f"parallel {code}: {block['rows']:,} rows ({kinds}) over {block['concepts']:,} concepts; "
            f"cross-lingual linking queries: {linking}"
        )
    err.print(f"done in {manifest['timings_s']['total']:.1f} s", style="green")


def register(app: typer.Typer) -> None:
    app.command(
        "build-pairs",
        epilog="Example: kgbuild build-pairs --kg kg/ --out pairs/ --definitions defs/ --parallel-lang SPA",
    )(build_pairs_command)
