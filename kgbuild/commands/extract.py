from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.core.console import out as out_console
from kgbuild.core.console import user_errors
from kgbuild.core.engine import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_HELP
from kgbuild.core.errors import UserError
from kgbuild.core.render import Renderer


@user_errors
def extract(
    out: Path = typer.Option(..., "--out", help="Folder to write the KG tables to (replaced atomically)."),
    umls: Path | None = typer.Option(
        None, "--umls", help="META folder of a UMLS release (plain, split or .gz RRF files), or the NLM release zip."
    ),
    obo: list[Path] = typer.Option(
        [], "--obo", help="An ontology in OBO format, .obo or .obo.gz (HPO, MONDO, DO, GO ...); repeatable."
    ),
    vocab: list[Path] = typer.Option(
        [], "--vocab", help="A flat dictionary: TSV, CSV, JSONL or Parquet (with --layout or --columns); repeatable."
    ),
    layout: list[str] = typer.Option(
        [],
        "--layout",
        help="The layout of the n-th --vocab: ctd, scispacy, biosyn, or columns (the next --columns map); "
        "given once, it holds for every --vocab.",
    ),
    columns: list[str] = typer.Option(
        [],
        "--columns",
        help="The column map of the n-th --vocab without a --layout, e.g. id=DiseaseID,name=DiseaseName,"
        "synonyms=Synonyms:| (fields id, name, synonyms, definition, parents, xrefs, types).",
    ),
    merge_on: list[str] = typer.Option(
        [],
        "--merge-on",
        help="Namespaces whose shared codes make terms of different inputs one concept, e.g. UMLS,MSH.",
    ),
    on_conflict: str = typer.Option(
        "keep-apart",
        "--on-conflict",
        help="A term that would join two concepts of one input: keep-apart (counted, listed in manifest.json) or "
        "fail.",
    ),
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
    """Extract a UMLS release (--umls), or ontologies (--obo) and dictionaries (--vocab), merged where they share an
    id (--merge-on), into concept, name, code, definition, relation, semantic-type and source tables, each checked
    against its contract."""
    if (umls is None) == (not obo and not vocab):
        raise UserError("give --umls META_DIR|RELEASE.zip, or one or more --obo FILE and --vocab FILE")
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
        manifest = extract_umls(umls, out, opts, force=force, report=Renderer(progress=progress))
    else:
        from kgbuild.sources.extract import extract_sources

        inputs = [("--obo", path, {}) for path in obo] + [
            ("--vocab", path, shape) for path, shape in zip(vocab, _shapes(vocab, layout, columns), strict=True)
        ]
        if on_conflict not in ("keep-apart", "fail"):
            raise UserError(f"--on-conflict {on_conflict!r}", fix="write --on-conflict keep-apart or fail")
        manifest = extract_sources(
            inputs, out, merge_on=merge_on, on_conflict=on_conflict, force=force, report=Renderer(progress=progress)
        )
        merge = manifest.get("merge")
        if merge:
            out_console.print(
                f"merged on {', '.join(merge['on']) or 'nothing'}: {merge['terms_merged']:,} terms joined "
                f"{merge['into_concepts']:,} concepts of earlier inputs; {merge['n_conflicts']:,} conflicts "
                f"({merge['terms_in_conflicts']:,} terms, left apart, listed in manifest.json)"
            )
    tables = ", ".join(f"{k} {v:,}" for k, v in manifest["tables"].items())
    out_console.print(f"wrote {out}: {tables} ({manifest['timings_s'].get('total', 0):.1f} s)", style="green")


def _shapes(vocab: list[Path], layout: list[str], columns: list[str]) -> list[dict[str, str | None]]:
    """The layout or column map of each --vocab, in order. Typer does not say which option came after which, so: one
    --layout (or one --columns) goes with every --vocab; otherwise give one --layout per --vocab, where `columns`
    means the next --columns map."""
    if len(vocab) == 1 or (not layout and len(columns) == 1) or (len(layout) == 1 and not columns):
        return [{"layout": layout[0] if layout else None, "columns": columns[0] if columns else None}] * len(vocab)
    if not layout and len(columns) == len(vocab):
        return [{"layout": None, "columns": c} for c in columns]
    maps = iter(columns)
    if len(layout) != len(vocab) or layout.count("columns") != len(columns):
        raise UserError(
            f"{len(vocab)} --vocab with {len(layout)} --layout and {len(columns)} --columns: which goes with which is "
            "ambiguous",
            fix="give one --layout per --vocab in the same order, writing --layout columns for one that takes the "
            "next --columns map",
        )
    return [{"layout": None, "columns": next(maps)} if name == "columns" else {"layout": name} for name in layout]


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Examples: kgbuild extract --umls 2025AA/META --out kg/ --lang ENG --exclude-sab SNOMEDCT_US · "
        "kgbuild extract --umls umls-2025AA-metathesaurus-full.zip --out kg/ · "
        "kgbuild extract --obo doid.obo.gz --obo hp.obo --vocab CTD_diseases.tsv.gz --layout ctd --merge-on UMLS,MSH "
        "--out kg/"
    )(extract)
