"""`kgbuild info DIR`: what a KG, pairs, definitions, run or linking-index folder holds, read from its manifest and
its tables (row counts from the Parquet footers, so it is instant on any size)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from kgbuild.core.console import user_errors
from kgbuild.core.errors import UserError


def describe(folder: Path) -> list[tuple[str, str]]:
    """(what, value) lines about `folder`."""
    from kgbuild.core.manifest import read_manifest

    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("not a folder", path=folder, fix="give an output folder of kgbuild or trainer")
    manifest = read_manifest(folder)  # a manifest that is not a JSON object is one line there
    try:
        return _describe(folder, manifest)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a field of the wrong shape: info reads only
        raise UserError(
            f"manifest.json does not have the shape its command writes ({type(exc).__name__}: {exc})",
            path=folder / "manifest.json",
            fix="restore it from the command that made the folder, or rerun it",
        ) from exc


def _table_rows(files: list[str]) -> int:
    import pyarrow.parquet as pq

    total = 0
    for f in files:
        try:
            total += pq.ParquetFile(f).metadata.num_rows
        except Exception as exc:  # pyarrow raises several types for a truncated or foreign file
            raise UserError(
                f"not a readable Parquet file ({str(exc).splitlines()[0][:120]})",
                path=f,
                fix="rerun the command that wrote this folder",
            ) from None
    return total


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def _shown(path: Any) -> str:
    from kgbuild.core.console import shown

    return shown(path) if path else "?"


def _work(entry: dict[str, Any]) -> str:
    """What a phase did: its steps, or the models it averaged."""
    if entry.get("steps") is not None:
        return _count(int(entry["steps"]), "step")
    models = entry.get("models") or []
    weights = entry.get("weights") or []
    if models:
        how = f" (weights {'/'.join(map(str, weights))})" if weights else ""
        return f"averaged {', '.join(Path(m).name for m in models)}{how}"
    return "no steps recorded"


# A trainer phase folder holds this marker (trainer.phase_folder.MARKER), written last, instead of a manifest.json.
PHASE_MARKER = "trainer_phase.json"


def _phase_lines(folder: Path) -> list[tuple[str, str]] | None:
    """A trainer phase's folder (run/final, run/contrastive, or a standalone `trainer contrastive --out`): its phase,
    what it did, and the run it belongs to."""
    import json
    from datetime import UTC, datetime

    from kgbuild.core.manifest import read_manifest

    marker = folder / PHASE_MARKER
    if not marker.is_file():
        return None
    info = json.loads(marker.read_text(encoding="utf-8"))
    if not isinstance(info, dict):
        raise TypeError(f"{PHASE_MARKER} is not a JSON object")
    when = datetime.fromtimestamp(marker.stat().st_mtime, UTC).isoformat(timespec="seconds")
    run = read_manifest(folder.parent) if (folder.parent / "manifest.json").is_file() else {}
    of_run = run.get("command") == "trainer run-all" and folder.name in {
        Path(str(e.get("output", ""))).name for e in (run.get("phases") or {}).values()
    }
    phase = info.get("phase", "unknown phase")
    lines = [("made by", f"trainer {phase} ({when})"), ("phase", f"{phase}, {_work(info)}")]
    if info.get("base"):
        lines.append(("from", _shown(info["base"])))
    if of_run:
        lines.append(
            ("part of", f"the trainer run-all in {_shown(folder.parent)} (kgbuild info {_shown(folder.parent)})")
        )
        headline = ((run.get("scores") or {}).get(phase) or {}).get("headline") or {}
        if headline:
            lines.append(("scores", ", ".join(f"{k} {v}" for k, v in headline.items())))
        lines += _lineage_lines(run.get("lineage"))
    return lines


def _lineage_lines(lineage: Any) -> list[tuple[str, str]]:
    """Where the content comes from (the KG each origin is, its release or ontology, licence, languages) and the
    steps that made the inputs, oldest first."""
    if not isinstance(lineage, dict):
        return []
    lines = []
    for origin in lineage.get("origins") or []:
        ontology = origin.get("ontology") or {}
        if ontology:
            version = f" {ontology['version']}" if ontology.get("version") else ""
            what = f"{ontology.get('name')}{version}, licence {ontology.get('licence') or 'none declared'}"
        else:
            what = f"UMLS {origin.get('release') or 'release unknown'}"
        sources = [s.get("sab") for s in origin.get("sources") or [] if s.get("sab")]
        if sources:
            what += f"; sources {', '.join(sources[:10])}{', …' if len(sources) > 10 else ''}"
        languages = ", ".join(origin.get("languages") or {})
        lines.append(
            (
                "made from",
                f"{origin.get('origin')} KG {_shown(origin.get('kg'))}: {what}"
                + (f"; languages {languages}" if languages else ""),
            )
        )
    for step in lineage.get("steps") or []:
        lines.append(
            (
                "step",
                f"{step.get('command')} → {_shown(step.get('folder'))} ({step.get('created_at', 'date unknown')})",
            )
        )
    return lines


def _describe(folder: Path, manifest: dict[str, Any]) -> list[tuple[str, str]]:
    import duckdb
    import pyarrow.parquet as pq

    from kgbuild.core.contracts import contract_names, table_files

    lines: list[tuple[str, str]] = []
    command = manifest.get("command") or manifest.get("kind")
    phase = _phase_lines(folder) if not manifest else None
    if phase is not None:
        return phase
    lines.append(
        (
            "made by",
            f"{command} ({manifest.get('created_at', 'date unknown')})"
            if command
            else "unknown (no manifest.json: not a kgbuild or trainer output, or one from before manifests)",
        )
    )
    params = manifest.get("parameters") or {}
    release = manifest.get("release")
    if release:
        lines.append(("UMLS release", release.get("name", str(release)) if isinstance(release, dict) else release))
    ontology = manifest.get("ontology")
    if isinstance(ontology, dict):
        version = f" ({ontology['version']})" if ontology.get("version") else ""
        lines.append(("ontology", f"{ontology.get('name')}{version}"))
        lines.append(("licence", ontology.get("licence") or "none declared"))
    inputs = manifest.get("inputs") if isinstance(manifest.get("inputs"), dict) else {}
    for i, source in enumerate(inputs.get("sources") or [], start=1):  # extract --obo/--vocab with several inputs
        block = source.get("ontology") or source.get("vocabulary") or {}
        version = f" ({block['version']})" if block.get("version") else ""
        lines.append(
            (
                f"input {i}",
                f"{source.get('kind')} {source.get('path')}: {block.get('name')}{version}, "
                f"licence {block.get('licence') or 'none declared'}",
            )
        )
    merge = manifest.get("merge")
    if isinstance(merge, dict):
        lines.append(
            (
                "merge",
                f"on {', '.join(merge.get('on') or []) or 'nothing'}: {merge.get('terms_merged', 0):,} terms joined "
                f"{merge.get('into_concepts', 0):,} concepts; {merge.get('n_conflicts', 0):,} conflicts "
                f"({merge.get('terms_in_conflicts', 0):,} terms)",
            )
        )
    languages = manifest.get("languages")
    if isinstance(languages, dict) and languages:  # an extract's counts per language
        lines.append(
            ("languages", ", ".join(f"{k} ({_count(v.get('concepts', 0), 'concept')})" for k, v in languages.items()))
        )
    elif "langs" in params:
        lines.append(("languages", ", ".join(params["langs"]) or "all"))
    dropped = {k: v for k, v in (manifest.get("dropped") or {}).items() if v}
    if dropped:
        lines.append(("dropped", ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in dropped.items())))
    lines += _lineage_lines(manifest.get("lineage"))
    if params.get("sabs"):
        lines.append(("sources kept", ", ".join(params["sabs"])))
    index = manifest.get("kind") == "kgbuild-linking-index"  # its names.parquet is the index's, not a KG table
    for name in [] if index else contract_names():
        files = table_files(folder, name)
        if files:
            rows = _table_rows(files)
            lines.append((f"table {name}", f"{_count(rows, 'row')} in {_count(len(files), 'file')}"))
            if name == "sources":
                sabs = [
                    r[0]
                    for r in duckdb.sql(
                        "SELECT sab FROM read_parquet($f) ORDER BY sab", params={"f": files}
                    ).fetchall()
                ]
                lines.append(("sources", ", ".join(sabs[:20]) + (f", … ({len(sabs)})" if len(sabs) > 20 else "")))
            if "split" in pq.read_schema(files[0]).names:
                counts = duckdb.sql(
                    "SELECT split, count(*), count(DISTINCT cui) FROM read_parquet($f) GROUP BY split ORDER BY split",
                    params={"f": files},
                ).fetchall()
                lines.append(
                    (
                        f"{name} splits",
                        "; ".join(f"{s} {_count(n, 'row')} / {_count(c, 'concept')}" for s, n, c in counts),
                    )
                )
    summary = manifest.get("summary") or {}
    if summary:  # generate-definitions
        statuses = ", ".join(f"{k} {v:,}" for k, v in (summary.get("statuses") or {}).items())
        lines.append(("definitions", statuses or "none"))
        lines.append(
            (
                "spent",
                f"${summary.get('spent_usd', summary.get('cost_usd', 0)):.4f}"
                + (f" (stopped: {summary['stopped']})" if summary.get("stopped") else ""),
            )
        )
    for phase, entry in (manifest.get("phases") or {}).items():  # trainer run-all
        lines.append((f"phase {phase}", f"{entry.get('status')}, {_work(entry)} → {_shown(entry.get('output'))}"))
    for name, entry in (manifest.get("scores") or {}).items():
        headline = entry.get("headline") or {}
        lines.append((f"scores {name}", ", ".join(f"{k} {v}" for k, v in headline.items()) or "none"))
    if index:
        from kgbuild.core.manifest import changed_file

        if manifest.get("files"):  # info hashes every file, index.faiss included: a slow check, asked for here
            problem = changed_file(folder, manifest["files"])
            lines.append(("files", f"CHANGED since built: {problem}" if problem else "as built (sizes and sha256)"))
        chosen = manifest["index"]
        lines.append(
            (
                "index",
                f"{manifest['rows']:,} names of {manifest['concepts']:,} concepts, {chosen['kind']} "
                f"{chosen['dtype']}; model {manifest['model']['reference']}"
                + (f"; names in {', '.join(manifest['langs'])}" if manifest.get("langs") else ""),
            )
        )
    return lines


@user_errors
def info(folder: Path = typer.Argument(..., help="An output folder of kgbuild or trainer.")) -> None:
    """What a KG / pairs / definitions / run / index folder holds: tables and rows, sources, languages, splits, and
    the manifest's summary."""
    sys.stdout.write("".join(f"{line}\n" for line in layout(describe(folder))))


WIDTH = 80  # every line fits a standard terminal
LABEL = 26  # a longer label puts its value on the next line


def layout(lines: list[tuple[str, str]]) -> list[str]:
    """(what, value) pairs as two columns within WIDTH: a long value wraps under itself, between the items of a
    list ("a, b; c") where it can, and a long path is cut wherever it must."""
    import textwrap

    width = min(LABEL, max((len(what) for what, _ in lines), default=0))
    room = WIDTH - width - 2
    result = []
    for what, value in lines:
        # inside a list item a space is a no-break space while wrapping (textwrap breaks at ASCII spaces only)
        items = value.replace(" ", "\u00a0").replace(",\u00a0", ", ").replace(";\u00a0", "; ")
        pieces = textwrap.wrap(items, room, break_long_words=False, break_on_hyphens=False) or [""]
        wrapped = [
            w for p in pieces for w in textwrap.wrap(p.replace("\u00a0", " "), room, break_on_hyphens=False) or [""]
        ]
        if len(what) > width:
            result.append(what)
            what = ""
        result += [f"{what if i == 0 else '':<{width}}  {w}" for i, w in enumerate(wrapped)]
    return result


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: kgbuild info kg/")(info)
