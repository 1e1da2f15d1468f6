"""`trainer index` and `trainer link`: the KG's names embedded into an index, and mentions linked to concepts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from kgbuild.console import err, user_errors
from kgbuild.errors import UserError
from trainer.commands.common import FORCE_OPTION


@user_errors
def index(
    model: str = typer.Option(..., "--model", help="Model folder (or hub id) that embeds the names."),
    kg: Path = typer.Option(..., "--kg", help="KG folder written by `kgbuild extract`."),
    out: Path = typer.Option(..., "--out", help="Index folder to write."),
    names: str = typer.Option("all", "--names", help="all: every kept name; preferred: one name per concept."),
    dtype: str = typer.Option("float32", "--dtype", help="Vector storage: float32, float16 or int8."),
    batch_size: int = typer.Option(128, "--batch-size", help="Encoding batch size."),
    force: bool = FORCE_OPTION,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar (stderr)."),
) -> None:
    """Embed the KG's names with the model into a nearest-neighbour index (faiss) for `trainer link`."""
    from trainer.linking import build_index

    manifest = build_index(
        model, kg, out, names=names, dtype=dtype, force=force, batch_size=batch_size, progress=progress
    )
    chosen = manifest["index"]
    err.print(
        f"index: {manifest['rows']:,} names of {manifest['concepts']:,} concepts, {chosen['kind']} "
        f"{chosen['dtype']}, written to {out}",
        style="green",
    )


@user_errors
def link(
    index_dir: Path = typer.Option(..., "--index", help="Index folder written by `trainer index`."),
    mentions: str = typer.Option(
        "-",
        "--mentions",
        help="Mentions: .txt (one per line), .tsv with a `mention` "
        "column, .parquet with a `mention` column, or - for standard input.",
    ),
    top_k: int = typer.Option(5, "--top-k", help="Concepts per mention."),
    out: Path = typer.Option(None, "--out", help="Write the results here (.jsonl or .parquet); default: stdout."),
    model: str = typer.Option(None, "--model", help="The model (default: the one the index was built with)."),
    batch_size: int = typer.Option(128, "--batch-size", help="Encoding batch size."),
) -> None:
    """Link mentions to concepts: the top-k (cui, name, score) of each, one JSON line per mention."""
    from trainer.linking import Linker, read_mentions

    if out is not None and out.suffix not in (".jsonl", ".parquet"):
        raise UserError("--out must end in .jsonl or .parquet", path=out, fix="e.g. --out links.jsonl")
    texts = read_mentions(mentions)
    linker = Linker.load(index_dir, model=model)
    results = linker.link(texts, top_k=top_k, batch_size=batch_size)
    rows = [
        {"mention": m, "rank": r + 1, "cui": c.cui, "name": c.name, "score": round(c.score, 6)}
        for m, cands in zip(texts, results, strict=True)
        for r, c in enumerate(cands)
    ]
    if out is not None and out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from kgbuild.atomic import atomic_write_bytes

        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(rows), sink)
        atomic_write_bytes(out, sink.getvalue().to_pybytes())
    else:
        lines = [
            json.dumps(
                {
                    "mention": m,
                    "candidates": [{"cui": c.cui, "name": c.name, "score": round(c.score, 6)} for c in cands],
                },
                ensure_ascii=False,
            )
            for m, cands in zip(texts, results, strict=True)
        ]
        if out is None:
            sys.stdout.write("\n".join(lines) + "\n")
        else:
            from kgbuild.atomic import atomic_write_bytes

            atomic_write_bytes(out, ("\n".join(lines) + "\n").encode("utf-8"))
    err.print(f"linked {len(texts):,} mentions (top {top_k})" + (f" to {out}" if out else ""))


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: trainer index --model run/final --kg kg --out kg.index")(index)
    app.command(epilog="Example: echo 'heart attack' | trainer link --index kg.index --top-k 5")(link)
