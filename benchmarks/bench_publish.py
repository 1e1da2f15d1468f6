"""Benchmark `kgbuild publish --dry-run` (check, shard, card, verify) on a synthetic KG, against the peer that does
the same local work with `datasets` (what `Dataset.push_to_hub` does before sending: load the Parquet files into an
Arrow cache, then `shard(contiguous=True).to_parquet` per shard). Each contender runs in its own process under
/usr/bin/time, on the same KG in the same run.

Usage: python benchmarks/bench_publish.py [--concepts 500000] [--work DIR] [--shard-mb 64]
Prints a Markdown table (wall seconds, peak RSS) for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from timing import run_timed

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

SYNTH = """
import sys, duckdb
from pathlib import Path
from kgbuild.core.manifest import write_manifest
out, n = Path(sys.argv[1]), int(sys.argv[2])
out.mkdir(parents=True)
con = duckdb.connect()
def copy(name, sql):
    con.execute(f"COPY ({sql}) TO '{out / (name + '.parquet')}' (FORMAT parquet, COMPRESSION zstd)")
cui = "'C' || lpad(i::VARCHAR, 7, '0')"
copy("concepts", f"SELECT {cui} AS cui, 'concept ' || md5(i::VARCHAR)[:14] AS preferred_name, ['Disease or Syndrome'] AS "
     "semantic_types, 3::BIGINT AS n_names, i % 2 = 0 AS has_definition FROM range(1, $n + 1) t(i)".replace("$n", str(n)))
copy("names", f"SELECT {cui} AS cui, 'A' || (i * 3 + k) AS aui, 'name ' || md5((i * 3 + k)::VARCHAR)[:10] || ' ' || md5((i * 7 + k)::VARCHAR)[:8] AS name, "
     "'ENG' AS lang, 'MSH' AS sab, CASE WHEN k = 0 THEN 'MH' ELSE 'ET' END AS tty, k = 0 AS is_preferred, "
     "'N' AS suppress, 0::INTEGER AS srl FROM range(1, $n + 1) t(i), range(3) r(k)".replace("$n", str(n)))
copy("definitions", f"SELECT {cui} AS cui, 'AT' || i AS source_id, 'MSH' AS sab, 'A synthetic definition: ' || "
     "md5(i::VARCHAR) || ' ' || md5((i + 1)::VARCHAR)[:20] || ' ' || md5((i + 2)::VARCHAR) AS definition, 'umls' AS origin "
     "FROM range(1, $n + 1, 2) t(i)".replace("$n", str(n)))
copy("relations", f"SELECT {cui} AS head_cui, 'isa' AS relation, 'CHD' AS rel, 'C' || lpad(((i + k) % $n + 1)::VARCHAR, "
     "7, '0') AS tail_cui, 'MSH' AS sab FROM range(1, $n + 1) t(i), range(1, 4) r(k) "
     "WHERE (i + k) % $n + 1 <> i".replace("$n", str(n)))
copy("relation_labels", "SELECT 'isa' AS relation, 'is a' AS label, 'inverse_isa' AS inverse, 1::BIGINT AS n_edges")
copy("semantic_types", f"SELECT {cui} AS cui, 'T047' AS tui, 'Disease or Syndrome' AS sty, 'B2.2.1.2.1' AS stn "
     "FROM range(1, $n + 1) t(i)".replace("$n", str(n)))
copy("sources", "SELECT 'MSH' AS sab, 'MeSH' AS name, '2025' AS version, 'ENG' AS lang, 0::INTEGER AS srl, "
     f"{3 * n}::BIGINT AS n_atoms")
write_manifest(out, command="extract --umls", inputs={}, parameters={"langs": ["ENG"]}, tables={}, timings={},
               extra={"release": {"name": "SYNTH"}})
"""

OURS_SHARDS = """
import sys
from pathlib import Path
from kgbuild.core.contracts import table_files
from kgbuild.publish.stage import write_shards
kg, out, shard = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
for t in ("concepts", "names", "definitions", "relations", "semantic_types"):
    n, paths = write_shards(table_files(kg, t), out / t, shard_bytes=shard)
    print(t, n, len(paths))
"""

PEER_DATASETS = """
import math, sys
from pathlib import Path
from datasets import Dataset
kg, out, shard, cache = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for t in ("concepts", "names", "definitions", "relations", "semantic_types"):
    src = kg / f"{t}.parquet"
    ds = Dataset.from_parquet(str(src), cache_dir=cache)
    n = max(1, math.ceil(src.stat().st_size / shard))
    (out / t).mkdir(parents=True)
    for i in range(n):
        ds.shard(num_shards=n, index=i, contiguous=True).to_parquet(str(out / t / f"train-{i:05d}-of-{n:05d}.parquet"))
    print(t, ds.num_rows, n)
"""


def timed(cmd: list[str]) -> dict:
    r = run_timed(cmd, cwd=ROOT)
    return {"wall_s": r["wall_s"], "peak_rss_gb": r["peak_rss_gb"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concepts", type=int, default=500_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--shard-mb", type=int, default=64)
    args = parser.parse_args()
    work = (args.work or Path(tempfile.mkdtemp(prefix="bench-publish-"))).resolve()
    shutil.rmtree(work / "kg", ignore_errors=True)
    for sub in ("stage", "ours", "peer", "cache"):
        shutil.rmtree(work / sub, ignore_errors=True)
    shard = args.shard_mb * 1024 * 1024
    timed([PY, "-c", SYNTH, str(work / "kg"), str(args.concepts)])
    size = sum(p.stat().st_size for p in (work / "kg").glob("*.parquet"))
    rows = {}
    import pyarrow.parquet as pq

    for p in sorted((work / "kg").glob("*.parquet")):
        rows[p.stem] = pq.ParquetFile(p).metadata.num_rows
    print(
        f"KG: {args.concepts:,} concepts, {sum(rows.values()):,} rows, {size / 1e6:.0f} MB Parquet; "
        f"shards of {args.shard_mb} MB",
        file=sys.stderr,
    )
    results = {
        "kgbuild publish --dry-run (check + shard + card + verify)": timed(
            [
                PY,
                "-m",
                "kgbuild",
                "publish",
                str(work / "kg"),
                "--repo-id",
                "bench/kg",
                "--dry-run",
                "--stage-dir",
                str(work / "stage"),
            ]
        ),
        "write_shards only (kgbuild)": timed(
            [PY, "-c", OURS_SHARDS, str(work / "kg"), str(work / "ours"), str(shard)]
        ),
        "peer: datasets from_parquet + shard().to_parquet": timed(
            [PY, "-c", PEER_DATASETS, str(work / "kg"), str(work / "peer"), str(shard), str(work / "cache")]
        ),
    }
    print(f"| contender ({args.concepts:,} concepts, {sum(rows.values()):,} rows) | wall s | peak RSS GB |")
    print("|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['wall_s']} | {r['peak_rss_gb']} |")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
