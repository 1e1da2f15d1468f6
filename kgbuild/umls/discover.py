"""Find each RRF file of a META folder: plain `X.RRF`, split parts `X.RRF.aa, .ab …`, or their `.gz` forms."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

from kgbuild.errors import UserError
from kgbuild.umls.layout import COLUMNS, REQUIRED

_PART = re.compile(r"^(?P<name>[A-Z_]+)\.RRF(?:\.(?P<suffix>[a-z]{2}))?(?P<gz>\.gz)?$")


@dataclass
class RrfFile:
    name: str
    parts: list[Path] = field(default_factory=list)

    @property
    def gzipped(self) -> bool:
        return self.parts[0].suffix == ".gz"

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.parts)


def resolve_meta(path: Path) -> Path:
    """The META folder itself, or a release folder holding META/ (a common way to point at it)."""
    path = Path(path)
    if not path.exists():
        raise UserError(
            "META folder not found", path=path, fix="give the META folder of a UMLS release (it holds MRCONSO.RRF)"
        )
    if not path.is_dir():
        raise UserError("not a folder", path=path, fix="give the META folder of a UMLS release, not a file")
    if not _has(path, "MRCONSO") and (path / "META").is_dir():
        return path / "META"
    return path


def _has(folder: Path, name: str) -> bool:
    return any(_PART.match(p.name) and p.name.startswith(name + ".") for p in folder.iterdir())


def discover(meta: Path) -> dict[str, RrfFile]:
    """Map RRF name → its parts in suffix order. Raises UserError when the folder is not a META."""
    found: dict[str, dict[str, list[Path]]] = {}
    for p in sorted(meta.iterdir()):
        m = _PART.match(p.name)
        if not m or m["name"] not in COLUMNS or not p.is_file():
            continue
        layout = ("split" if m["suffix"] else "whole") + ("-gz" if m["gz"] else "")
        found.setdefault(m["name"], {}).setdefault(layout, []).append(p)
    files: dict[str, RrfFile] = {}
    for name, layouts in found.items():
        # One layout per file: a plain X.RRF wins over leftover parts (users often unzip, then concatenate).
        for preferred in ("whole", "whole-gz", "split", "split-gz"):
            if preferred in layouts:
                files[name] = RrfFile(name, sorted(layouts[preferred]))
                break
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


def is_empty(f: RrfFile) -> bool:
    """True when no part holds a byte (gzipped parts are opened: an empty .gz is not zero bytes long)."""
    for part in f.parts:
        if part.suffix == ".gz":
            with gzip.open(part, "rb") as fh:
                if fh.read(1):
                    return False
        elif part.stat().st_size:
            return False
    return True


def read_mrfiles(files: dict[str, RrfFile]) -> dict[str, int]:
    """Row counts MRFILES.RRF declares, keyed by file name without `.RRF` (e.g. MRCONSO)."""
    if "MRFILES" not in files:
        return {}
    declared: dict[str, int] = {}
    for part in files["MRFILES"].parts:
        opener = gzip.open if part.suffix == ".gz" else open
        with opener(part, "rt", encoding="utf-8", newline="") as fh:
            for lineno, line in enumerate(fh, 1):
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
