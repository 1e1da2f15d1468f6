"""What extract checks about its input before trusting it: the files present against MRFILES, and the filters
against what MRCONSO holds (an option that keeps nothing is named with what the release offers)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, say, silent
from kgbuild.umls.discover import RrfFile
from kgbuild.umls.layout import FILES

if TYPE_CHECKING:
    from kgbuild.umls.extract import ExtractOptions

# What the KG loses without each optional file (the README lists the same).
LOSSES = {
    "MRREL": "no relations",
    "MRSTY": "no semantic types",
    "MRDEF": "no UMLS definitions",
    "MRSAB": "no source names, versions or licence levels from MRSAB (atom SRLs are used)",
    "MRRANK": "preferred names fall back to the atom order when the TS=P/STT=PF/ISPREF=Y atom is filtered out",
    "MRDOC": "no relation labels, built-in REL inverses, no release name",
}


def check_present(
    meta: Path, files: dict[str, RrfFile], declared: dict[str, int], report: Reporter = silent
) -> list[str]:
    """A file MRFILES lists with rows must be here; the optional files absent are named in one warning and
    returned (for the manifest)."""
    for name in FILES:
        if name not in files and declared.get(name):
            raise UserError(
                f"{name}.RRF is missing, but MRFILES.RRF lists it with {declared[name]:,} rows",
                path=meta,
                fix=f"copy {name}.RRF (or its parts) from the release, or delete its line from MRFILES.RRF to "
                "extract without it",
            )
    missing = [name for name in FILES if name not in files]
    if missing:
        say(
            report,
            "extract",
            f"{meta}: optional file(s) absent: "
            + "; ".join(f"{name}.RRF ({LOSSES[name]})" for name in missing)
            + " — recorded in manifest.json",
            "warning",
        )
    return missing


@dataclass(frozen=True)
class _Filter:
    option: str
    keeps: Callable[[tuple], bool]
    offered: str  # what the input offers, named in the message
    column: int  # index of the offered value in an int_atom_counts row
    fix: str = "choose values the release holds (codes are upper case, as in MRCONSO)"


def check_filters(rows: list[tuple], opts: ExtractOptions, mrconso: Path, report: Reporter = silent) -> None:
    """`rows` are int_atom_counts (lang, sab, srl, suppress, n_atoms). Raise when the filters keep no atom, naming
    the first option that keeps nothing and what the input offers; warn about a value that matches nothing."""
    filters = [
        _Filter("--lang " + " --lang ".join(opts.langs), lambda r: r[0] in opts.langs, "languages", 0),
        _Filter("--sab " + " --sab ".join(opts.sabs), lambda r: not opts.sabs or r[1] in opts.sabs, "sources", 1),
        _Filter(
            "--exclude-sab " + " --exclude-sab ".join(opts.exclude_sabs),
            lambda r: r[1] not in opts.exclude_sabs,
            "sources",
            1,
        ),
        _Filter(
            "dropping suppressible atoms (SUPPRESS O/E/Y; --keep-suppressed keeps them)",
            lambda r: opts.keep_suppressed or r[3] not in ("O", "E", "Y"),
            "SUPPRESS values",
            3,
        ),
        _Filter(
            f"--max-srl {opts.max_srl}",
            lambda r: opts.max_srl is None or (r[2] is not None and r[2] <= opts.max_srl),
            "restriction levels",
            2,
        ),
    ]
    left = [r for r in rows if r[4]]
    for f in filters:
        kept = [r for r in left if f.keeps(r)]
        if not kept:
            totals: dict[str, int] = {}
            for r in left:
                key = "(empty)" if r[f.column] in (None, "") else str(r[f.column])
                totals[key] = totals.get(key, 0) + r[4]
            offered = ", ".join(sorted(totals, key=lambda k: (-totals[k], k))[:12]) or "none"
            where = " (after the earlier filters)" if len(left) < len(rows) else ""
            raise UserError(
                f"{f.option} kept 0 of {sum(r[4] for r in left):,} atoms{where}; {f.offered} present: {offered}",
                path=mrconso,
                fix=f.fix,
            )
        left = kept
    present = {"--lang": {r[0] for r in rows}, "--sab": {r[1] for r in rows}, "--exclude-sab": {r[1] for r in rows}}
    for option, values in (("--lang", opts.langs), ("--sab", opts.sabs), ("--exclude-sab", opts.exclude_sabs)):
        unknown = [v for v in values if v not in present[option]]
        if unknown:
            offered = ", ".join(sorted(v for v in present[option] if v)[:12])
            say(
                report,
                "extract",
                f"{option} {', '.join(unknown)} matches no atom in {mrconso.name} (present: {offered})",
                "warning",
            )
