from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kgbuild.core.console import err, user_errors
from kgbuild.core.console import out as out_console
from kgbuild.core.options import option
from kgbuild.core.progress import progress_option
from kgbuild.core.render import Renderer
from kgbuild.pairs import PairOptions  # the options alone: polars and pyarrow load only for this command


@user_errors
def build_pairs_command(
    kg: Path = typer.Option(..., "--kg", help="KG folder written by kgbuild extract."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    definitions: Path | None = typer.Option(
        None, "--definitions", help="Folder of kgbuild generate-definitions (rows with status ok)."
    ),
    definitions_model: str | None = option(PairOptions, "definitions_model", "--definitions-model"),
    seed: int = option(PairOptions, "seed", "--seed"),
    train_pct: int = option(PairOptions, "train_pct", "--train-pct"),
    dev_pct: int = option(PairOptions, "dev_pct", "--dev-pct"),
    max_pairs_per_concept: int = option(PairOptions, "max_pairs_per_concept", "--max-pairs-per-concept"),
    max_synonyms: int = option(PairOptions, "max_synonyms", "--max-synonyms"),
    max_anchor_names: int = option(PairOptions, "max_anchor_names", "--max-anchor-names"),
    name_in_descriptions: bool = option(
        PairOptions, "name_in_descriptions", "--name-in-descriptions/--no-name-in-descriptions"
    ),
    lang: str = option(PairOptions, "lang", "--lang"),
    parallel_langs: list[str] = option(PairOptions, "parallel_langs", "--parallel-lang"),
    max_parallel_per_concept: int = option(PairOptions, "max_parallel_per_concept", "--max-parallel-per-concept"),
    memory_limit: str = option(PairOptions, "memory_limit", "--memory-limit"),
    force: bool = typer.Option(False, "--force", help="Replace an existing output folder."),
    progress: bool = progress_option(),
) -> None:
    """Build descriptions, training pairs (split by concept) and a KG linking set from KG tables."""
    from kgbuild.pairs import build_pairs

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
        kg,
        out,
        definitions=definitions,
        options=options,
        force=force,
        report=Renderer(progress=True if progress else None),
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
