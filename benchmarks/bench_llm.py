"""Benchmark of `kgbuild generate-definitions` against a loopback OpenAI-compatible server that answers instantly.

Measures (each job in its own process, the fake server in another):
  1. completions per second of the client at 64, 128 and 256 in flight, and the peer: the bare openai SDK
     (AsyncOpenAI + a semaphore, no cache, checks, limits or Parquet) against the same server;
  2. peak RSS of a full job over a synthetic KG of --concepts concepts (default 400k), sampled as the job runs,
     so one can see it stay flat; the peer is the same process after a 1k-concept job;
  3. a fully cached rerun of that job: wall time and the requests the server received (must be 0);
  4. money and fast failure (`--safety`): the share of a --budget-usd a run uses against the faithful server
     (a budget worth 90% of the job's cost, the job's real cost measured in the same run by an unbudgeted run of the
     same requests), online and with --batch, and the attempts and seconds before the circuit breaker stops a run
     against a dead server (a loopback port with nothing listening) at 64 in flight.

Throughput points are repeated (`--repeats`, default 3), kgbuild and the bare SDK alternating (which goes first
alternates too), so that a machine whose load drifts treats both alike; the table gives the medians.

Usage (from the repository root):
    python benchmarks/bench_llm.py --concepts 400000 --throughput-concepts 20000 --workdir bench-llm
Writes a JSON report to WORKDIR/report.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "kgbuild" / "llm" / "llm_fake_server.py"


def make_kg(folder: Path, n: int) -> Path:
    """A synthetic KG shaped like UMLS: 3 English names, 1-2 semantic types, an isa parent and 2 other relations
    per concept; 5% of the concepts have a definition (they are skipped)."""
    import duckdb

    if (folder / "concepts.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.sql(f"""create table concepts as select
        'C' || lpad(i::VARCHAR, 7, '0') as cui, 'Disorder number ' || i::VARCHAR || ' of organ ' || (i % 997)::VARCHAR
        as preferred_name, case when i % 3 = 0 then ['Disease or Syndrome', 'Finding'] else ['Disease or Syndrome']
        end as semantic_types, 3::BIGINT as n_names, i % 20 = 0 as has_definition from range({n}) r(i)""")
    con.sql(f"""create table names as select 'C' || lpad(i::VARCHAR, 7, '0') as cui, 'A' || (i * 3 + j)::VARCHAR
        as aui, case j when 0 then 'Disorder number ' || i::VARCHAR || ' of organ ' || (i % 997)::VARCHAR
        when 1 then 'Organ ' || (i % 997)::VARCHAR || ' disorder ' || i::VARCHAR else 'DO' || i::VARCHAR || ' syndrome'
        end as name, 'ENG' as lang, 'SNOMEDCT_US' as sab, case j when 0 then 'PT' else 'SY' end as tty,
        j = 0 as is_preferred, 'N' as suppress, 9 as srl from range({n}) r(i), range(3) s(j)""")
    con.sql(f"""create table relations as
        select 'C' || lpad(i::VARCHAR, 7, '0') as head_cui, 'isa' as relation, 'CHD' as rel,
               'C' || lpad((i // 10)::VARCHAR, 7, '0') as tail_cui, 'SNOMEDCT_US' as sab from range(1, {n}) r(i)
        union all
        select 'C' || lpad(i::VARCHAR, 7, '0'), 'has_finding_site', 'RO',
               'C' || lpad(((i * 7919) % {n})::VARCHAR, 7, '0'), 'SNOMEDCT_US'
        from range({n}) r(i) where (i * 7919) % {n} <> i
        union all
        select 'C' || lpad(i::VARCHAR, 7, '0'), 'associated_morphology', 'RO',
               'C' || lpad(((i * 104729 + 1) % {n})::VARCHAR, 7, '0'), 'SNOMEDCT_US'
        from range({n}) r(i) where i % 2 = 0 and (i * 104729 + 1) % {n} <> i""")
    con.sql("""create table relation_labels as select * from (values
        ('isa', 'Is a', 'inverse_isa', 1::BIGINT),
        ('has_finding_site', 'Has finding site', 'finding_site_of', 1::BIGINT),
        ('associated_morphology', 'Associated morphology', 'associated_morphology_of', 1::BIGINT))
        t(relation, label, inverse, n_edges)""")
    for table in ("concepts", "names", "relations", "relation_labels"):
        con.sql(f"copy {table} to '{folder / (table + '.parquet')}' (format parquet)")
    return folder


# -- the child: one job, reporting its own RSS while it runs ----------------------------------------------------


def _rss_kb() -> tuple[int, int]:
    status = Path("/proc/self/status").read_text()
    values = {
        line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))
    }
    return values["VmRSS"], values["VmHWM"]


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    if args.mode == "sdk":
        report = asyncio_sdk_peer(args)
    elif args.mode == "safety":
        report = safety(args)
    else:
        from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig

        samples: list[dict] = []
        done = {"n": 0, "first": 0.0, "last": 0.0}

        def on_row(row: dict) -> None:
            now = time.monotonic()
            if not done["n"]:
                done["first"] = now
            done["n"] += 1
            done["last"] = now

        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(1.0):
                rss, hwm = _rss_kb()
                samples.append({"t": round(time.monotonic() - t0, 1), "rows": done["n"], "rss_mb": rss // 1024})

        t0 = time.monotonic()
        threading.Thread(target=sample, daemon=True).start()
        config = GenerateConfig(
            model="gpt-4o-mini", base_url=args.base_url, concurrency=args.concurrency, limit=args.limit
        )
        cpu0 = os.times()
        summary = DefinitionGenerator(args.kg, args.out, config, on_row=on_row).run()
        cpu1 = os.times()
        stop.set()
        wall = time.monotonic() - t0
        rss, hwm = _rss_kb()
        span = done["last"] - done["first"] if done["n"] > 1 else None
        report = {
            "mode": "kgbuild",
            "concurrency": args.concurrency,
            "done": summary.done,
            "cached": summary.cached,
            "http_attempts": summary.http_attempts,
            "wall_s": round(wall, 2),
            "completions_per_s": round((done["n"] - 1) / span, 1) if span else None,
            "client_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 1),
            "peak_rss_mb": hwm // 1024,
            "rss_samples": samples,
        }
    print("REPORT " + json.dumps(report), flush=True)


def safety(args: argparse.Namespace) -> dict:
    import httpx

    from kgbuild.llm.client import RunStopped
    from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig

    def billed() -> float:
        return float(httpx.get(args.base_url.replace("/v1", "/stats"), timeout=5).json()["billed_usd"])

    work = args.out
    before = billed()
    DefinitionGenerator(
        args.kg, work / "unbudgeted", GenerateConfig(base_url=args.base_url, concurrency=64, limit=args.limit)
    ).run()
    full_cost = billed() - before
    cap = 0.9 * full_cost
    before = billed()
    summary = DefinitionGenerator(
        args.kg,
        work / "budgeted",
        GenerateConfig(base_url=args.base_url, concurrency=64, limit=args.limit, budget_usd=cap),
    ).run()
    used = billed() - before
    # The same with --batch: each batch's bill is known when it ends, so near the cap the batches become waves.
    batch = dict(base_url=args.base_url, limit=args.limit, batch=True, batch_poll_s=0.05)
    before = billed()
    DefinitionGenerator(args.kg, work / "batch-unbudgeted", GenerateConfig(**batch)).run()
    batch_cost = billed() - before
    before = billed()
    batch_summary = DefinitionGenerator(
        args.kg, work / "batch-budgeted", GenerateConfig(**batch, budget_usd=0.9 * batch_cost)
    ).run()
    batch_used = billed() - before
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    t0 = time.monotonic()
    try:
        DefinitionGenerator(
            args.kg, work / "dead", GenerateConfig(base_url=dead, concurrency=64, limit=args.limit)
        ).run()
        stopped = None
    except RunStopped as exc:
        stopped = exc.summary
    return {
        "mode": "safety",
        "requests": args.limit,
        "job_cost_usd": round(full_cost, 6),
        "budget_usd": round(cap, 6),
        "billed_usd": round(used, 6),
        "budget_used": round(used / cap, 4),
        "spent_counted_usd": round(summary.spent_usd, 6),
        "not_sent": summary.not_sent,
        "batch_job_cost_usd": round(batch_cost, 6),
        "batch_billed_usd": round(batch_used, 6),
        "batch_budget_used": round(batch_used / (0.9 * batch_cost), 4),
        "batch_batches": batch_summary.batches_submitted,
        "dead_server_attempts": stopped.http_attempts if stopped else None,
        "dead_server_s": round(time.monotonic() - t0, 2),
        "dead_server_stopped": stopped is not None,
    }


def asyncio_sdk_peer(args: argparse.Namespace) -> dict:
    """The peer: the bare SDK at the same concurrency, same prompts size, nothing else."""
    import asyncio

    import httpx2
    import openai

    async def main() -> dict:
        http = httpx2.AsyncClient(
            limits=httpx2.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        )
        client = openai.AsyncOpenAI(api_key="x", base_url=args.base_url, max_retries=0, http_client=http)
        sem = asyncio.Semaphore(args.concurrency)
        content = 'Concept: "Disorder number 12345 of organ 7"\n' + "x " * 300

        async def one(i: int) -> None:
            async with sem:
                await client.chat.completions.create(
                    model="gpt-4o-mini",
                    max_tokens=160,
                    temperature=0,
                    messages=[{"role": "user", "content": f"{i} {content}"}],
                )

        t0 = time.monotonic()
        cpu0 = os.times()
        for start in range(0, args.limit, 10_000):  # chunks keep the peer's task list bounded too
            await asyncio.gather(*(one(i) for i in range(start, min(args.limit, start + 10_000))))
        wall = time.monotonic() - t0
        cpu1 = os.times()
        await client.close()
        return {
            "mode": "sdk-peer",
            "concurrency": args.concurrency,
            "done": args.limit,
            "wall_s": round(wall, 2),
            "completions_per_s": round(args.limit / wall, 1),
            "client_cpu_s": round((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), 1),
            "peak_rss_mb": _rss_kb()[1] // 1024,
        }

    return asyncio.run(main())


# -- the parent -------------------------------------------------------------------------------------------------


def run_child(base_url: str, kg: Path, out: Path, *, limit: int, concurrency: int, mode: str = "kgbuild") -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--mode",
        mode,
        "--base-url",
        base_url,
        "--kg",
        str(kg),
        "--out",
        str(out),
        "--limit",
        str(limit),
        "--concurrency",
        str(concurrency),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OPENAI_API_KEY": "x"})
    for line in proc.stdout.splitlines():
        if line.startswith("REPORT "):
            return json.loads(line[7:])
    raise RuntimeError(f"benchmark child failed:\n{proc.stderr[-3000:]}")


def _median(runs: list[dict]) -> dict:
    """The run whose completions/s is the median (its own CPU and wall with it), and every rate for the record."""
    ranked = sorted(runs, key=lambda r: r["completions_per_s"] or 0)
    return {**ranked[len(ranked) // 2], "all_completions_per_s": [r["completions_per_s"] for r in runs]}


def server_requests(base_url: str) -> int:
    import httpx

    return int(httpx.get(base_url.replace("/v1", "/stats"), timeout=5).json()["chat_requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concepts", type=int, default=400_000)
    parser.add_argument("--throughput-concepts", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench-llm-work"))
    parser.add_argument("--skip-full", action="store_true", help="only the throughput part")
    parser.add_argument("--skip-throughput", action="store_true", help="only the full job and its cached rerun")
    parser.add_argument("--safety", action="store_true", help="also the budget use and the dead-server breaker")
    parser.add_argument("--concurrency-list", default="64,128,256", help="in-flight levels of the throughput part")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions of each throughput point")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="kgbuild", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--kg", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=128, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    kg = make_kg(work / f"kg-{args.concepts}", args.concepts)
    report: dict = {"concepts": args.concepts, "kg_build_s": round(time.monotonic() - t0, 1), "cpus": os.cpu_count()}
    server = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", "0", "--lifetime", "7200"], stdout=subprocess.PIPE, text=True
    )
    try:
        base_url = f"http://127.0.0.1:{server.stdout.readline().strip()}/v1"
        report["throughput"] = []
        levels = [int(c) for c in args.concurrency_list.split(",")]
        for concurrency in () if args.skip_throughput else levels:
            runs: dict[str, list[dict]] = {"kgbuild": [], "sdk_peer": []}
            for rep in range(args.repeats):
                for mode in ("kgbuild", "sdk") if rep % 2 == 0 else ("sdk", "kgbuild"):
                    out = work / f"defs-tp-{concurrency}"
                    shutil.rmtree(out, ignore_errors=True)
                    r = run_child(
                        base_url, kg, out, limit=args.throughput_concepts, concurrency=concurrency, mode=mode
                    )
                    r.pop("rss_samples", None)
                    runs["kgbuild" if mode == "kgbuild" else "sdk_peer"].append(r)
                    print(json.dumps(r), flush=True)
            point = {side: _median(rs) for side, rs in runs.items()}
            point["runs"] = runs
            report["throughput"].append(point)
        if args.safety:
            out = work / "defs-safety"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            report["safety"] = run_child(base_url, kg, out, limit=2000, concurrency=64, mode="safety")
            print(json.dumps(report["safety"]), flush=True)
        if not args.skip_full:
            small = work / "defs-1k"
            shutil.rmtree(small, ignore_errors=True)
            report["rss_peer_1k"] = run_child(base_url, kg, small, limit=1000, concurrency=128)
            report["rss_peer_1k"].pop("rss_samples")
            out = work / "defs-full"
            shutil.rmtree(out, ignore_errors=True)
            full = run_child(base_url, kg, out, limit=args.concepts, concurrency=128)
            samples = full.pop("rss_samples")
            step = max(1, len(samples) // 12)
            full["rss_over_time"] = samples[::step] + samples[-1:]
            report["full_job"] = full
            print(json.dumps(full), flush=True)
            before = server_requests(base_url)
            rerun = run_child(base_url, kg, out, limit=args.concepts, concurrency=128)
            rerun.pop("rss_samples")
            rerun["server_requests"] = server_requests(base_url) - before
            report["cached_rerun"] = rerun
            print(json.dumps(rerun), flush=True)
    finally:
        server.terminate()
        server.wait(10)
    (work / "report.json").write_text(json.dumps(report, indent=1))
    print(markdown(report))


def markdown(r: dict) -> str:
    lines = ["| measure | kgbuild | peer |", "|---|---|---|"]
    for t in r.get("throughput", []):
        k, p = t["kgbuild"], t["sdk_peer"]
        ratio = k["completions_per_s"] / p["completions_per_s"]
        lines.append(
            f"| completions/s at {k['concurrency']} in flight ({k['done']} requests), median of "
            f"{len(k['all_completions_per_s'])} | {k['completions_per_s']} (client CPU {k['client_cpu_s']} s / wall "
            f"{k['wall_s']} s; all {k['all_completions_per_s']}) | bare SDK: {p['completions_per_s']} (CPU "
            f"{p['client_cpu_s']} s / wall {p['wall_s']} s; all {p['all_completions_per_s']}): kgbuild {ratio:.2f}x |"
        )
    if "safety" in r:
        m = r["safety"]
        lines.append(
            f"| --budget-usd {m['budget_usd']} (90% of the {m['requests']}-request job's ${m['job_cost_usd']}) "
            f"| billed ${m['billed_usd']} = {m['budget_used']:.1%} of the budget; counted "
            f"${m['spent_counted_usd']} | – |"
        )
        lines.append(
            f"| --batch --budget-usd (90% of the batch job's ${m['batch_job_cost_usd']}) | billed "
            f"${m['batch_billed_usd']} = {m['batch_budget_used']:.1%} of the budget, in {m['batch_batches']} batches "
            "| – |"
        )
        lines.append(
            f"| dead server (connection refused), 64 in flight | stopped: {m['dead_server_stopped']} after "
            f"{m['dead_server_attempts']} attempts, {m['dead_server_s']} s | – |"
        )
    if "full_job" in r:
        f, p = r["full_job"], r["rss_peer_1k"]
        lines.append(
            f"| peak RSS, {r['concepts']}-concept job | {f['peak_rss_mb']} MB (wall {f['wall_s']} s, "
            f"{f['completions_per_s']}/s) | 1k-concept job: {p['peak_rss_mb']} MB |"
        )
        c = r["cached_rerun"]
        lines.append(
            f"| fully cached rerun, {r['concepts']} concepts | {c['wall_s']} s, {c['server_requests']} "
            f"requests, {c['cached']} cached | – |"
        )
        lines.append("")
        lines.append(
            "RSS while the full job ran (s, rows done, MB): "
            + ", ".join(f"{s['t']}/{s['rows']}/{s['rss_mb']}" for s in f["rss_over_time"])
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
