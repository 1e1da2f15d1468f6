"""`extract_obo`: one OBO file → KG_DIR with concepts, names, codes, definitions, relations, relation_labels,
semantic_types, sources, umls_xrefs and manifest.json (same contracts as the UMLS extract)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kgbuild import sqlrun
from kgbuild.atomic import atomic_dir, check_output
from kgbuild.contracts import arrow_schema, check_tables_or_raise
from kgbuild.engine import connect, parquet_scan
from kgbuild.errors import UserError
from kgbuild.manifest import write_manifest
from kgbuild.obo.codes import code_rows
from kgbuild.obo.hierarchy import is_a_graph, top_level_categories
from kgbuild.obo.parser import parse_obo, unescape
from kgbuild.obo.terms import Term, prefix, read_terms
from kgbuild.umls.extract import ExtractOptions, register_params

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
_LICENCE_KEYS = ("license", "licence", "rights")


def ontology_block(doc) -> dict[str, Any]:
    block: dict[str, Any] = {
        "name": doc.header_value("ontology"),
        "version": doc.header_value("data-version"),
        "format_version": doc.header_value("format-version"),
        "licence": None,
    }
    for clause in doc.header:
        if clause.tag != "property_value":
            continue
        tokens = clause.value.split(None, 1)
        if len(tokens) == 2 and tokens[0].rstrip("/").lower().endswith(_LICENCE_KEYS):
            value = tokens[1].strip()
            if value.startswith('"'):
                value = value[1 : value.rfind('"')] if value.rfind('"') > 0 else value[1:]
            else:
                value = value.split()[0]
            block["licence"] = unescape(value)
    return block


def _semantic_types(terms: list[Term], graph, names: dict[str, str]) -> list[tuple[str, str, str]]:
    """(cui, tui, sty): the namespace when the file has several, else the top-level ancestor."""
    namespaces = {t.namespace for t in terms if t.namespace}
    if len(namespaces) > 1:
        return [(t.id, t.namespace, t.namespace.replace("_", " ")) for t in terms if t.namespace]
    categories = top_level_categories(graph, names)
    return [(t.id, top, names[top]) for t in terms for top in categories.get(t.id, [])]


def _sql_marts(
    tmp: Path, *, languages: list[str], sources: list[tuple[str, str | None, str | None]]
) -> dict[str, int]:
    """concepts and sources from the tables just written, by the SQL that makes them from a UMLS release
    (sql/umls/concepts.sql, sources.sql): one definition of a concept's preferred name, types and counts."""
    with connect() as con:
        # English first, as extract --umls --lang ENG ... ranks the preferred names; the same filters table
        register_params(con, ExtractOptions(langs=["ENG", *(lang for lang in languages if lang != "ENG")]))
        for table in ("names", "semantic_types", "definitions"):
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM {parquet_scan([str(tmp / f'{table}.parquet')])}")
        con.execute(
            "CREATE TABLE stg_umls__mrsab (sab VARCHAR, name VARCHAR, version VARCHAR, lang VARCHAR, srl INTEGER)"
        )
        for row in sources:
            con.execute("INSERT INTO stg_umls__mrsab VALUES (?, ?, ?, NULL, NULL)", list(row))
        given = ("names", "semantic_types", "definitions", "stg_umls__mrsab")
        return sqlrun.run(con, "umls", ("concepts", "sources"), tmp, given=given)


def extract_obo(obo_path: str | Path, out: str | Path, force: bool = False) -> dict[str, Any]:
    """Parse `obo_path` and write the KG tables into `out` atomically; return the manifest."""
    started = time.perf_counter()
    obo_path, out = Path(obo_path), Path(out)
    inputs = {"--obo": obo_path}
    check_output(out, force=force, inputs=inputs)  # before the parse, which takes a while on a large ontology
    doc = parse_obo(obo_path)
    all_terms, typedefs = read_terms(doc)
    terms = [t for t in all_terms if not t.obsolete and t.name]
    if not terms:
        obsolete = sum(t.obsolete for t in all_terms)
        raise UserError(
            f"no term to extract: {len(all_terms)} [Term] stanza(s), {obsolete} obsolete, "
            f"{len(all_terms) - obsolete} without a name",
            path=obo_path,
            fix="give an ontology in OBO format: [Term] stanzas with an id: and a name:",
        )
    kept = {t.id for t in terms}
    names_by_id = {t.id: t.name for t in terms}
    graph = is_a_graph(terms, obo_path)
    parsed = time.perf_counter()

    rows: dict[str, dict[str, list]] = {}
    name_rows = {
        "cui": [],
        "aui": [],
        "name": [],
        "lang": [],
        "sab": [],
        "tty": [],
        "is_preferred": [],
        "suppress": [],
        "srl": [],
    }
    for term in terms:
        atoms = [(term.name, "PT", "ENG")] + [(s.text, s.scope, s.lang) for s in term.synonyms if s.text.strip()]
        # one preferred name per (term, language), as UMLS has: the name in English, else the first EXACT synonym
        # of the language (the first of any scope when it has none)
        preferred_at = {"ENG": 0}
        for i, (_, tty, lang) in enumerate(atoms):
            better = lang != "ENG" and tty == "EXACT" and atoms[preferred_at.get(lang, i)][1] != "EXACT"
            if lang not in preferred_at or better:
                preferred_at[lang] = i
        for i, (text, tty, lang) in enumerate(atoms):
            for col, value in zip(
                name_rows,
                (term.id, f"{term.id}#{i}", text, lang, prefix(term.id), tty, preferred_at[lang] == i, "N", 0),
                strict=True,
            ):
                name_rows[col].append(value)
    rows["names"] = name_rows
    languages = Counter(name_rows["lang"])
    rows["codes"], xrefs_not_codes = code_rows(terms)
    defined = [t for t in terms if t.definition and t.definition.strip()]
    rows["definitions"] = {
        "cui": [t.id for t in defined],
        "source_id": [t.id for t in defined],
        "sab": [prefix(t.id) for t in defined],
        "definition": [t.definition for t in defined],
        "origin": ["obo"] * len(defined),
    }
    edges = sorted(
        {
            (t.id, e.relation, "CHD" if e.relation == "is_a" else "RO", e.target, prefix(t.id))
            for t in terms
            for e in t.parents + t.relationships
            if e.target in kept and e.target != t.id
        }
    )
    dropped_edges = sum(1 for t in terms for e in t.parents + t.relationships if e.target not in kept)
    rows["relations"] = dict(
        zip(
            ("head_cui", "relation", "rel", "tail_cui", "sab"),
            map(list, zip(*edges, strict=True)) if edges else ([], [], [], [], []),
            strict=True,
        )
    )
    used = Counter(e[1] for e in edges)
    labels = [
        (
            rel,
            "is a" if rel == "is_a" else (typedefs[rel].name if rel in typedefs else None),
            None if rel == "is_a" else (typedefs[rel].inverse if rel in typedefs else None),
            n,
        )
        for rel, n in sorted(used.items())
    ]
    rows["relation_labels"] = dict(
        zip(
            ("relation", "label", "inverse", "n_edges"),
            map(list, zip(*labels, strict=True)) if labels else ([], [], [], []),
            strict=True,
        )
    )
    sty = sorted(set(_semantic_types(terms, graph, names_by_id)))
    rows["semantic_types"] = {
        "cui": [s[0] for s in sty],
        "tui": [s[1] for s in sty],
        "sty": [s[2] for s in sty],
        "stn": [None] * len(sty),
    }
    ontology = ontology_block(doc)
    main_prefix = (ontology["name"] or "").upper().removesuffix(".OBO")  # "ontology: hp.obo" names prefix HP
    # MRSAB's part: the ontology's own name and version for its own prefix (the sources of other prefixes have none)
    ontology_sources = [
        (sab, ontology["name"], ontology["version"])
        for sab in sorted(set(name_rows["sab"]))
        if sab.upper() == main_prefix
    ]
    xrefs = sorted({(t.id, cui) for t in terms for cui in t.umls_cuis})
    rows["umls_xrefs"] = {"cui": [x[0] for x in xrefs], "umls_cui": [x[1] for x in xrefs]}

    with atomic_dir(out, force=force, inputs=inputs) as tmp:
        for table in rows:
            pq.write_table(pa.table(rows[table], schema=arrow_schema(table)), tmp / f"{table}.parquet")
        counts = {t: len(next(iter(rows[t].values()))) for t in rows}
        counts |= _sql_marts(tmp, languages=[lang for lang, _ in languages.most_common()], sources=ontology_sources)
        check_tables_or_raise(TABLES, tmp, out=out)
        finished = time.perf_counter()
        manifest = write_manifest(
            tmp,
            command="extract --obo",
            inputs={"obo": {"path": str(obo_path), "bytes": obo_path.stat().st_size, "stanzas": len(doc.stanzas)}},
            parameters={},
            tables={t: counts[t] for t in TABLES},
            timings={"parse": parsed - started, "write": finished - parsed, "total": finished - started},
            extra={
                "ontology": ontology,
                "languages": {
                    lang: {
                        "atoms": n,
                        "concepts": len(
                            {c for c, la in zip(name_rows["cui"], name_rows["lang"], strict=True) if la == lang}
                        ),
                    }
                    for lang, n in languages.most_common()
                },
                "dropped": {
                    "obsolete_terms": sum(t.obsolete for t in all_terms),
                    "unnamed_terms": sum(1 for t in all_terms if not t.obsolete and not t.name),
                    "edges_to_unknown_or_obsolete_terms": dropped_edges,
                    "xrefs_not_codes": xrefs_not_codes,
                },
            },
        )
    return manifest
