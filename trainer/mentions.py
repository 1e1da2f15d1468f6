"""Mention-level linking evaluation as the field reports it, and per-mention predictions for error analysis.

    result = evaluate_mentions(linker, "ncbi_disease_test_mentions.tsv", protocol="published")

Two protocols (README, "Mention-level linking", says each rule):
- `lenient`: each mention as written; a mention is covered when any of its gold ids is a concept of the index, and a
  hit when any of those concepts is in its top k.
- `published`: the preprocessing of BioSyn and SapBERT (dmis-lab/BioSyn preprocess/query_preprocess.py and
  src/biosyn/preprocesser.py, read for this): abbreviations written out from the document, composite mentions split
  into their parts, lower case and punctuation to spaces, mentions with a gold id outside the dictionary left out;
  a mention is a hit only when every part has one of the mention's gold concepts in its top k (their
  evaluate_topk_acc and check_label).

In both, abbreviations are resolved when the mention file's documents are found (a PubTator corpus beside the file
whose ids cover its pmids, as in the evaluation sets), and the figures without resolution are reported beside.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgbuild.core.errors import UserError
from trainer.abbreviations import expand, find_abbreviations
from trainer.linking import DOCUMENT_COLUMNS, DOCUMENT_ID_COLUMNS, Linker, gold_cuis, normalize, read_table, read_text

PROTOCOLS = ("lenient", "published")

# What each protocol does, as the evaluation JSON records it (README, "Mention-level linking", says why).
PROTOCOL_RULES = {
    "lenient": {
        "abbreviations": "Schwartz-Hearst on the document; figures without beside",
        "normalize_mentions": False,
        "composites": "one query; a hit when any gold concept is in the top k",
        "without_gold_concept": "counted in n, left out of the accuracy (coverage)",
    },
    "published": {
        "abbreviations": "Schwartz-Hearst on the document (the papers: Ab3P); figures without beside",
        "normalize_mentions": "lower case, punctuation to spaces",
        "composites": "split into parts (BC5CDR's composite_parts, else BioSyn's rules); a hit when every part has a "
        "gold concept in its top k",
        "mixed_omim_mesh": "OMIM ids dropped",
        "without_gold_concept": "left out (every gold id must be a concept of the index)",
    },
}


# Published acc@1/acc@5 (%) on the test files, under the published protocol, with their dictionary: the reader of
# our rows must know that theirs link to MEDIC / CTD (MeSH + OMIM), not to the vocabulary the index was built from.
LINKING_REFERENCES: dict[str, dict[str, Any]] = {
    "BioSyn-SapBERT": {
        "source": "dmis-lab/BioSyn README, models biosyn-sapbert-{ncbi-disease,bc5cdr-disease,bc5cdr-chemical}",
        "dictionary": "MEDIC 2012-07-06 (NCBI-disease), CTD diseases / chemicals (BC5CDR), with the training and "
        "development mentions added",
        "dictionary_short": "MEDIC/CTD",
        "sets": {
            "ncbi_disease_test": {"acc@1": 92.4, "acc@5": 95.8},
            "bc5cdr_disease_test": {"acc@1": 93.5, "acc@5": 96.4},
            "bc5cdr_chemical_test": {"acc@1": 96.6, "acc@5": 98.3},
        },
    },
    "SapBERT": {
        "source": "Liu et al., NAACL 2021 (SapBERT, no task fine-tuning), on BioSyn's data",
        "dictionary": "MEDIC 2012-07-06 (BioSyn's NCBI-disease dictionary)",
        "dictionary_short": "MEDIC",
        "sets": {"ncbi_disease_test": {"acc@1": 92.3}},
    },
}


def set_name(path: Path | str, protocol: str, *, abbreviations: bool = True) -> str:
    """The row name of a mention file's result: "mentions ncbi_disease_test_mentions.tsv (published)"."""
    return f"mentions {Path(path).name} ({protocol}{'' if abbreviations else ', no abbreviations'})"


def published_figure(reference: str, name: str, metric: str) -> float | None:
    """The published figure of `reference` for a result row, when that row is a file it reported on, scored under
    the published protocol with abbreviations resolved (as they were)."""
    m = re.fullmatch(r"mentions (\S+?)(?:_mentions)?\.(?:tsv|parquet) \(published\)", name)
    return LINKING_REFERENCES[reference]["sets"].get(m.group(1), {}).get(metric) if m else None


@dataclass
class GoldMention:
    line: int
    mention: str
    gold: str
    pmid: str | None = None
    start: int | None = None
    end: int | None = None
    parts: list[str] = field(default_factory=list)  # BC5CDR's composite_parts column, when the corpus gives them


GOLD_COLUMNS = ("gold_ids", "start", "end", "composite_parts")


def read_gold_mentions(path: Path) -> list[GoldMention]:
    """A mention file with gold ids, in the one mention-file format of `trainer link` (trainer.linking.read_table): a
    TSV with a header, or Parquet, holding `mention` and `gold_ids` columns, and optionally the document's id
    (`document_id`, `doc_id` or `pmid`), `start`, `end` (offsets into the document) and `composite_parts` (the layout
    of the NCBI-disease and BC5CDR files in the evaluation sets)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(
            "mention file not found", path=path, fix="give a .tsv or .parquet with mention and gold_ids columns"
        )
    table = read_table(path, "mention", optional=(*GOLD_COLUMNS, *DOCUMENT_ID_COLUMNS))
    header_line = 1 if path.suffix != ".parquet" else None
    if table and "gold_ids" not in table[0] or not table and path.suffix != ".parquet":
        have = list(table[0]) if table else []
        raise UserError(
            f"the header has no mention and gold_ids columns (found: {have})",
            path=path,
            line=header_line,
            fix="use the layout of ../shared/evalsets/ncbi-disease/*_mentions.tsv",
        )
    rows = []
    first = 2 if header_line else 1  # a TSV's first row is its line 2; a Parquet file's rows count from 1
    for number, value in enumerate(table, start=first):
        if not (value.get("mention") or "").strip():
            continue
        if value.get("gold_ids") is None:
            raise UserError("too few fields", path=path, line=number, fix="one mention per row, tab-separated")
        doc = next((str(value[c]) for c in DOCUMENT_ID_COLUMNS if value.get(c) not in (None, "")), None)
        row = GoldMention(number, value["mention"], str(value["gold_ids"]), doc)
        if value.get("start") not in (None, "") and value.get("end") not in (None, ""):
            try:
                row.start, row.end = int(value["start"]), int(value["end"])
            except ValueError:
                raise UserError(
                    "start and end must be whole numbers", path=path, line=number, fix="restore the file"
                ) from None
        row.parts = [p for p in str(value.get("composite_parts") or "").split("|") if p.strip()]
        rows.append(row)
    if not rows:
        raise UserError("no mentions", path=path, fix="give a file with at least one mention row")
    return rows


# -- documents --------------------------------------------------------------------------------------------------------


def read_pubtator(path: Path) -> dict[str, str]:
    """{pmid: title + " " + abstract} of a PubTator file: the text its annotation offsets count in."""
    docs: dict[str, list[str]] = {}
    for line in read_text(path).split("\n"):  # not splitlines: a text may hold other line breaks (U+2028)
        m = re.match(r"^([^|\t]+)\|([ta])\|(.*)$", line.rstrip("\r"))
        if m:
            docs.setdefault(m.group(1), []).append(m.group(3))
    return {pmid: " ".join(parts) for pmid, parts in docs.items()}


def find_documents(mention_file: Path, rows: list[GoldMention]) -> tuple[Path | None, dict[str, str]]:
    """The PubTator corpus beside a mention file that holds every pmid it names, checked against its offsets; (None,
    {}) when there is none."""
    pmids = {r.pmid for r in rows if r.pmid}
    if not pmids:
        return None, {}
    for candidate in sorted(Path(mention_file).parent.glob("*.txt")):
        try:
            with open(candidate, encoding="utf-8") as fh:
                head = next((line for line in fh if line.strip()), "")  # NCBI-disease's corpus opens with a blank
        except (OSError, UnicodeDecodeError):
            continue
        if not re.match(r"^[^|\t]+\|[ta]\|", head):
            continue
        docs = read_pubtator(candidate)
        if not pmids <= docs.keys():
            continue
        for r in rows:
            if r.start is not None and docs[r.pmid][r.start : r.end] != r.mention:
                raise UserError(
                    f"the mention {r.mention!r} is not at {r.start}-{r.end} of document {r.pmid} in {candidate.name}",
                    path=mention_file,
                    line=r.line,
                    fix="use the mention file and the corpus of the same release (trainer evalsets fetch)",
                )
        return candidate, docs
    return None, {}


def read_documents(path: Path) -> dict[str, str]:
    """{id: text} of a documents file: a PubTator corpus (`id|t|title`, `id|a|abstract`), or a TSV / Parquet with an
    id column (`document_id`, `doc_id`, `pmid` or `id`) and a `text` (or `document`) column."""
    path = Path(path)
    if not path.is_file():
        raise UserError("documents file not found", path=path, fix="give a PubTator .txt, or a .tsv/.parquet")
    if path.suffix not in (".tsv", ".parquet"):
        docs = read_pubtator(path)
        if not docs:
            raise UserError(
                "no PubTator documents (lines `id|t|title`, `id|a|abstract`)",
                path=path,
                fix="give a PubTator file, or a .tsv/.parquet with id and text columns",
            )
        return docs
    ids = (*DOCUMENT_ID_COLUMNS, "id")
    text_column = next((c for c in DOCUMENT_COLUMNS if _has_column(path, c)), None)
    if text_column is None:
        raise UserError("no `text` (or `document`) column", path=path, fix="add a column with each document's text")
    rows = read_table(path, text_column, optional=ids)
    id_column = next((c for c in ids if rows and c in rows[0]), None)
    if id_column is None:
        raise UserError(f"no id column ({', '.join(ids)})", path=path, fix="add a column with each document's id")
    return {str(r[id_column]): r[text_column] or "" for r in rows}


def _has_column(path: Path, name: str) -> bool:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return name in pq.read_schema(path).names
    with open(path, encoding="utf-8") as fh:
        return name in fh.readline().rstrip("\n").split("\t")


def resolve_rows(rows: list[dict[str, str | None]], documents: dict[str, str] | None) -> list[str | None]:
    """For each mention row of `trainer link`, the mention with its abbreviations written out from its document (the
    row's own `text`, or its id in `documents`), None where nothing changed or no document is known."""
    resolve = Resolver(dict(documents or {}))
    out = []
    for row in rows:
        key = row.get("document")
        if key:  # the text is its own key: rows of one document find its abbreviations once
            resolve.documents.setdefault(key, key)
        else:
            key = row.get("document_id")
        resolved = resolve(row["mention"], key)
        out.append(resolved if resolved != row["mention"] else None)
    return out


class Resolver:
    """Abbreviations of each document, found once: mention → its long form where the document defines it."""

    def __init__(self, documents: dict[str, str]):
        self.documents = documents
        self._found: dict[str, dict[str, str]] = {}

    def __call__(self, mention: str, document_id: str | None) -> str:
        if document_id is None or document_id not in self.documents:
            return mention
        if document_id not in self._found:
            self._found[document_id] = find_abbreviations(self.documents[document_id])
        return expand(mention, self._found[document_id])


# -- the published protocol's composite mentions ----------------------------------------------------------------------

_WORD = r"[A-Za-z-]+"
# "X of (both) (the) A and/or B" -> "X of A", "X of B"
_PREFIX_OF = re.compile(rf"(?P<head>{_WORD}) of (?:both )?(?:the )?(?P<a>(?:{_WORD} )+)(?:and|or) (?:the )?(?P<b>.+)")
# "A, B and C or D stem": the last two joined by "and" share the stem like the others
_NESTED = re.compile(rf"(?P<list>(?:{_WORD},? )+)(?:and/or|and|or) (?P<last>{_WORD} and {_WORD}) (?P<stem>.+)")
# "A, B and/or C stem" -> "A stem", "B stem", "C stem"
_LIST = re.compile(rf"(?P<list>(?:{_WORD},? )+)(?:and/or|and|or) (?P<last>(?:the )?{_WORD}) (?P<stem>.+)")
# "pre A/B post" -> "pre A post", "pre B post"
_SLASH = re.compile(r"(?P<pre>(?:.* )*)(?P<a>\S*)/(?P<b>\S*)(?P<post>(?: .*)*)")


def split_composite(mention: str, n_ids: int) -> list[str]:
    """The parts of a composite mention with `n_ids` gold ids, by BioSyn's rules (query_preprocess.composite_resolve);
    the mention whole when the rules do not give exactly one part per id."""
    mention = mention.strip()
    if n_ids < 2:
        return [mention]
    parts: list[str] = []
    if m := _PREFIX_OF.match(mention):
        parts = [f"{m['head']} of {m['a'].strip()}", f"{m['head']} of {m['b'].strip()}"]
    elif (m := _NESTED.match(mention)) or (m := _LIST.match(mention)):
        heads = [h for h in m["list"].strip().split(",") if h.strip()] + [m["last"]]
        parts = [f"{h.strip()} {m['stem']}" for h in heads]
    elif "and/or" not in mention and (m := _SLASH.fullmatch(mention)):
        parts = [" ".join(f"{m['pre'].strip()} {x.strip()} {m['post'].strip()}".split()) for x in (m["a"], m["b"])]
    elif len(mention.split()) == n_ids:
        parts = mention.split()
    return parts if len(parts) == n_ids else [mention]


def _published_ids(gold: str) -> list[str]:
    """The gold ids of a mention as BioSyn keeps them: split on `|` or `+`; in a mix of OMIM and MeSH ids the OMIM
    ones are dropped (query_preprocess.composite_resolve does so before splitting)."""
    ids = [i.strip() for i in re.split(r"[|+]", gold) if i.strip() and i.strip() != "-1"]
    omim = [i.upper().startswith(("OMIM:", "MIM:")) for i in ids]
    if any(omim) and not all(omim):
        ids = [i for i, o in zip(ids, omim, strict=True) if not o]
    return ids


def _published_parts(row: GoldMention, n_ids: int, text: str) -> list[str]:
    """What the published protocol links for a mention: its parts (as the corpus gives them, else by BioSyn's rules),
    normalised."""
    split = row.parts if row.parts and len(row.parts) == n_ids > 1 else split_composite(text, n_ids)
    return [normalize(p) for p in split]


# -- evaluation -------------------------------------------------------------------------------------------------------


@dataclass
class _Query:
    row: GoldMention
    concepts: set[str]  # the mention's gold concepts in the index
    covered: bool
    parts: list[str]  # what is linked (one text, or the parts of a composite)
    parts_plain: list[str]  # the same without abbreviation resolution
    resolved: str | None  # the mention with its abbreviations written out, when that changed it


def _queries(rows: list[GoldMention], protocol: str, linker: Linker, resolve: Resolver | None) -> list[_Query]:
    known = set(linker.cuis.tolist())
    out = []
    for row in rows:
        plain = row.mention
        resolved = resolve(plain, row.pmid) if resolve is not None else plain
        if protocol == "lenient":
            concepts = gold_cuis(row.gold, linker.codes, known) & known
            out.append(
                _Query(row, concepts, bool(concepts), [resolved], [plain], resolved if resolved != plain else None)
            )
            continue
        ids = _published_ids(row.gold)
        per_id = [gold_cuis(i, linker.codes, known) & known for i in ids]
        concepts = set().union(*per_id) if per_id else set()
        covered = bool(ids) and all(per_id)  # BioSyn's remove_cuiless: every id must be in the dictionary

        parts, parts_plain = _published_parts(row, len(ids), resolved), _published_parts(row, len(ids), plain)
        if row.parts and resolve is not None and len(row.parts) == len(ids) > 1:  # the given parts, resolved too
            parts = [normalize(resolve(p, row.pmid)) for p in row.parts]
        out.append(_Query(row, concepts, covered, parts, parts_plain, resolved if resolved != plain else None))
    return out


def evaluate_mentions(
    linker: Linker,
    path: Path,
    *,
    protocol: str = "lenient",
    abbreviations: bool = True,
    ks: tuple[int, ...] = (1, 5),
    predictions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Coverage and acc@k of a mention file under a protocol: {"n", "covered", "coverage", "scored", "acc@k", …,
    "abbreviations": {...}, "without abbreviations": {"acc@k": …} (when documents were found)}. With `predictions`
    (a list), one record per mention is appended to it."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown --protocol {protocol!r}", fix=f"use one of {', '.join(PROTOCOLS)}")
    if linker.codes is None:
        raise UserError(
            "the index has no codes, so gold ids cannot be mapped to concepts",
            path=None,
            fix="extract the KG again with this version (it writes a codes table), then rebuild the index",
        )
    path = Path(path)
    rows = read_gold_mentions(path)
    corpus, documents = find_documents(path, rows) if abbreviations else (None, {})
    resolve = Resolver(documents) if documents else None
    queries = _queries(rows, protocol, linker, resolve)
    scored = [q for q in queries if q.covered]
    k = max(ks)
    texts = list(dict.fromkeys(t for q in scored for t in [*q.parts, *q.parts_plain]))
    found = dict(zip(texts, linker.link(texts, top_k=k), strict=True)) if texts else {}

    def hit_at(parts: list[str], concepts: set[str]) -> dict[int, bool]:
        # a mention is a hit at k when every part has a gold concept among its k best (BioSyn: all parts correct)
        return {j: all(any(c.cui in concepts for c in found[p][:j]) for p in parts) for j in ks}

    hits = {j: 0 for j in ks}
    plain_hits = {j: 0 for j in ks}
    for q in queries:
        h = hit_at(q.parts, q.concepts) if q.covered else {}
        h_plain = hit_at(q.parts_plain, q.concepts) if q.covered else {}
        for j in ks:
            hits[j] += h.get(j, False)
            plain_hits[j] += h_plain.get(j, False)
        if predictions is not None:
            predictions.append(
                {
                    "file": path.name,
                    "line": q.row.line,
                    "protocol": protocol,
                    "pmid": q.row.pmid,
                    "mention": q.row.mention,
                    "resolved": q.resolved,
                    "queries": q.parts,
                    "gold_ids": q.row.gold,
                    "gold_concepts": sorted(q.concepts),
                    "covered": q.covered,
                    "top": [
                        [{"cui": c.cui, "name": c.name, "score": round(c.score, 6)} for c in found[p]]
                        for p in (q.parts if q.covered else [])
                    ],
                    **{f"hit@{j}": h.get(j) for j in ks},
                }
            )
    n, n_scored = len(queries), len(scored)
    result: dict[str, Any] = {
        "n": n,
        "covered": n_scored,
        "coverage": 100.0 * n_scored / n,
        "scored": n_scored,
        **{f"acc@{j}": (100.0 * hits[j] / n_scored if n_scored else None) for j in ks},
        "protocol": protocol,
        "abbreviations": {
            "documents": corpus.name if corpus else None,
            "resolved": sum(q.resolved is not None for q in scored),
        },
    }
    if corpus is not None:
        result["without abbreviations"] = {
            "n": n,
            "scored": n_scored,
            **{f"acc@{j}": (100.0 * plain_hits[j] / n_scored if n_scored else None) for j in ks},
        }
    return result


def write_predictions(path: Path, records: list[dict[str, Any]]) -> None:
    """One JSON line per mention (and protocol), written atomically."""
    from kgbuild.core.atomic import atomic_write_bytes

    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    atomic_write_bytes(Path(path), text.encode("utf-8"))
