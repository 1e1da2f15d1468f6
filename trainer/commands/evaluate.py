"""`trainer evaluate MODEL...`: any number of models scored on the same sets in one run, one comparison table.

Rows are (set, metric, n), columns the models, then the published figures of the bases we know, and an average row per
metric (trainer/score_table.py, within 80 columns);
mention files (`--mentions` through `--index`) add coverage and acc@k rows under a protocol, with BioSyn's and
SapBERT's figures beside them (trainer/mentions.py).
Results go to stdout (`--format table|markdown|csv|json`); `--json FILE` keeps everything needed to cite the run
(toolkit version, date, model fingerprints, evaluation-set checksums); `--plot FILE.png` draws the comparison.
"""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from kgbuild.core.atomic import absolute, atomic_write_bytes, check_file_output
from kgbuild.core.console import err, user_errors, warn
from kgbuild.core.errors import UserError
from kgbuild.core.progress import progress_option
from kgbuild.core.render import Renderer
from trainer.evaluate import (
    EVALSETS,
    REFERENCES,
    SET_NAMES,
    evalsets_folder,
    evaluate_model,
    read_set,
    reference_for,
    sets_to_score,
)
from trainer.models import display_name, model_reference
from trainer.score_table import comparison_rows, render

FORMATS = ("table", "markdown", "csv", "json")


def provenance(
    models: list[str], evalsets: Path | None, pairs: Path | None, linking: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What a reader needs to cite and reproduce the figures."""
    from kgbuild import __version__
    from trainer.hashing import model_fingerprint, sha256_file

    sets = []
    for spec in EVALSETS:
        for file in spec.paths:
            path = evalsets / file if evalsets else None
            if path is not None and path.is_file():
                sets.append({"name": spec.name, "file": file, "sha256": sha256_file(path)})
    return {
        "toolkit": f"kgbuild {__version__}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": [{"model": m, "fingerprint": model_fingerprint(m)} for m in models],
        "evalsets": sets,
        "pairs": str(pairs) if pairs else None,
        **({"mention_linking": linking} if linking else {}),
    }


def plot(scores: dict[str, dict], path: Path) -> None:
    """A grouped bar chart: one group per (set, metric), one bar per model."""
    try:
        import matplotlib
    except ImportError:
        raise UserError("--plot needs matplotlib", fix="pip install -e '.[plot]'") from None
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    header, rows = comparison_rows(scores, [])
    rows = [r for r in rows if r[0] != "average"]
    models = header[3 : 3 + len(scores)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(rows) * max(1, len(models)) ** 0.5 + 2), 4.5))
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        values = [float(r[3 + i]) if r[3 + i] not in ("", "—") else 0.0 for r in rows]
        ax.bar([x + i * width for x in range(len(rows))], values, width, label=model)  # the table's unique short name
    ax.set_xticks([x + width * (len(models) - 1) / 2 for x in range(len(rows))])
    ax.set_xticklabels([f"{r[0]}\n{r[1]}" for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Spearman ×100 / accuracy %")
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


@user_errors
def evaluate(
    models: list[str] = typer.Argument(None, help="Models to compare: folders or hub ids (any number)."),
    model: list[str] = typer.Option(None, "--model", help="A model to evaluate (repeatable; same as MODELS)."),
    base: str = typer.Option(None, "--base", help="A base model to score beside them (same as one more MODEL)."),
    evalsets: Path = typer.Option(
        None, "--evalsets", envvar="KGBUILD_EVALSETS", help="Folder of evaluation sets (layout of ../shared/evalsets)."
    ),
    pairs: Path = typer.Option(None, "--pairs", help="build-pairs folder: KG linking acc@1/acc@5 on its test split."),
    linking_split: str = typer.Option(
        "test", "--linking-split", help="Split of the KG linking queries: test (to report) or dev (to choose)."
    ),
    only: list[str] = typer.Option(
        None, "--sets", "--only", help=f"Score only these sets ([evaluate] sets in TOML; {', '.join(SET_NAMES)})."
    ),
    fmt: str = typer.Option("table", "--format", help="stdout format: table, markdown, csv or json."),
    json_out: Path = typer.Option(None, "--json", help="Also write scores and provenance to this JSON file."),
    plot_out: Path = typer.Option(None, "--plot", help="Also draw the comparison to this PNG file."),
    batch_size: int = typer.Option(64, "--batch-size", help="Encoding batch size."),
    mentions: list[Path] = typer.Option(
        None,
        "--mentions",
        help="Mention file: the format of `trainer link --mentions` (.tsv or .parquet with a `mention` column, the "
        "document's id as `document_id` or `pmid`) plus a `gold_ids` column, e.g. NCBI-disease, BC5CDR: linking "
        "coverage and acc@k through --index (repeatable).",
    ),
    index_dir: Path = typer.Option(
        None, "--index", help="Index folder from `trainer index` (for --mentions); its model when none is given."
    ),
    protocols: list[str] = typer.Option(
        None,
        "--protocol",
        help="Mention scoring: lenient (as written, any gold concept) or published (BioSyn/SapBERT's preprocessing "
        "and scoring; README, rule by rule); repeat for both. Default: lenient.",
    ),
    predictions: Path = typer.Option(
        None, "--predictions", help="Write each mention's gold, coverage, top-k and hits here (.jsonl)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace existing --json/--plot/--predictions files."),
    progress: bool = progress_option(),
) -> None:
    """Cosine Spearman ×100 on BIOSSES, UMNSRS, MayoSRS, EHR-Rel-B, SICK-R, STS-B (and MedSTS, MedNLI-S when present),
    plus KG linking accuracy, for every model given, in one table with the published figures of the bases we know."""
    names = list(dict.fromkeys([*(models or []), *(model or []), *([base] if base else [])]))
    if not names and index_dir is not None and mentions:
        from trainer.linking import Linker, index_model

        names = [index_model(Linker.read_manifest(index_dir))]  # the model the index was built with
    if not names:
        raise UserError(
            "no model to evaluate",
            fix="give one or more model folders or hub ids: trainer evaluate "
            "run/final sentence-transformers/all-MiniLM-L6-v2 …",
        )
    if fmt not in FORMATS:
        raise UserError(f"unknown --format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}")
    if mentions and index_dir is None:
        raise UserError("--mentions needs --index", fix="build one with `trainer index --model M --kg KG --out I`")
    if index_dir is not None and not mentions:
        raise UserError("--index is only used with --mentions", fix="add --mentions FILE")
    from trainer.mentions import PROTOCOLS

    protocols = list(dict.fromkeys(protocols or ["lenient"]))
    for p in protocols:
        if p not in PROTOCOLS:
            raise UserError(f"unknown --protocol {p!r}", fix=f"use one of {', '.join(PROTOCOLS)}")
    if predictions is not None and not mentions:
        raise UserError("--predictions is only written for --mentions", fix="add --mentions FILE --index INDEX")
    if predictions is not None and predictions.suffix != ".jsonl":
        raise UserError("--predictions must end in .jsonl", path=predictions, fix="e.g. --predictions preds.jsonl")
    folder = evalsets_folder(evalsets)
    # Every output file is checked before any model is loaded: never over an input, an existing one only with --force.
    inputs: dict[str, Path | None] = {"--index": index_dir, "--evalsets": folder, "--pairs": pairs}
    inputs.update({f"--mentions {m}": m for m in mentions or []})
    inputs.update({f"model {n}": Path(n) for n in names if Path(n).exists()})
    outputs = {"--json": json_out, "--plot": plot_out, "--predictions": predictions}
    for option, path in outputs.items():
        if path is not None:
            check_file_output(path, force=force, inputs=inputs, option=option)
    given = [absolute(p) for p in outputs.values() if p is not None]
    if len(set(given)) < len(given):
        raise UserError("two outputs name the same file", fix="give --json, --plot and --predictions different files")
    # A missing or corrupt set file, or a model folder that does not exist, fails here: before any model is loaded
    for spec, paths in sets_to_score(folder, only or None) if folder is not None else []:
        if paths is not None:
            read_set(spec, paths)
    for name in names:
        model_reference(name)
    if folder is None and pairs is None and not mentions:  # before a model is loaded: an empty table is no result
        raise UserError(
            "nothing to score: no evaluation sets, no --pairs, no --mentions",
            fix="give --evalsets DIR (or set KGBUILD_EVALSETS), --pairs PAIRS_DIR, or --mentions FILE --index INDEX",
        )
    if mentions:  # a bad mention file, or an index that is not one, fails here: not after every model was scored
        from trainer.linking import Linker, check_files
        from trainer.mentions import find_documents, read_gold_mentions

        check_files(index_dir, Linker.read_manifest(index_dir))
        for f in mentions:
            find_documents(f, read_gold_mentions(f))
    kwargs = {
        "evalsets": folder,
        "pairs_dir": pairs,
        "sets": only or None,
        "linking_split": linking_split,
        "batch_size": batch_size,
        "report": Renderer(progress=True if progress else None),
    }
    scores: dict[str, dict] = {}
    records: list[dict] = []
    linking = None
    for name in names:
        err.print(f"scoring {display_name(name)}", style="dim")
        scores[name] = evaluate_model(name, **kwargs)  # resolves the name; a missing folder is one line
        if mentions:
            found, linking = _mention_scores(name, index_dir, mentions, protocols, records)
            scores[name].update(found)
    references = list(dict.fromkeys(r for r in map(reference_for, names) if r))
    header, rows = comparison_rows(scores, references)
    from trainer.mentions import LINKING_REFERENCES, write_predictions

    doc = {
        "scores": scores,
        "references": {
            **{r: REFERENCES[r] for r in references},
            **(LINKING_REFERENCES if mentions else {}),
        },
        "provenance": provenance(names, folder, pairs, linking),
    }
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        title = "scores (cosine Spearman ×100; linking accuracy %)"
        sys.stdout.write(render(header, rows, fmt, title, models=len(scores)))
    if json_out is not None:
        atomic_write_bytes(json_out, json.dumps(doc, indent=2).encode())
        err.print(f"scores written to {json_out}")
    if plot_out is not None:
        plot(scores, plot_out)
        err.print(f"comparison drawn to {plot_out}")
    if predictions is not None:
        write_predictions(predictions, records)
        err.print(f"{len(records):,} mention predictions written to {predictions}")


def _mention_scores(
    model: str, index_dir: Path, files: list[Path], protocols: list[str], records: list[dict]
) -> tuple[dict[str, dict], dict[str, Any]]:
    """Each file under each protocol (and without abbreviation resolution, where its documents were found), and
    what the figures came from: the index, the protocols, the checksums of the mention files and their corpora."""
    from trainer.hashing import sha256_file
    from trainer.linking import Linker
    from trainer.mentions import PROTOCOL_RULES, evaluate_mentions, set_name

    linker = Linker.load(index_dir, model=model)
    if "published" in protocols and not linker.manifest.get("normalized"):
        warn(
            f"the names of {index_dir} were embedded as written: the published protocol also normalises them "
            "(rebuild the index with `trainer index --normalize`)"
        )
    scores, files_used = {}, {}
    for f in files:
        files_used[str(f)] = sha256_file(Path(f)) if Path(f).is_file() else None
        for protocol in protocols:
            mine: list[dict] = []
            result = evaluate_mentions(linker, f, protocol=protocol, predictions=mine)
            records += [{"model": display_name(model), **r} for r in mine]
            plain = result.pop("without abbreviations", None)
            scores[set_name(f, protocol)] = result
            if plain is not None:
                scores[set_name(f, protocol, abbreviations=False)] = plain
            corpus = result["abbreviations"]["documents"]
            if corpus is None and protocol == protocols[0]:
                warn(f"no PubTator corpus beside {f} holds its documents: its abbreviations are not resolved")
            if corpus:
                files_used[str(Path(f).parent / corpus)] = sha256_file(Path(f).parent / corpus)
    manifest = linker.manifest
    provenance = {
        "index": str(index_dir),
        "index_created_at": manifest.get("created_at"),
        "index_model": manifest["model"],
        "index_kg": manifest.get("kg"),
        "index_names": {"names": manifest.get("names"), "normalized": bool(manifest.get("normalized"))},
        "protocols": {p: PROTOCOL_RULES[p] for p in protocols},
        "files": [{"file": k, "sha256": v} for k, v in files_used.items()],
    }
    return scores, provenance


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Example: trainer evaluate run/final sentence-transformers/all-MiniLM-L6-v2 "
        "--evalsets ../shared/evalsets --pairs pairs/ --format markdown --json scores.json "
        "--plot scores.png; mention linking: trainer evaluate --index kg.index --mentions "
        "ncbi_disease_test_mentions.tsv --protocol published --predictions preds.jsonl"
    )(evaluate)
