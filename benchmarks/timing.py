"""One command timed in its own process under /usr/bin/time: wall seconds and peak RSS (GiB), for the benchmarks."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path


def run_timed(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None) -> dict:
    """Run `cmd`; exit with its stderr tail if it fails."""
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{proc.stderr[-3000:]}")
    rss_kb = int(re.findall(r"^(\d+)$", proc.stderr, re.M)[-1])
    return {"wall_s": round(wall, 1), "peak_rss_gb": round(rss_kb / 1024 / 1024, 2), "stdout": proc.stdout}
