"""`trainer evaluate`: one table (and JSON) of a model's scores, the base model's beside, and published numbers."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer
from rich.table import Table

from kgbuild.atomic import atomic_write_bytes
from kgbuild.console import err, user_errors
from kgbuild.errors import UserError
from trainer.evaluate import REFERENCES, SET_NAMES, evalsets_folder, evaluate_model, reference_for


def _cell(result: dict | None, metric: str) -> str:
    if not result:
        return ""
    if "skipped" in result:
        return "—"
    return f"{result[metric]:.2f}" if metric in result else ""


def scores_table(title: str, model: dict, base: dict | None, reference: str | None) -> Table:
    published = REFERENCES.get(reference or "", {}).get("scores", {})
    table = Table("set", "metric", "n", "model", *(["base"] if base is not None else []),
                  *([f"published ({reference})"] if published else []), title=title)
    for name, result in model.items():
        metrics = ["spearman"] if "spearman" in result or name != "KG linking" else ["acc@1", "acc@5"]
        for metric in metrics:
            row = [name, metric, str(result.get("n", "")), _cell(result, metric)]
            if base is not None:
                row.append(_cell(base.get(name), metric))
            if published:
                row.append(f"{published[name]:.2f}" if name in published and metric == "spearman" else "")
            table.add_row(*row)
    return table


@user_errors
def evaluate(
    model: str = typer.Option(..., "--model", help="Model folder (or hub id) to evaluate."),
    base: str = typer.Option(None, "--base", help="Base model to score beside it (folder or hub id)."),
    evalsets: Path = typer.Option(None, "--evalsets", envvar="KGBUILD_EVALSETS",
                                  help="Folder of evaluation sets (layout of ../shared/evalsets)."),
    pairs: Path = typer.Option(None, "--pairs", help="build-pairs folder: KG linking acc@1/acc@5 on its test split."),
    only: list[str] = typer.Option(None, "--only", help=f"Score only these sets ({', '.join(SET_NAMES)})."),
    json_out: Path = typer.Option(None, "--json", help="Also write the scores to this JSON file."),
    batch_size: int = typer.Option(64, "--batch-size", help="Encoding batch size."),
    mentions: list[Path] = typer.Option(None, "--mentions", help="Mention file with gold ids (TSV with mention and "
                                        "gold_ids columns, e.g. NCBI-disease, BC5CDR): linking coverage and acc@k "
                                        "through --index (repeatable)."),
    index_dir: Path = typer.Option(None, "--index", help="Index folder from `trainer index` (for --mentions)."),
) -> None:
    """Cosine Spearman ×100 on BIOSSES, UMNSRS, MayoSRS, EHR-Rel-B, SICK-R, STS-B, plus KG linking accuracy."""
    logging.basicConfig(format="%(message)s", level=logging.WARNING)
    if mentions and index_dir is None:
        raise UserError("--mentions needs --index", fix="build one with `trainer index --model M --kg KG --out I`")
    if index_dir is not None and not mentions:
        raise UserError("--index is only used with --mentions", fix="add --mentions FILE")
    mention_scores = _mention_scores(model, index_dir, mentions) if mentions else None
    folder = evalsets_folder(evalsets)
    if folder is None and pairs is None:
        err.print("no --evalsets (or KGBUILD_EVALSETS) and no --pairs: nothing to score", style="yellow")
    kwargs = {"evalsets": folder, "pairs_dir": pairs, "sets": only or None, "batch_size": batch_size}
    scores = evaluate_model(model, **kwargs)
    base_scores = evaluate_model(base, **kwargs) if base else None
    reference = reference_for(base or model)
    err.print(scores_table(f"{model}", scores, base_scores, reference))
    if mention_scores is not None:
        err.print(mentions_table(mention_scores))
    if json_out is not None:
        doc = {"model": model, "scores": scores, "base": base, "base_scores": base_scores,
               "mentions": mention_scores,
               "reference": {"name": reference, **REFERENCES.get(reference or "", {})},
               "evalsets": str(folder) if folder else None, "pairs": str(pairs) if pairs else None}
        atomic_write_bytes(json_out, json.dumps(doc, indent=2).encode())
        err.print(f"scores written to {json_out}")


def _mention_scores(model: str, index_dir: Path, files: list[Path]) -> dict[str, dict]:
    from trainer.linking import Linker, evaluate_mentions

    linker = Linker.load(index_dir, model=model)
    return {Path(f).name: evaluate_mentions(linker, f) for f in files}


def mentions_table(scores: dict[str, dict]) -> Table:
    table = Table("mentions", "n", "in KG", "coverage", "acc@1", "acc@5", title="entity linking (covered mentions)")
    for name, r in scores.items():
        acc = [f"{r[k]:.2f}" if r[k] is not None else "—" for k in ("acc@1", "acc@5")]
        table.add_row(name, str(r["n"]), str(r["covered"]), f"{r['coverage']:.1f}%", *acc)
    return table


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: trainer evaluate --model run/final --base sentence-transformers/all-mpnet-base-v2 "
                "--evalsets ../shared/evalsets --pairs pairs/ --json scores.json")(evaluate)
