"""Find each RRF file of a META folder: plain `X.RRF`, split parts `X.RRF.aa, .ab …`, or their `.gz` forms."""

from __future__ import annotations

import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from kgbuild.core.errors import UserError, gzip_error
from kgbuild.umls.layout import COLUMNS, REQUIRED
from kgbuild.umls.release_zip import ZipMember, ZipMeta, open_release

_PART = re.compile(r"^(?P<name>[A-Z_]+)\.RRF(?:\.(?P<suffix>(?!gz$)[a-z]{2}))?(?P<gz>\.gz)?$")


Part = Path | ZipMember  # a file of the META folder, or a member of the release zip
Meta = Path | ZipMeta


@dataclass
class RrfFile:
    name: str
    parts: list[Part] = field(default_factory=list)

    @property
    def gzipped(self) -> bool:
        return self.parts[0].suffix == ".gz"

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.parts)


def resolve_meta(path: Path) -> Meta:
    """The META folder itself, a release folder holding META/ (a common way to point at it), or the release zip as
    NLM ships it (read in place)."""
    path = Path(path)
    if not path.exists():
        raise UserError(
            "META folder not found", path=path, fix="give the META folder of a UMLS release (it holds MRCONSO.RRF)"
        )
    if path.is_file() and zipfile.is_zipfile(path):
        return open_release(path)
    if not path.is_dir():
        raise UserError(
            "--umls is a file, not a folder or a zip",
            path=path,
            fix="give the META folder of a UMLS release, or the release zip as downloaded",
        )
    if not _has(path, "MRCONSO") and (path / "META").is_dir():
        return path / "META"
    return path


def _has(folder: Path, name: str) -> bool:
    return any(_PART.match(p.name) and p.name.startswith(name + ".") for p in folder.iterdir())


def _suffix_name(index: int) -> str:
    """0 -> 'aa', 1 -> 'ab', 26 -> 'ba': the suffixes `split` gives the parts of a large file."""
    return chr(ord("a") + index // 26) + chr(ord("a") + index % 26)


def _one_layout(name: str, layouts: dict[str, list[Path]]) -> list[Path]:
    """The parts of one file; a choice between two forms, or a gap in the parts, is refused rather than guessed."""
    if len(layouts) > 1:
        shown = "; ".join(
            ", ".join(p.name for p in paths[:3]) + (" …" if len(paths) > 3 else "") for paths in layouts.values()
        )
        raise UserError(
            f"{name}.RRF is present in {len(layouts)} forms ({shown}): which one to read is ambiguous",
            path=layouts[next(iter(layouts))][0].parent,
            fix=f"keep one form of {name}.RRF in META (the whole file, or all of its parts, plain or all .gz) "
            "and move the others out",
        )
    layout, paths = next(iter(layouts.items()))
    paths = sorted(paths)
    if layout.startswith("split"):
        suffixes = [_PART.match(p.name)["suffix"] for p in paths]
        expected = [_suffix_name(i) for i in range(len(suffixes))]
        if suffixes != expected:
            gz = ".gz" if layout.endswith("gz") else ""
            missing = next(
                f"{name}.RRF.{e}{gz}" for e in [*expected, _suffix_name(len(expected))] if e not in suffixes
            )
            raise UserError(
                f"the split parts of {name}.RRF are incomplete: found {', '.join(p.name for p in paths)}; "
                f"{missing} is missing",
                path=paths[0].parent,
                fix="copy every part from the release (they are line splits of one file, read .aa, .ab, … in order)",
            )
    for part in paths:
        _check_readable(part)
    return paths


def _check_readable(part: Part) -> None:
    """Open each part before DuckDB does: a directory, a dangling link, a locked file or a .gz that is not gzip is
    named here, with its fix, instead of failing deep in a query."""
    if isinstance(part, Path) and not part.is_file():
        raise UserError(
            "not a regular file (a folder, or a link to nothing)",
            path=part,
            fix="replace it with the file from the release",
        )
    try:
        with open_part(part, gunzip=False) as fh:
            head = fh.read(2)
    except OSError as exc:
        raise UserError(
            f"cannot read the file ({exc.strerror})",
            path=part,
            fix="make it readable (check its permissions), or copy it again from the release",
        ) from None
    if part.suffix == ".gz" and head and head != b"\x1f\x8b":
        raise UserError(
            f"named .gz but not gzip-compressed (it starts with {head!r})",
            path=part,
            fix=f"rename it to {part.name.removesuffix('.gz')} if it is plain text, or copy the .gz from the release "
            "again",
        )


def discover(meta: Meta) -> dict[str, RrfFile]:
    """Map RRF name → its parts in suffix order. Raises UserError when the folder is not a META, when a file is
    present in two forms (X.RRF beside X.RRF.aa, plain parts beside .gz ones) or when its parts have a gap."""
    found: dict[str, dict[str, list[Path]]] = {}
    for p in sorted(meta.iterdir()):
        m = _PART.match(p.name)
        if not m or m["name"] not in COLUMNS:
            continue
        layout = ("split" if m["suffix"] else "whole") + ("-gz" if m["gz"] else "")
        found.setdefault(m["name"], {}).setdefault(layout, []).append(p)
    files = {name: RrfFile(name, _one_layout(name, layouts)) for name, layouts in found.items()}
    for name in REQUIRED:
        if name not in files:
            rrfs = sorted(p.name for p in meta.iterdir() if ".RRF" in p.name)[:5]
            hint = f" (found {', '.join(rrfs)})" if rrfs else " (no .RRF file at all: this is not a META folder)"
            raise UserError(
                f"{name}.RRF not found{hint}",
                path=meta,
                fix="point --umls at the META folder of the release: MRCONSO.RRF, or MRCONSO.RRF.aa[.gz] parts",
            )
    return files


def open_part(part: Part, *, gunzip: bool = True) -> io.BufferedIOBase:
    """A part's bytes, from the folder or streamed from the release zip; a .gz part gunzipped unless asked not to."""
    raw = part.open() if isinstance(part, ZipMember) else open(part, "rb")
    return gzip.GzipFile(fileobj=raw) if gunzip and part.suffix == ".gz" else raw


def open_text(part: Part) -> io.TextIOWrapper:
    """A part as UTF-8 text, line endings kept (the readers that name a bad line count them)."""
    return io.TextIOWrapper(open_part(part), encoding="utf-8", newline="")


def _gzip_error(part: Part, exc: Exception) -> UserError:
    return gzip_error(part, exc, fix="copy or download this part again from the release")


def is_empty(f: RrfFile) -> bool:
    """True when no part holds a byte (gzipped parts are opened: an empty .gz is not zero bytes long)."""
    for part in f.parts:
        if part.suffix == ".gz":
            try:
                with open_part(part) as fh:
                    if fh.read(1):
                        return False
            except (OSError, EOFError, zlib.error) as exc:
                raise _gzip_error(part, exc) from None
        elif part.stat().st_size:
            return False
    return True


def read_mrfiles(files: dict[str, RrfFile]) -> dict[str, int]:
    """Row counts MRFILES.RRF declares, keyed by file name without `.RRF` (e.g. MRCONSO)."""
    if "MRFILES" not in files:
        return {}
    declared: dict[str, int] = {}
    for part in files["MRFILES"].parts:
        with open_text(part) as fh:
            for lineno, line in enumerate(_lines(fh, part), 1):
                fields = line.rstrip("\r\n").split("|")
                if len(fields) < 6 or not fields[4].isdigit():
                    raise UserError(
                        "malformed MRFILES row (expected FIL|DES|FMT|CLS|RWS|BTS|)",
                        path=part,
                        line=lineno,
                        fix="restore MRFILES.RRF from the release, or remove it to skip the count check",
                    )
                if fields[0].endswith(".RRF") and "/" not in fields[0]:
                    declared[fields[0].removesuffix(".RRF")] = int(fields[4])
    return declared


def _lines(fh, part: Path):
    try:
        yield from fh
    except (OSError, EOFError, zlib.error) as exc:
        raise _gzip_error(part, exc) from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"invalid UTF-8 bytes ({exc.reason})",
            path=part,
            fix="UMLS files are UTF-8: copy this file again from the release without re-encoding it",
        ) from None
