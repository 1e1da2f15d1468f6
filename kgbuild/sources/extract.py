"""`kgbuild extract --obo ... --vocab ...`: one or more sources of terms → their staging tables (staging.py) → the KG
tables, made by sql/terms/ (concepts and sources by the same sql/umls/ files as for a UMLS release) and checked
against their contracts; manifest.json says what each source gave and what the merge did."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from kgbuild import params, sqlrun
from kgbuild.core.atomic import atomic_dir, check_output
from kgbuild.core.contracts import check_tables_or_raise
from kgbuild.core.engine import connect
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, Task, silent
from kgbuild.core.manifest import write_manifest
from kgbuild.publish.licence import most_restrictive
from kgbuild.sources import SOURCES
from kgbuild.sources import obo as _obo  # noqa: F401  (registers --obo)
from kgbuild.sources import vocab as _vocab  # noqa: F401  (registers --vocab)
from kgbuild.sources.codes import namespaces
from kgbuild.sources.staging import Staged, concat

TABLES = (
    "concepts",
    "names",
    "codes",
    "definitions",
    "relations",
    "relation_labels",
    "semantic_types",
    "sources",
    "umls_xrefs",
)
_MERGE_PROBE = """
    SELECT
        count(*) FILTER (WHERE cui <> term_id),
        count(DISTINCT cui) FILTER (WHERE cui <> term_id),
        count(*) FILTER (WHERE conflict),
    FROM int_term_concepts
"""
# each conflict: the terms of one linked group that holds two terms of one input, in input order
_CONFLICTS = """
    SELECT list(terms ORDER BY first) FROM (
        SELECT list(term_id ORDER BY source, term_id) AS terms, min((source, term_id)) AS first
        FROM int_term_concepts WHERE conflict GROUP BY linked_to
    )
"""
_LANGUAGES = """
    SELECT lang, count(*), count(DISTINCT cui), min(file_row_number) AS first
    FROM read_parquet($names, file_row_number = true)
    GROUP BY lang
    ORDER BY count(*) DESC, first
"""


def merge_namespaces(merge_on: list[str]) -> list[str]:
    """The sources (SABs) of the namespaces --merge-on names (UMLS, MSH, MESH, OMIM ...); an unknown one is refused."""
    known = namespaces()
    sabs = []
    for item in (part.strip() for value in merge_on for part in value.split(",")):
        if not item:
            continue
        entry = known.get(item.upper())
        if entry is None and item.upper() not in {sab for sab, _ in known.values()}:
            offered = ", ".join(sorted({sab for sab, _ in known.values()}))
            raise UserError(f"--merge-on {item}: unknown namespace", fix=f"name one of {offered}")
        sabs.append(entry[0] if entry else item.upper())
    return sorted(set(sabs))


def _check_distinct_ids(staged: list[Staged], paths: list[Path]) -> None:
    """A term id in two inputs would be two concepts with one id: refused (merging is said with --merge-on)."""
    seen: dict[str, int] = {}
    for s in staged:
        for term_id in s.rows["stg_terms__terms"]["term_id"]:
            if seen.setdefault(term_id, s.source) != s.source:
                raise UserError(
                    f"term id {term_id} is in two inputs (also in {paths[seen[term_id]]})",
                    path=paths[s.source],
                    fix="give each ontology or dictionary once; to join concepts across inputs, use --merge-on",
                )


def _ontology(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The ontology block of the manifest: the input's own for one input; for several, their names and versions
    joined and the most restrictive licence (what the licence guard of publish and trainer push reads)."""
    if len(blocks) == 1:
        return blocks[0]
    return {
        "name": " + ".join(str(b.get("name")) for b in blocks),
        "version": "; ".join(f"{b.get('name')} {b['version']}" for b in blocks if b.get("version")) or None,
        "format_version": None,
        "licence": most_restrictive([b.get("licence") for b in blocks]),
    }


def extract_sources(
    inputs: list[tuple[str, Path, dict[str, Any]]],
    out: str | Path,
    *,
    merge_on: list[str] | None = None,
    on_conflict: str = "keep-apart",
    force: bool = False,
    report: Reporter = silent,
) -> dict[str, Any]:
    """Read each (option, path, options) input, in order, and write the KG tables into `out` atomically; return the
    manifest. `merge_on` names the namespaces whose shared codes make terms of different inputs one concept; a
    conflict is kept apart and counted, or with `on_conflict="fail"` refused (nothing is written). `report` hears
    the "extract" step's progress: each input read, then each table made."""
    steps = len(inputs) + len(sqlrun.plan(sqlrun.load_models("terms"), TABLES))
    with Task(report, "extract", steps, unit="steps", transient=True) as task:
        return _extract(inputs, Path(out), merge_on=merge_on, on_conflict=on_conflict, force=force, task=task)


def _extract(
    inputs: list[tuple[str, Path, dict[str, Any]]],
    out: Path,
    *,
    merge_on: list[str] | None,
    on_conflict: str,
    force: bool,
    task: Task,
) -> dict[str, Any]:
    started = time.perf_counter()
    paths = [Path(path) for _, path, _ in inputs]
    named = {opt if len(inputs) == 1 else f"{opt} #{i + 1}": p for i, (opt, p, _) in enumerate(inputs)}
    check_output(out, force=force, inputs=named, report=task.report)
    merge_sabs = merge_namespaces(merge_on or [])
    staged = []
    for i, (opt, path, options) in enumerate(inputs):
        staged.append(SOURCES[opt].read(Path(path), i, **options))
        task.advance()
    _check_distinct_ids(staged, paths)
    tables = concat(staged)
    # English first, as extract --umls --lang ENG ... ranks the preferred names; then by atoms, first seen first
    langs = Counter(["ENG"] * tables["stg_terms__terms"].num_rows)
    langs.update(tables["stg_terms__synonyms"].column("lang").to_pylist())
    parsed = time.perf_counter()

    with atomic_dir(out, force=force, inputs=named, report=task.report) as tmp:
        with connect() as con:
            for name, table in tables.items():
                con.register(name, table)
            params.register(con, "langs", {"lang": "VARCHAR", "position": "INTEGER"}, _positions(langs))
            params.register(con, "merge_on", {"sab": "VARCHAR"}, [(sab,) for sab in merge_sabs])
            merged: dict[str, Any] = {}

            def after(name: str) -> None:
                task.advance()
                if name == "int_term_concepts":
                    terms, concepts, in_conflicts = con.execute(_MERGE_PROBE).fetchone()
                    conflicts = con.execute(_CONFLICTS).fetchone()[0] or []
                    merged.update(
                        terms_merged=terms,
                        into_concepts=concepts,
                        terms_in_conflicts=in_conflicts,
                        conflicts=conflicts,
                    )
                    if conflicts and on_conflict == "fail":
                        raise UserError(
                            f"{len(conflicts):,} merge conflicts (linked terms of which two are in one input, "
                            f"{in_conflicts:,} terms), e.g. {', '.join(conflicts[0])}",
                            fix="drop --on-conflict fail to keep them apart (they are listed in manifest.json), or "
                            "merge on fewer namespaces",
                        )

            counts = sqlrun.run(con, "terms", TABLES, tmp, after=after)
            languages = con.execute(_LANGUAGES, {"names": str(tmp / "names.parquet")}).fetchall()
        check_tables_or_raise(TABLES, tmp, out=out)
        finished = time.perf_counter()
        sources = [s.manifest for s in staged]
        dropped: Counter = Counter()
        for s in sources:
            dropped.update(s["dropped"])
        single_obo = len(inputs) == 1 and inputs[0][0] == "--obo"
        extra: dict[str, Any] = {
            "ontology": _ontology([s.get("ontology") or s.get("vocabulary") for s in sources]),
            "languages": {lang: {"atoms": n, "concepts": c} for lang, n, c, _ in languages},
            "dropped": dict(dropped),
        }
        if len(inputs) > 1:
            extra["merge"] = {
                "rule": "terms of different inputs sharing a code in "
                + (", ".join(merge_sabs) if merge_sabs else "no namespace (--merge-on not given)")
                + " are one concept, named by the earliest input's term; a group holding two terms of one input "
                "is a conflict and is not merged",
                "on": merge_sabs,
                **merged,
                "n_conflicts": len(merged.get("conflicts", [])),
            }
        manifest = write_manifest(
            tmp,
            command="extract " + " ".join(dict.fromkeys(opt for opt, _, _ in inputs)),
            inputs={"obo": {k: sources[0][k] for k in ("path", "bytes", "stanzas")}}
            if single_obo
            else {"sources": sources},
            parameters={"merge_on": merge_sabs} if len(inputs) > 1 else {},
            tables={t: counts[t] for t in TABLES},
            timings={"parse": parsed - started, "write": finished - parsed, "total": finished - started},
            extra=extra,
        )
    return manifest


def _positions(langs: Counter) -> list[tuple[str, int]]:
    order = ["ENG", *(lang for lang, _ in langs.most_common() if lang != "ENG")]
    return [(lang, i) for i, lang in enumerate(order)]
