"""Register RRF files as DuckDB views `raw_<file>`, read strictly: `|` only, no quoting, no escaping, no sniffing."""

from __future__ import annotations

import re

import duckdb

from kgbuild.core.engine import sql_list, sql_literal
from kgbuild.core.errors import UserError, gzip_error
from kgbuild.umls.discover import RrfFile, open_text
from kgbuild.umls.layout import COLUMNS


def register_raw(con: duckdb.DuckDBPyConnection, name: str, f: RrfFile | None) -> None:
    """Create view raw_<name>: every column VARCHAR, lower-case names; an absent file gives an empty view."""
    cols = COLUMNS[name]
    view = f"raw_{name.lower()}"
    if f is None:
        select = ", ".join(f"NULL::VARCHAR AS {c.lower()}" for c in cols)
        con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT {select} WHERE false")
        return
    # Every row ends with '|', so N columns read as N+1 fields; the last one must be empty.
    spec = ", ".join(f"'{c.lower()}': 'VARCHAR'" for c in cols) + ", '_trail': 'VARCHAR'"
    # literals: a view cannot hold parameters
    paths = sql_list(getattr(p, "url", p) for p in f.parts)  # a zip member has its own URL (release_zip.py)
    extra_field = sql_literal(f"EXTRA_FIELD {name}")
    con.execute(
        f"CREATE OR REPLACE VIEW {view} AS "
        f"SELECT * EXCLUDE (_trail) FROM read_csv({paths}, delim='|', quote='', escape='', header=false, "
        f"auto_detect=false, strict_mode=true, null_padding=false, columns={{{spec}}}) "
        f"WHERE _trail IS NULL OR error({extra_field})"
    )


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_FILE = re.compile(r"^\s*file = (.+)$", re.M)
_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_BAD_VALUE = re.compile(r"BAD_VALUE (?P<name>[A-Z]+) (?P<column>[A-Z]+)")
_GZIP = re.compile(r"(?P<what>Unexpected end of GZIP stream|[^:\n]*GZIP[^:\n]*): (?P<path>[^\n]+)", re.IGNORECASE)
# What a staged column must hold, and the fix when it does not (checked in SQL; the line is found here).
_VALUES = {
    "SRL": (
        lambda v: v == "" or _is_int(v),
        "is not a source restriction level (0-4 or 9); an unreadable level must never pass --max-srl",
        "the file is corrupt: copy it again from the release",
    ),
    "RANK": (
        lambda v: v == "" or _is_int(v),
        "is not a rank (MRRANK ranks are numbers such as 0888)",
        "the file is corrupt: copy MRRANK.RRF again from the release",
    ),
    "STR": (
        lambda v: "\x00" not in v,
        "holds a NUL byte (binary data)",
        "the file is corrupt: copy MRCONSO.RRF again from the release",
    ),
    "DEF": (
        lambda v: "\x00" not in v,
        "holds a NUL byte (binary data)",
        "the file is corrupt: copy MRDEF.RRF again from the release",
    ),
}


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True


def translate_error(exc: duckdb.Error, files: dict[str, RrfFile]) -> UserError | None:
    """Turn DuckDB's CSV errors into one UserError naming the file, the line and the fix; None if not a CSV error."""
    text = str(exc)
    if "EXTRA_FIELD" in text:
        name = text.split("EXTRA_FIELD ", 1)[1].split()[0].strip("'\"")
        return _find_bad_row(files[name])
    bad = _BAD_VALUE.search(text)
    if bad:
        return _find_bad_value(files[bad["name"]], bad["column"])
    shown = {p.url: str(p) for f in files.values() for p in f.parts if hasattr(p, "url")}  # zip members by name
    gz = _GZIP.search(text)
    if gz:
        path = gz["path"].strip()
        return gzip_error(shown.get(path, path), gz["what"], fix="copy or download this part again from the release")
    line = _LINE.search(text)
    file = _FILE.search(text)
    if not line:
        return None
    path = file.group(1).strip() if file else "RRF file"
    path = shown.get(path, path)
    lineno = int(line.group(1))
    if "Maximum line size" in text:
        return UserError(
            "line longer than 2,000,000 bytes (the longest UMLS field is about 11 kB): the file has lost its line "
            "breaks or is not an RRF file",
            path=path,
            line=lineno,
            fix="copy it again from the release (unzipped as-is, without conversion)",
        )
    if "Invalid unicode" in text or "not utf-8" in text:
        return UserError(
            "invalid UTF-8 bytes",
            path=path,
            line=lineno,
            fix="UMLS files are UTF-8: re-extract this file from the release without re-encoding it",
        )
    count = _COUNT.search(text)
    if count:
        expected, found = int(count.group(1)), int(count.group(2))
        return UserError(
            f"row has {found} '|'-separated fields, expected {expected} ({expected - 1} columns and the trailing '|')",
            path=path,
            line=lineno,
            fix="the file is truncated or not in RRF layout: re-extract it from the release",
        )
    return UserError(text.splitlines()[0], path=path, line=lineno, fix="check the file against the RRF layout")


def _find_bad_row(f: RrfFile) -> UserError:
    """Locate the first row with a non-empty field after the last column (only run once an error is known)."""
    expected = len(COLUMNS[f.name]) + 1
    for part in f.parts:
        with open_text(part) as fh:
            for lineno, line in enumerate(fh, 1):
                fields = line.rstrip("\r\n").split("|")
                if len(fields) != expected or fields[-1] != "":
                    return UserError(
                        f"row has {len(fields)} '|'-separated fields with a value after the last "
                        f"column, expected {expected - 1} columns and the trailing '|'",
                        path=part,
                        line=lineno,
                        fix="the file is not in RRF layout: re-extract it from the release",
                    )
    return UserError("row with an extra field", path=f.parts[0], fix="re-extract the file from the release")


def _find_bad_value(f: RrfFile, column: str) -> UserError:
    """Locate the first row whose `column` fails its check (only run once SQL has found one)."""
    index = COLUMNS[f.name].index(column)
    valid, problem, fix = _VALUES[column]
    for part in f.parts:
        with open_text(part) as fh:
            for lineno, line in enumerate(fh, 1):
                fields = line.rstrip("\r\n").split("|")
                if index < len(fields) and not valid(fields[index]):
                    value = fields[index].replace("\x00", "\\0")
                    return UserError(f"{column} {value[:40]!r} {problem}", path=part, line=lineno, fix=fix)
    return UserError(f"a {column} value {problem}", path=f.parts[0], fix=fix)
