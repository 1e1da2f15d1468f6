"""Benchmark `kgbuild build-pairs` on a synthetic KG at UMLS scale, written directly as Parquet.

At scale 1.0: 3.8M concepts, ~10M names, 63M relations, 0.47M definitions (UMLS 2025AA orders of magnitude),
with realistic mixes: 1-2 semantic types per concept, 75% English names, a few hundred concepts with hundreds of
names, hierarchical / narrower / RELA / synonymy edges, many-to-one attribute relations (finding sites, ...).

Usage:
    python benchmarks/bench_pairs.py --scale 0.1 --workdir /path/with/space [--threads N] [--memory-limit 4GB]

Each measured step runs in a child process; wall time and peak RSS (ru_maxrss of the child) are printed as a
Markdown table. The peer, measured in the same run on the same files, is a plain DuckDB scan that reads every
column build-pairs reads once (a floor for any build over these inputs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SEMANTIC_TYPES = [
    "Disease or Syndrome",
    "Pharmacologic Substance",
    "Organic Chemical",
    "Finding",
    "Body Part, Organ, or Organ Component",
    "Therapeutic or Preventive Procedure",
    "Injury or Poisoning",
    "Neoplastic Process",
    "Amino Acid, Peptide, or Protein",
    "Clinical Drug",
    "Eukaryote",
    "Laboratory Procedure",
    "Sign or Symptom",
    "Gene or Genome",
    "Bacterium",
    "Congenital Abnormality",
    "Mental or Behavioral Dysfunction",
    "Diagnostic Procedure",
    "Medical Device",
    "Cell",
]
# (relation, rel, inverse, share of edges, which end is drawn from a small pool: many-to-one attributes, stored
# the way extract stores them, e.g. "femur finding_site_of femur fracture" has the site (few) as head)
RELATIONS = [
    ("isa", "CHD", "inverse_isa", 0.16, None),
    ("CHD", "CHD", "PAR", 0.08, None),
    ("RN", "RN", "RB", 0.12, None),
    ("RO", "RO", "RO", 0.08, None),
    ("finding_site_of", "RO", "has_finding_site", 0.06, "head"),
    ("associated_morphology_of", "RO", "has_associated_morphology", 0.04, "head"),
    ("ingredient_of", "RO", "has_ingredient", 0.05, "head"),
    ("tradename_of", "RO", "has_tradename", 0.03, None),
    ("part_of", "RO", "has_part", 0.04, "tail"),
    ("may_treat", "RO", "may_be_treated_by", 0.03, None),
    ("method_of", "RO", "has_method", 0.03, "head"),
    ("mapped_to", "RO", "mapped_from", 0.04, None),
    ("translation_of", "SY", "has_translation", 0.06, None),
    ("RQ", "RQ", "RQ", 0.06, None),
    ("SY", "SY", "SY", 0.05, None),
    ("classified_as", "RN", "classifies", 0.07, "tail"),
]
WORDS = (
    "acute chronic left right upper lower fracture femur tibia lesion syndrome disease carcinoma benign "
    "malignant infection bacterial viral tablet oral injection mg dose procedure biopsy repair excision "
    "artery vein nerve muscle bone skin liver renal cardiac pulmonary congenital deficiency protein receptor "
    "kinase inhibitor antibody gene mutation type structure disorder pain swelling"
).split()


def generate(kg: Path, scale: float) -> dict[str, int]:
    """Write the synthetic KG tables with DuckDB; deterministic (hash-based) for a scale."""
    n_concepts, n_names = int(3_800_000 * scale), int(10_000_000 * scale)
    n_rel, n_defs = int(63_000_000 * scale), int(470_000 * scale)
    kg.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.sql("SET preserve_insertion_order = false")
    con.execute("CREATE TABLE words AS SELECT unnest(?::VARCHAR[]) AS w", [list(WORDS)])
    con.execute("CREATE TABLE stys AS SELECT unnest(?::VARCHAR[]) AS sty", [SEMANTIC_TYPES])
    con.sql(f"CREATE MACRO pick(i, salt) AS (SELECT list(w)[1 + (hash(i, salt) % {len(WORDS)})::INT] FROM words)")
    con.sql(
        "CREATE MACRO phrase(i, salt) AS (WITH w AS (SELECT list(w) AS l FROM words) SELECT "
        f"l[1 + (hash(i, salt, 1) % {len(WORDS)})::INT] || ' ' || l[1 + (hash(i, salt, 2) % {len(WORDS)})::INT]"
        f" || ' ' || l[1 + (hash(i, salt, 3) % {len(WORDS)})::INT] || ' ' || (i % 100003)::VARCHAR FROM w)"
    )
    con.sql(f"""CREATE TABLE concepts AS SELECT printf('C%07d', i) AS cui, phrase(i, 'p') AS preferred_name,
        list_distinct([(SELECT list(sty) FROM stys)[1 + (hash(i, 's1') % {len(SEMANTIC_TYPES)})::INT],
                       (SELECT list(sty) FROM stys)[1 + (hash(i, 's2') % {len(SEMANTIC_TYPES) * 3})::INT]])
                       .list_filter(lambda x: x IS NOT NULL).list_sort() AS semantic_types,
        0::BIGINT AS n_names, false AS has_definition FROM range({n_concepts}) t(i)""")
    # names: one preferred English name per concept, then synonyms; 2% of synonyms go to 1000 very large concepts
    extra = n_names - n_concepts
    con.sql(f"""CREATE TABLE names AS
        SELECT printf('C%07d', i) AS cui, 'A' || i AS aui, c.preferred_name AS name, 'ENG' AS lang,
               'MTH' AS sab, 'PN' AS tty, true AS is_preferred, 'N' AS suppress, 0::INTEGER AS srl
        FROM range({n_concepts}) t(i) JOIN concepts c ON c.cui = printf('C%07d', i)
        UNION ALL
        SELECT printf('C%07d', CASE WHEN hash(j, 'big') % 50 = 0 THEN hash(j, 'bc') % 1000
                                    ELSE hash(j, 'c') % {n_concepts} END) AS cui,
               'A' || ({n_concepts} + j) AS aui,
               CASE WHEN hash(j, 'v') % 10 = 0 THEN upper(phrase(j, 'n')) ELSE phrase(j, 'n') END AS name,
               CASE WHEN hash(j, 'l') % 4 = 0 THEN ['SPA', 'FRE', 'GER', 'DUT'][1 + (hash(j, 'll') % 4)::INT]
                    ELSE 'ENG' END AS lang,
               ['SNOMEDCT_US', 'MSH', 'NCI', 'RXNORM', 'MEDDRA', 'LNC'][1 + (hash(j, 'sab') % 6)::INT] AS sab,
               ['PT', 'SY', 'ET', 'AB', 'FN', 'MH'][1 + (hash(j, 'tty') % 6)::INT] AS tty,
               false AS is_preferred,
               CASE WHEN hash(j, 'sup') % 20 = 0 THEN 'O' ELSE 'N' END AS suppress,
               (hash(j, 'srl') % 4)::INTEGER AS srl
        FROM range({max(extra, 0)}) t(j)""")
    # is_preferred: exactly one per (cui, lang); non-English languages get their first atom
    con.sql("""CREATE TABLE names2 AS SELECT cui, aui, name, lang, sab, tty,
        is_preferred OR (lang <> 'ENG' AND row_number() OVER (PARTITION BY cui, lang ORDER BY aui) = 1)
            AS is_preferred,
        suppress, srl FROM names""")
    con.sql(f"""CREATE TABLE definitions AS SELECT printf('C%07d', hash(k, 'dc') % {n_concepts}) AS cui,
        'AT' || k AS source_id, ['MSH', 'NCI', 'CSP', 'MEDLINEPLUS'][1 + (hash(k, 'ds') % 4)::INT] AS sab,
        'A ' || phrase(k, 'd1') || ' that ' || phrase(k, 'd2') || ' and ' || phrase(k, 'd3') || ' in the '
            || phrase(k, 'd4') || ', characterised by ' || phrase(k, 'd5') || ' of ' || phrase(k, 'd6') || '.'
            AS definition, 'umls' AS origin
        FROM range({n_defs}) t(k)""")
    con.sql(
        "CREATE TABLE defs AS SELECT * FROM definitions QUALIFY row_number() OVER (PARTITION BY cui, source_id) = 1"
    )
    rel_rows, cum = [], 0.0
    for relation, rel, inverse, share, pooled in RELATIONS:
        rel_rows.append((relation, rel, inverse, cum, cum + share, pooled or ""))
        cum += share
    con.execute(
        "CREATE TABLE rel_mix AS SELECT * FROM (SELECT unnest(?::VARCHAR[]) r, unnest(?::VARCHAR[]) rl, "
        "unnest(?::VARCHAR[]) inv, unnest(?::DOUBLE[]) lo, unnest(?::DOUBLE[]) hi, unnest(?::VARCHAR[]) m)",
        [list(x) for x in zip(*rel_rows, strict=True)],
    )
    pool = max(n_concepts // 20, 10)
    con.sql(f"""CREATE TABLE relations AS
        WITH draws AS (SELECT e, (hash(e, 'mix') % 1000000) / 1000000.0 AS u, hash(e, 'h') % {n_concepts} AS h,
                              hash(e, 't') AS t FROM range({n_rel}) r(e))
        SELECT printf('C%07d', CASE WHEN m.m = 'head' THEN d.h % {pool} ELSE d.h END) AS head_cui,
               m.r AS relation, m.rl AS rel,
               printf('C%07d', CASE WHEN m.m = 'tail' THEN d.t % {pool} ELSE d.t % {n_concepts} END) AS tail_cui,
               ['SNOMEDCT_US', 'MSH', 'NCI', 'RXNORM', 'MTH'][1 + (hash(d.e, 'rs') % 5)::INT] AS sab
        FROM draws d JOIN rel_mix m ON d.u >= m.lo AND d.u < m.hi""")
    con.sql("""CREATE TABLE relation_labels AS SELECT r.relation,
        upper(r.relation[1]) || replace(r.relation[2:], '_', ' ') AS label,
        m.inv AS inverse, count(*)::BIGINT AS n_edges FROM relations r JOIN rel_mix m ON m.r = r.relation
        GROUP BY r.relation, m.inv""")
    con.sql("""CREATE TABLE concepts2 AS SELECT c.cui, c.preferred_name, c.semantic_types,
        coalesce(n.k, 1)::BIGINT AS n_names, d.cui IS NOT NULL AS has_definition FROM concepts c
        LEFT JOIN (SELECT cui, count(*) k FROM names2 GROUP BY cui) n ON n.cui = c.cui
        LEFT JOIN (SELECT DISTINCT cui FROM defs) d ON d.cui = c.cui""")
    counts = {}
    for table, source in (
        ("concepts", "concepts2"),
        ("names", "names2"),
        ("definitions", "defs"),
        ("relations", "relations"),
        ("relation_labels", "relation_labels"),
    ):
        con.sql(f"COPY {source} TO '{(kg / f'{table}.parquet').as_posix()}' (FORMAT parquet, COMPRESSION zstd)")
        counts[table] = con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
    return counts


def measure(args: list[str]) -> tuple[float, float, float]:
    """Run a child process; return wall seconds, its peak RSS in GiB and its CPU seconds (user + system).

    CPU seconds are reported beside wall time because this machine's cores are shared: wall time grows with the
    load average, CPU time much less."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{proc.stderr[-3000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the max over all waited-for children: the peer (small) runs first
    return wall, max(usage.ru_maxrss, before) / 1024 / 1024, usage.ru_utime + usage.ru_stime - cpu_before


PEER = """
import sys, duckdb
con = duckdb.connect(); kg = sys.argv[1]
con.sql(f"SET memory_limit = '{sys.argv[2]}'")
for table, cols in (("concepts", "cui, preferred_name, semantic_types"), ("names", "cui, name, lang, tty, suppress"),
                    ("definitions", "cui, definition"), ("relations", "head_cui, relation, rel, tail_cui")):
    exprs = ", ".join(f"sum(length({c}::VARCHAR))" for c in cols.split(", "))
    con.execute(f"SELECT {exprs} FROM read_parquet('{kg}/{table}.parquet')").fetchall()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic KG and the output")
    args = parser.parse_args()
    kg, out = args.workdir / f"kg-{args.scale:g}", args.workdir / f"pairs-{args.scale:g}"
    if not (kg / "relation_labels.parquet").exists():
        t0 = time.perf_counter()
        counts = generate(kg, args.scale)
        print(f"generated {counts} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    size = sum(p.stat().st_size for p in kg.glob("*.parquet")) / 1024**3
    shutil.rmtree(out, ignore_errors=True)
    peer_wall, peer_rss, peer_cpu = measure([sys.executable, "-c", PEER, str(kg), args.memory_limit])
    wall, rss, cpu = measure(
        [
            sys.executable,
            "-m",
            "kgbuild",
            "build-pairs",
            "--kg",
            str(kg),
            "--out",
            str(out),
            "--memory-limit",
            args.memory_limit,
        ]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    rows = manifest["inputs"]["kg"]["rows"]
    print(
        "| scale | concepts | names | relations | definitions | input Parquet | build-pairs wall | CPU | peak RSS | "
        "peer scan wall | CPU | peak RSS | pairs | descriptions | linking |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.scale:g} | {rows['concepts']:,} | {rows['names']:,} | {rows['relations']:,} | "
        f"{rows['definitions']:,} | {size:.2f} GiB | {wall:.0f} s | {cpu:.0f} s | {rss:.2f} GiB | "
        f"{peer_wall:.0f} s | {peer_cpu:.0f} s | {peer_rss:.2f} GiB | {manifest['tables']['pairs']:,} | "
        f"{manifest['tables']['descriptions']:,} | {manifest['tables']['linking']:,} |"
    )
    print("step timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in manifest["timings_s"].items()))
    print(f"cpu cores: {os.cpu_count()}, load average after the run: {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
