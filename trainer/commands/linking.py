"""`trainer index` and `trainer link`: the KG's names embedded into an index, and mentions linked to concepts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.core.errors import UserError
from kgbuild.core.progress import progress_option
from kgbuild.core.render import Renderer
from trainer.commands.common import FORCE_OPTION


@user_errors
def index(
    model: str = typer.Option(..., "--model", help="Model folder (or hub id) that embeds the names."),
    kg: Path = typer.Option(..., "--kg", help="KG folder written by `kgbuild extract`."),
    out: Path = typer.Option(..., "--out", help="Index folder to write."),
    names: str = typer.Option("all", "--names", help="all: every kept name; preferred: one name per concept."),
    langs: list[str] = typer.Option(
        None, "--lang", help="Index only the names in this language (names.lang, e.g. ENG); repeatable. Default: all."
    ),
    dtype: str = typer.Option("float32", "--dtype", help="Vector storage: float32, float16 or int8."),
    batch_size: int = typer.Option(128, "--batch-size", help="Encoding batch size."),
    normalized: bool = typer.Option(
        False,
        "--normalize",
        help="Embed names lower-cased with punctuation as spaces (the published protocol's dictionary); "
        "`trainer link` then normalises mentions alike.",
    ),
    threads: int = typer.Option(None, "--threads", help="CPU threads for the encoder and faiss (default: all)."),
    devices: str = typer.Option(
        None,
        "--devices",
        help="Split the embedding across devices: N (the first N GPUs), cpu:N (N CPU processes) or a list "
        "(cuda:0,cuda:1); resumable per chunk, the same index as one device.",
    ),
    force: bool = FORCE_OPTION,
    progress: bool = progress_option(),
) -> None:
    """Embed the KG's names with the model into a nearest-neighbour index (faiss) for `trainer link`."""
    from trainer.linking import build_index

    manifest = build_index(
        model,
        kg,
        out,
        names=names,
        dtype=dtype,
        force=force,
        batch_size=batch_size,
        report=Renderer(progress=True if progress else None),
        normalized=normalized,
        threads=threads,
        devices=devices,
        langs=list(dict.fromkeys(langs or [])),
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
        help="Mentions: .txt (one per line), .tsv or .parquet with a `mention` column (and the document as a `text` "
        "or `document` column, or its id as `document_id`/`pmid`; an evaluation file's `gold_ids` is ignored), "
        "or - for standard input.",
    ),
    documents: Path = typer.Option(
        None,
        "--documents",
        help="Documents for abbreviation resolution: a PubTator file, or a .tsv/.parquet with id and text columns.",
    ),
    top_k: int = typer.Option(5, "--top-k", help="Concepts per mention."),
    out: Path = typer.Option(None, "--out", help="Write the results here (.jsonl or .parquet); default: stdout."),
    model: str = typer.Option(None, "--model", help="The model (default: the one the index was built with)."),
    batch_size: int = typer.Option(128, "--batch-size", help="Encoding batch size."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file (never an input)."),
    verify: bool = typer.Option(
        False, "--verify", help="Also check index.faiss against its sha256 (the tables are always checked)."
    ),
    progress: bool = progress_option(),
) -> None:
    """Link mentions to concepts: the top-k (cui, name, score) of each, one JSON line per mention."""
    from kgbuild.core.atomic import check_file_output
    from trainer.evaluate import encoding_progress
    from trainer.linking import Linker, read_mentions
    from trainer.mentions import read_documents, resolve_rows

    if out is not None and out.suffix not in (".jsonl", ".parquet"):
        raise UserError("--out must end in .jsonl or .parquet", path=out, fix="e.g. --out links.jsonl")
    if out is not None:  # before anything is read or loaded: --out over the index or the mentions is refused
        inputs = {"--index": index_dir, "--mentions": None if mentions == "-" else Path(mentions)}
        check_file_output(out, force=force, inputs={**inputs, "--documents": documents})
    mention_rows = read_mentions(mentions)
    docs = read_documents(documents) if documents is not None else None
    if docs is not None and not any(r["document_id"] for r in mention_rows):
        raise UserError(
            "--documents needs a document id on each mention row",
            path=None if mentions == "-" else Path(mentions),
            fix="add a document_id (or pmid) column to the .tsv/.parquet mention file",
        )
    resolved = resolve_rows(mention_rows, docs)  # an abbreviation defined in its document is linked as its long form
    texts = [r["mention"] for r in mention_rows]
    linker = Linker.load(index_dir, model=model, verify=verify)
    with encoding_progress(
        linker.encoder, len(texts), "linking mentions", Renderer(progress=True if progress else None)
    ):
        results = linker.link(
            [x or t for t, x in zip(texts, resolved, strict=True)], top_k=top_k, batch_size=batch_size
        )
    rows = [
        {"mention": m, "resolved": x, "rank": r + 1, "cui": c.cui, "name": c.name, "score": round(c.score, 6)}
        for m, x, cands in zip(texts, resolved, results, strict=True)
        for r, c in enumerate(cands)
    ]
    if out is not None and out.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        from kgbuild.core.atomic import atomic_write_bytes

        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(rows), sink)
        atomic_write_bytes(out, sink.getvalue().to_pybytes())
    else:
        lines = [
            json.dumps(
                {
                    "mention": m,
                    **({"resolved": x} if x else {}),
                    "candidates": [{"cui": c.cui, "name": c.name, "score": round(c.score, 6)} for c in cands],
                },
                ensure_ascii=False,
            )
            for m, x, cands in zip(texts, resolved, results, strict=True)
        ]
        if out is None:
            sys.stdout.write("\n".join(lines) + "\n")
        else:
            from kgbuild.core.atomic import atomic_write_bytes

            atomic_write_bytes(out, ("\n".join(lines) + "\n").encode("utf-8"))
    n_resolved = sum(x is not None for x in resolved)
    err.print(
        f"linked {len(texts):,} mentions (top {top_k})"
        + (f", {n_resolved:,} abbreviations written out" if n_resolved else "")
        + (f" to {out}" if out else "")
    )


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: trainer index --model run/final --kg kg --out kg.index")(index)
    app.command(epilog="Example: echo 'heart attack' | trainer link --index kg.index --top-k 5")(link)
