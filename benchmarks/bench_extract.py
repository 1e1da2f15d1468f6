"""Benchmark `kgbuild extract --umls` against the line-by-line Python peer and the raw parse floor, in one run on
the same synthetic META (benchmarks/synth_meta.py). Each contender runs in its own process under /usr/bin/time.

Usage: python benchmarks/bench_extract.py [--scale 0.1] [--work DIR] [--skip-peer] [--repeat 3]
Prints a Markdown table (wall seconds, peak RSS) for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from synth_meta import ensure
from timing import run_timed

HERE = Path(__file__).resolve().parent
PY = sys.executable

FLOOR_DUCKDB = """
import sys, duckdb
from kgbuild.umls.layout import COLUMNS
meta = sys.argv[1]
con = duckdb.connect()
total = 0
for name in ("MRCONSO", "MRREL", "MRSTY", "MRDEF"):
    spec = ", ".join(f"'{c.lower()}': 'VARCHAR'" for c in COLUMNS[name]) + ", '_trail': 'VARCHAR'"
    total += con.execute(f"SELECT count(*) FROM read_csv('{meta}/{name}.RRF', delim='|', quote='', escape='', "
                         f"header=false, auto_detect=false, strict_mode=true, columns={{{spec}}})").fetchone()[0]
print(total)
"""

FLOOR_POLARS = """
import sys, polars as pl
from kgbuild.umls.layout import COLUMNS
meta = sys.argv[1]
total = 0
for name in ("MRCONSO", "MRREL", "MRSTY", "MRDEF"):
    lf = pl.scan_csv(f"{meta}/{name}.RRF", separator="|", has_header=False, quote_char=None, infer_schema=False,
                     new_columns=[c.lower() for c in COLUMNS[name]] + ["_trail"])
    total += lf.select(pl.len()).collect().item()
print(total)
"""


def timed(cmd: list[str], env: dict | None = None, repeat: int = 1) -> dict:
    """The run with the median wall time of `repeat` runs."""
    runs = sorted((_timed_once(cmd, env) for _ in range(repeat)), key=lambda r: r["wall_s"])
    return runs[len(runs) // 2] | {"runs_wall_s": [r["wall_s"] for r in runs]}


def _timed_once(cmd: list[str], env: dict | None) -> dict:
    r = run_timed(cmd, env=env)
    return r | {"stdout": r["stdout"].strip()[-200:]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--work", type=Path, default=None, help="folder for the synthetic META and outputs")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; the median is reported")
    parser.add_argument("--memory-limit", default="5GB", help="passed to kgbuild extract (its default too)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.gettempdir()) / f"kgbuild-bench-{args.scale}"
    meta = ensure(work / "META", args.scale)
    size_gb = sum(p.stat().st_size for p in meta.iterdir()) / 1e9
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    results = {}
    out = work / "kg"
    shutil.rmtree(out, ignore_errors=True)
    # Read every file once, untimed, so that every contender starts from the same warm page cache.
    for f in meta.iterdir():
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    results["raw parse floor (DuckDB count)"] = timed([PY, "-c", FLOOR_DUCKDB, str(meta)], env)
    results["kgbuild extract"] = timed(
        [
            PY,
            "-m",
            "kgbuild",
            "extract",
            "--umls",
            str(meta),
            "--out",
            str(out),
            "--no-progress",
            "--force",
            "--memory-limit",
            args.memory_limit,
        ],
        env,
        args.repeat,
    )
    results["Polars scan count (line-count fast path, no field parse)"] = timed(
        [PY, "-c", FLOOR_POLARS, str(meta)], env
    )
    if not args.skip_peer:
        peer_out = work / "peer"
        shutil.rmtree(peer_out, ignore_errors=True)
        results["line-by-line Python peer"] = timed(
            [PY, str(HERE / "peer_linewise.py"), str(meta), str(peer_out)], env, args.repeat
        )
    manifest = json.loads((out / "manifest.json").read_text())
    print(
        f"\nscale {args.scale}: {size_gb:.2f} GB of RRF, MRCONSO {manifest['inputs']['files']['MRCONSO']['rows']:,} rows, "
        f"MRREL {manifest['inputs']['files']['MRREL']['rows']:,} rows; {os.cpu_count()} cores\n"
    )
    print("| contender | wall (s) | peak RSS (GB) |\n|---|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['wall_s']} | {r['peak_rss_gb']} |"
            + (f" runs: {r['runs_wall_s']}" if args.repeat > 1 else "")
        )
    ours = results["kgbuild extract"]["wall_s"]
    floor = results["raw parse floor (DuckDB count)"]["wall_s"]  # Polars' count skips the field parse
    line = f"\nkgbuild / floor = {ours / floor:.2f}x"
    if "line-by-line Python peer" in results:
        line += f"; peer / kgbuild = {results['line-by-line Python peer']['wall_s'] / ours:.1f}x"
    print(line)
    print("tables:", json.dumps(manifest["tables"]), "\nsteps (s):", json.dumps(manifest["timings_s"]))
    (work / "bench_extract.json").write_text(
        json.dumps({"scale": args.scale, "results": results, "manifest_timings": manifest["timings_s"]}, indent=2)
    )


if __name__ == "__main__":
    main()
