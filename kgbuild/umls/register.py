"""Register RRF files as DuckDB views `raw_<file>`, read strictly: `|` only, no quoting, no escaping, no sniffing."""

from __future__ import annotations

import re

import duckdb

from kgbuild.errors import UserError
from kgbuild.umls.discover import RrfFile
from kgbuild.umls.layout import COLUMNS


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


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
    paths = ", ".join(_quote(str(p)) for p in f.parts)
    extra_field = _quote(f"EXTRA_FIELD {name}")
    con.execute(
        f"CREATE OR REPLACE VIEW {view} AS "
        f"SELECT * EXCLUDE (_trail) FROM read_csv([{paths}], delim='|', quote='', escape='', header=false, "
        f"auto_detect=false, strict_mode=true, null_padding=false, columns={{{spec}}}) "
        f"WHERE _trail IS NULL OR error({extra_field})"
    )


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_FILE = re.compile(r"^\s*file = (.+)$", re.M)
_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def translate_error(exc: duckdb.Error, files: dict[str, RrfFile]) -> UserError | None:
    """Turn DuckDB's CSV errors into one UserError naming the file, the line and the fix; None if not a CSV error."""
    text = str(exc)
    if "EXTRA_FIELD" in text:
        name = text.split("EXTRA_FIELD ", 1)[1].split()[0].strip("'\"")
        return _find_bad_row(files[name])
    line = _LINE.search(text)
    file = _FILE.search(text)
    if not line:
        return None
    path = file.group(1).strip() if file else "RRF file"
    lineno = int(line.group(1))
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
    import gzip

    expected = len(COLUMNS[f.name]) + 1
    for part in f.parts:
        opener = gzip.open if part.suffix == ".gz" else open
        with opener(part, "rt", encoding="utf-8", newline="") as fh:
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
