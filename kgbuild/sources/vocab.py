"""`--vocab FILE`: a flat dictionary read into the staging tables. TSV, CSV, JSONL or Parquet (text files may be
gzipped), with a named layout for the common ones or a column map for the rest:

- `ctd`: CTD's MEDIC (CTD_diseases.tsv) or chemicals file: `#` comment lines, the columns named by its
  `# Fields:` comment, `|`-joined synonyms, alternative ids and parents;
- `scispacy`: a scispacy KnowledgeBase JSONL (concept_id, canonical_name, aliases, types, definition);
- `biosyn`: BioSyn's `id||name` lines, one name a line, the first line of an id giving its name;
- `--columns id=DiseaseID,name=DiseaseName,synonyms=Synonyms:|,...`: the fields id and name (required),
  synonyms, definition, parents, xrefs and types, each from a column (of a header row, or 1-based for a file without
  one), with `:SEP` when the column joins several values.

A term's id becomes a code as an OBO id does (MESH:D003920 -> MSH D003920), and so does a bare id that looks like
one (D003920 -> MSH, C0011849 -> UMLS); its names carry the dictionary's name (the file name, upper-cased) as
their source."""

from __future__ import annotations

import csv
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgbuild.core.errors import UserError, gzip_error
from kgbuild.obo.parser import open_maybe_gzip
from kgbuild.sources import register
from kgbuild.sources.codes import bare_code, id_code, xref_code
from kgbuild.sources.staging import Staged

FIELDS = ("id", "name", "synonyms", "definition", "parents", "xrefs", "types")
_MEDIC = "DiseaseName DiseaseID AltDiseaseIDs Definition ParentIDs TreeNumbers ParentTreeNumbers Synonyms SlimMappings"


@dataclass(frozen=True)
class Column:
    names: tuple[str, ...]  # the column, or alternatives (the first present is read)
    sep: str | None = None  # joins several values in one cell (a JSON list needs none)


@dataclass(frozen=True)
class Layout:
    format: str  # tsv, csv, jsonl, parquet, biosyn
    columns: dict[str, Column] = field(default_factory=dict)
    header: tuple[str, ...] | None = None  # column names when the file has no header row


LAYOUTS = {
    "ctd": Layout(
        "tsv",
        {
            "id": Column(("DiseaseID", "ChemicalID")),
            "name": Column(("DiseaseName", "ChemicalName")),
            "xrefs": Column(("AltDiseaseIDs",), "|"),
            "definition": Column(("Definition",)),
            "parents": Column(("ParentIDs",), "|"),
            "synonyms": Column(("Synonyms",), "|"),
        },
        header=tuple(_MEDIC.split()),
    ),
    "scispacy": Layout(
        "jsonl",
        {
            "id": Column(("concept_id",)),
            "name": Column(("canonical_name",)),
            "synonyms": Column(("aliases",)),
            "types": Column(("types",)),
            "definition": Column(("definition",)),
        },
    ),
    "biosyn": Layout("biosyn"),
}
_SUFFIX_FORMATS = {
    ".tsv": "tsv",
    ".txt": "tsv",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}


def parse_columns(spec: str) -> dict[str, Column]:
    """`id=DiseaseID,name=DiseaseName,synonyms=Synonyms:|` -> the column map; a bad field is a UserError."""
    columns: dict[str, Column] = {}
    for item in filter(None, (part.strip() for part in re.split(r",(?=\s*\w+=)", spec))):
        key, eq, value = item.partition("=")
        if not eq or key not in FIELDS or not value:
            raise UserError(
                f"--columns {item!r}: expected FIELD=COLUMN[:SEP] with FIELD one of {', '.join(FIELDS)}",
                fix="write e.g. --columns id=DiseaseID,name=DiseaseName,synonyms=Synonyms:|",
            )
        column, colon, sep = value.partition(":")
        columns[key] = Column((column,), sep if colon else None)
    missing = [f for f in ("id", "name") if f not in columns]
    if missing:
        raise UserError(f"--columns names no {' or '.join(missing)} column", fix="add id=COLUMN and name=COLUMN")
    return columns


def _format(path: Path) -> str:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    fmt = _SUFFIX_FORMATS.get(suffixes[-1].lower()) if suffixes else None
    if fmt is None:
        raise UserError(
            "cannot tell the dictionary's format from its name",
            path=path,
            fix="name it .tsv, .csv, .jsonl or .parquet (optionally .gz), or give --layout",
        )
    return fmt


def _text(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a text file, gunzipped when it is gzip; bad UTF-8 or gzip is named with its line."""
    number = 0
    with open_maybe_gzip(path) as fh:
        try:
            for number, raw in enumerate(fh, start=1):  # noqa: B007  (the number names a bad gzip block)
                yield number, raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise UserError(f"not UTF-8 text ({exc.reason})", path=path, line=number, fix="save it as UTF-8") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise gzip_error(path, exc, fix="download the dictionary again") from None


def _records(path: Path, layout: Layout) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, record) of each row: a dict from column name (or 1-based position) to its value."""
    if layout.format == "parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise UserError(f"not a readable Parquet file ({exc})", path=path, fix="check the file") from None
        yield from enumerate(table.to_pylist(), start=1)
        return
    if layout.format == "jsonl":
        for number, line in _text(path):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise UserError(
                        f"not a JSON line ({exc})", path=path, line=number, fix="write one JSON object a line"
                    ) from None
        return
    delimiter = "\t" if layout.format == "tsv" else ","
    header = layout.header
    lines = _text(path)
    for number, line in lines:
        if line.startswith("#"):
            if line.strip() == "# Fields:":  # CTD names its columns in the next comment line
                number, line = next(lines, (number, "#"))
                header = tuple(line.lstrip("#").strip().split(delimiter))
            continue
        if not line.strip():
            continue
        cells = next(csv.reader([line], delimiter=delimiter))
        if header is None:
            if any(c.names[0].isdigit() for c in layout.columns.values()):
                header = tuple(str(i) for i in range(1, len(cells) + 1))
            else:
                header = tuple(cells)
                continue
        yield number, dict(zip(header, cells, strict=False))


def _biosyn(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """BioSyn's `id||name` lines grouped by id (a dictionary lists each name of a concept on its own line)."""
    terms: dict[str, dict[str, Any]] = {}
    for number, line in _text(path):
        if not line.strip():
            continue
        term_id, sep, name = line.partition("||")
        if not sep or not term_id or not name:
            raise UserError(
                f"expected 'id||name', found {line[:60]!r}", path=path, line=number, fix="one id||name a line"
            )
        entry = terms.setdefault(term_id, {"line": number, "id": term_id, "name": name, "synonyms": []})
        if name != entry["name"] and name not in entry["synonyms"]:
            entry["synonyms"].append(name)
    for entry in terms.values():
        yield entry["line"], entry


def _values(value: Any, sep: str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v not in (None, "")]
    text = str(value)
    parts = text.split(sep) if sep else [text]
    return [p.strip() for p in parts if p.strip()]


def _resolve(columns: dict[str, Column], record: dict[str, Any], path: Path, line: int) -> dict[str, str]:
    """field -> the column name of this file that gives it; a required column absent is refused."""
    present = record.keys()
    chosen = {}
    for key, column in columns.items():
        name = next((n for n in column.names if n in present), None)
        if name is None and key in ("id", "name"):
            raise UserError(
                f"no {' or '.join(column.names)} column for the {key} (columns: {', '.join(map(str, present))})",
                path=path,
                line=line,
                fix="give the dictionary's layout (--layout ctd|scispacy|biosyn) or map its columns with --columns",
            )
        if name is not None:
            chosen[key] = name
    return chosen


@register
class VocabSource:
    option = "--vocab"
    kind = "vocab"

    def read(self, path: Path, source: int, *, layout: str | None = None, columns: str | None = None) -> Staged:
        if not path.is_file():
            raise UserError("dictionary not found", path=path, fix="give a TSV, CSV, JSONL or Parquet file")
        if layout is not None and layout not in LAYOUTS:
            raise UserError(f"unknown --layout {layout!r}", fix=f"use one of {', '.join(LAYOUTS)}, or --columns")
        if layout is None and columns is None:
            raise UserError(
                "a dictionary needs its layout", path=path, fix="give --layout ctd|scispacy|biosyn or --columns MAP"
            )
        shape = LAYOUTS[layout] if layout else Layout(_format(path), parse_columns(columns or ""))
        records = _biosyn(path) if shape.format == "biosyn" else _records(path, shape)
        spec = {"id": Column(("id",)), "name": Column(("name",)), "synonyms": Column(("synonyms",))}
        spec = spec if shape.format == "biosyn" else shape.columns
        stem = path.name.split(".")[0]  # the dictionary's name: the same for medic.tsv and medic.parquet
        sab = re.sub(r"\W+", "_", stem).upper()
        staged = Staged(source)
        chosen: dict[str, str] | None = None
        seen: dict[str, int] = {}
        dropped = {"rows_without_id_or_name": 0, "xrefs_not_codes": 0}
        for line, record in records:
            chosen = chosen or _resolve(spec, record, path, line)
            get = {key: _values(record.get(col), spec[key].sep) for key, col in chosen.items()}
            term_id, name = (get["id"] or [""])[0], (get["name"] or [""])[0]
            if not term_id or not name:
                dropped["rows_without_id_or_name"] += 1
                continue
            if term_id in seen:
                raise UserError(
                    f"id {term_id} is given twice (first at line {seen[term_id]})",
                    path=path,
                    line=line,
                    fix="one row per concept: join its other names in the synonyms column",
                )
            seen[term_id] = line
            definition = (get.get("definition") or [None])[0]
            staged.add(
                "stg_terms__terms",
                term_id=term_id,
                sab=sab,
                name=name,
                definition=definition,
                position=len(seen) - 1,
            )
            synonyms = [s for s in dict.fromkeys(get.get("synonyms", [])) if s != name]
            for i, text in enumerate(synonyms, start=1):
                staged.add("stg_terms__synonyms", term_id=term_id, i=i, text=text, scope="EXACT", lang="ENG")
            # an id in a code namespace (MESH:D003920) or a bare one that looks like a code is that code, else the
            # dictionary's own code
            code = (id_code(term_id) if ":" in term_id else bare_code(term_id)) or (sab, term_id)
            staged.add("stg_terms__codes", term_id=term_id, sab=code[0], code=code[1], kind="term")
            for xref in get.get("xrefs", []):
                parsed = xref_code(xref) if ":" in xref else bare_code(xref)
                if parsed is None:
                    dropped["xrefs_not_codes"] += 1
                else:
                    staged.add("stg_terms__codes", term_id=term_id, sab=parsed[0], code=parsed[1], kind="xref")
            for parent in get.get("parents", []):
                staged.add("stg_terms__edges", term_id=term_id, relation="is_a", target=parent)
            for tui in get.get("types", []):
                staged.add("stg_terms__types", term_id=term_id, tui=tui, sty=tui)
        if not seen:
            raise UserError(
                "no term to extract: no row with an id and a name",
                path=path,
                fix="check the layout (--layout) or the column map (--columns)",
            )
        staged.add("stg_terms__sources", sab=sab, name=stem, version=None)
        staged.manifest = {
            "kind": self.kind,
            "path": str(path),
            "bytes": path.stat().st_size,
            "rows": len(seen),
            "layout": layout or {"columns": columns},
            "vocabulary": {"name": stem, "version": None, "format_version": None, "licence": None},
            "dropped": dropped,
        }
        return staged
