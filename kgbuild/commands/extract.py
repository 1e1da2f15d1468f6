from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.console import out as out_console
from kgbuild.console import user_errors
from kgbuild.engine import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_HELP
from kgbuild.errors import UserError


@user_errors
def extract(
    out: Path = typer.Option(..., "--out", help="Folder to write the KG tables to (replaced atomically)."),
    umls: Path | None = typer.Option(
        None, "--umls", help="META folder of a UMLS release (plain, split or .gz RRF files)."
    ),
    obo: Path | None = typer.Option(None, "--obo", help="An ontology in OBO format (HPO, MONDO, DO, GO ...)."),
    lang: list[str] = typer.Option(
        ["ENG"], "--lang", help="Languages to keep (MRCONSO.LAT); the first one gives preferred names."
    ),
    sab: list[str] = typer.Option([], "--sab", help="Keep only these sources (repeatable)."),
    exclude_sab: list[str] = typer.Option([], "--exclude-sab", help="Drop these sources (repeatable)."),
    keep_suppressed: bool = typer.Option(
        False, "--keep-suppressed", help="Keep SUPPRESS O/E/Y atoms, relations and definitions."
    ),
    max_srl: int | None = typer.Option(
        None, "--max-srl", help="Keep atoms with source restriction level <= N (0 = no extra licence)."
    ),
    memory_limit: str = typer.Option(DEFAULT_MEMORY_LIMIT, "--memory-limit", help=MEMORY_LIMIT_HELP),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out folder."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar (stderr)."),
) -> None:
    """Extract a UMLS release (--umls) or an OBO ontology (--obo) into concept, name, definition, relation,
    semantic-type and source tables, each checked against its contract."""
    if (umls is None) == (obo is None):
        raise UserError("give exactly one of --umls META_DIR or --obo FILE.obo")
    if umls is not None:
        from kgbuild.umls.extract import ExtractOptions, extract_umls

        opts = ExtractOptions(
            langs=lang,
            sabs=sab,
            exclude_sabs=exclude_sab,
            keep_suppressed=keep_suppressed,
            max_srl=max_srl,
            memory_limit=memory_limit,
        )
        manifest = extract_umls(umls, out, opts, force=force, progress=progress)
    else:
        from kgbuild.obo.extract import extract_obo

        manifest = extract_obo(obo, out, force=force)
    tables = ", ".join(f"{k} {v:,}" for k, v in manifest["tables"].items())
    out_console.print(f"wrote {out}: {tables} ({manifest['timings_s'].get('total', 0):.1f} s)", style="green")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: kgbuild extract --umls 2025AA/META --out kg/ --lang ENG --exclude-sab SNOMEDCT_US")(
        extract
    )
