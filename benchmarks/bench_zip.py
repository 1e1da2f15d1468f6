"""Benchmark `kgbuild extract --umls RELEASE.zip` (read in place) against the same release unpacked, in one run on
the same synthetic META (benchmarks/synth_meta.py), alternating the two so that machine load hits both alike.

The zip is laid out as NLM ships it (`<release>/META/*.RRF`, deflate). Each extract runs in its own process under
/usr/bin/time; a thread samples the free space of the output's file system every 0.1 s, and the peak extra disk is
the largest drop beyond the final output's size (what the run wrote besides its tables: DuckDB's spill).

Usage: python benchmarks/bench_zip.py [--scale 0.1] [--work DIR] [--repeat 3]
Prints a Markdown table for BENCHMARKS.md and checks that both outputs are row-identical.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

from synth_meta import ensure
from timing import run_timed

from kgbuild.core.tables import differences

HERE = Path(__file__).resolve().parent
PY = sys.executable


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def extract(source: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    start, low, done = _free(out.parent), [_free(out.parent)], threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            low[0] = min(low[0], _free(out.parent))

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        result = run_timed([PY, "-m", "kgbuild", "extract", "--umls", str(source), "--out", str(out), "--no-progress"])
    finally:
        done.set()
        thread.join()
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return result | {"extra_disk_gb": round(max(start - low[0] - written, 0) / 1e9, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--work", type=Path, default=None, help="folder for the synthetic META, zip and outputs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / f"kgbuild-bench-{args.scale}"
    meta = ensure(work / "META", args.scale)
    release = work / "umls-2099AA-metathesaurus-full.zip"
    if not release.exists():
        print(f"zipping {meta} into {release} ...", flush=True)
        with zipfile.ZipFile(release, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(meta.iterdir()):
                zf.write(p, f"2099AA/META/{p.name}")
    for p in [*meta.iterdir(), release]:  # warm the page cache for both contenders alike
        with open(p, "rb") as fh:
            while fh.read(1 << 24):
                pass
    runs: dict[str, list[dict]] = {"folder": [], "zip": []}
    for _ in range(args.repeat):
        runs["folder"].append(extract(meta, work / "kg-folder"))
        runs["zip"].append(extract(release, work / "kg-zip"))
    diff = differences(work / "kg-folder", work / "kg-zip")
    median = {k: sorted(v, key=lambda r: r["wall_s"])[len(v) // 2] for k, v in runs.items()}
    size = lambda p: p.stat().st_size / 1e9  # noqa: E731
    rrf = sum(size(p) for p in meta.iterdir())
    print(f"\nscale {args.scale}: META {rrf:.2f} GB, zip {size(release):.2f} GB; tables identical: {not diff} {diff}")
    print("| input | wall s (median; runs) | peak RSS GB | peak extra disk GB |\n|---|---:|---:|---:|")
    for name, row in median.items():
        walls = ", ".join(str(r["wall_s"]) for r in runs[name])
        extra = max(r["extra_disk_gb"] for r in runs[name])
        print(f"| {name} | {row['wall_s']} ({walls}) | {row['peak_rss_gb']} | {extra} |")
    print(f"zip / folder: {median['zip']['wall_s'] / median['folder']['wall_s']:.2f}x")


if __name__ == "__main__":
    main()
