"""Benchmark `kgbuild build-pairs --parallel-lang` on a synthetic META (benchmarks/synth_meta.py) extracted with every
language it writes: the parallel table's rows per language and kind, and the time build-pairs takes with and without
the parallel table, each in a child process.

Usage:
    python benchmarks/bench_parallel.py --scale 0.05 --workdir /path/with/space

Prints a Markdown table. The META is generated once into WORKDIR/meta-SCALE (kept for reruns).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from synth_meta import SABS  # noqa: E402


def run(args: list[str]) -> float:
    """Wall seconds of one kgbuild command in a child process."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "kgbuild", *args],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--workdir", type=Path, required=True)
    opts = parser.parse_args()
    work = opts.workdir
    meta = work / f"meta-{opts.scale}"
    if not meta.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "synth_meta.py"), str(meta), "--scale", str(opts.scale)],
            check=True,
        )
    langs = list(dict.fromkeys(lat for _, lat, _, _ in SABS))  # every language synth_meta writes, ENG first
    kg = work / f"kg-{opts.scale}"
    wall_x = run(
        [
            "extract",
            "--umls",
            str(meta),
            "--out",
            str(kg),
            "--force",
            "--quiet",
            *[a for lang in langs for a in ("--lang", lang)],
        ]
    )
    base = ["build-pairs", "--kg", str(kg), "--force"]
    wall_p = run([*base, "--out", str(work / "pairs")])
    others = [lang for lang in langs if lang != "ENG"]
    wall_m = run([*base, "--out", str(work / "pairs-ml"), *[a for lang in others for a in ("--parallel-lang", lang)]])
    manifest = json.loads((work / "pairs-ml" / "manifest.json").read_text())
    rows = manifest["inputs"]["kg"]["rows"]
    print(
        f"scale {opts.scale}: extract --lang {' --lang '.join(langs)}: {wall_x:.1f} s; "
        f"names {rows['names']:,}, concepts {rows['concepts']:,}"
    )
    print()
    print("| build-pairs | wall |")
    print("|---|---:|")
    print(f"| without --parallel-lang | {wall_p:.1f} s |")
    print(f"| --parallel-lang {' '.join(others)} | {wall_m:.1f} s |")
    steps = manifest["timings_s"]
    print(
        "\nparallel steps inside the second run: "
        + ", ".join(f"{s} {steps[s]:.1f} s" for s in ("int_parallel_names", "parallel", "crosslingual_linking"))
    )
    print()
    print(
        "| language | parallel rows | name | definition | concepts | train / dev / test rows | XL linking dev / test |"
    )
    print("|---|---:|---:|---:|---:|---|---|")
    for lang, block in manifest["parallel"].items():
        splits = block["splits"]
        print(
            f"| {lang} | {block['rows']:,} | {block['kinds'].get('name', 0):,} | "
            f"{block['kinds'].get('definition', 0):,} | {block['concepts']:,} | "
            f"{splits.get('train', 0):,} / {splits.get('dev', 0):,} / {splits.get('test', 0):,} | "
            f"{block['linking'].get('dev', 0):,} / {block['linking'].get('test', 0):,} |"
        )


if __name__ == "__main__":
    main()
