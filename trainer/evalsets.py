"""The public evaluation sets, fetched from their original sources into the layout `trainer evaluate` reads.

Each set names the public GitHub repository and snapshot commit it comes from (as in ../shared/evalsets/*/SOURCES.md);
every file is checked against the sha256 of that snapshot, and the files our readers need that the source does not
ship as such (mayosrs.tsv, the mention tables) are built here and checked against the sha256 of the copies in
../shared/evalsets. BIOSSES is left out: its only source is a RAR archive of two .docx tables, which Python cannot
unpack without an external tool.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kgbuild.core.atomic import atomic_dir
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, Task, silent

RAW_GITHUB = "https://raw.githubusercontent.com"
MIRROR_ENV = "KGBUILD_EVALSETS_MIRROR"  # a base URL laid out as OWNER/REPO/COMMIT/PATH (a mirror, a test server)


@dataclass(frozen=True)
class Remote:
    """A file of the source repository, stored byte for byte."""

    path: str  # in the repository
    name: str  # in the set's folder
    sha256: str


@dataclass(frozen=True)
class Built:
    """A file our readers need, made from the set's downloaded files."""

    name: str
    build: Callable[[Path], bytes]  # the set's folder → the file's bytes
    sha256: str


@dataclass(frozen=True)
class PublicSet:
    folder: str
    sets: str  # the rows of `trainer evaluate` (or the use) it feeds
    repo: str  # OWNER/NAME on GitHub
    commit: str
    licence: str
    files: tuple[Remote, ...]
    built: tuple[Built, ...] = ()
    warning: str = ""  # what a user must know before using it (non-commercial, third-party terms)
    skipped: str = ""  # why fetch leaves it out


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8").splitlines()


def _tsv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


def _mayosrs(folder: Path) -> bytes:
    """mayosrs.tsv: the terms file and the judgements file zipped line by line (same order, 101 lines each)."""
    terms, judgements = _lines(folder / "raw" / "mayoSRS.txt"), _lines(folder / "raw" / "mayoSRS_human_judgement.txt")
    if len(terms) != len(judgements):
        raise UserError(
            f"{len(terms)} term lines but {len(judgements)} judgement lines", path=folder / "raw", fix="fetch again"
        )
    rows = ["id\tterm1\tterm2\tcui1\tcui2\tscore"]
    for number, (pair, judgement) in enumerate(zip(terms, judgements, strict=True), start=1):
        term1, term2 = pair.split("<>")
        score, cui1, cui2 = judgement.split("<>")
        rows.append(f"{number}\t{term1}\t{term2}\t{cui1}\t{cui2}\t{score}")
    return _tsv(rows)


def _ncbi_mentions(corpus: str) -> Callable[[Path], bytes]:
    """The annotation lines of a PubTator file (6 tab-separated fields), as they are, under a header."""

    def build(folder: Path) -> bytes:
        rows = ["pmid\tstart\tend\tmention\tsemantic_type\tgold_ids"]
        rows += [line for line in _lines(folder / corpus) if line.count("\t") == 5]
        return _tsv(rows)

    return build


def _cdr_mentions(corpus: str, kind: str) -> Callable[[Path], bytes]:
    """The Disease or Chemical annotation lines of a BC5CDR PubTator file; composite_parts empty when absent."""

    def build(folder: Path) -> bytes:
        rows = ["pmid\tstart\tend\tmention\tsemantic_type\tgold_ids\tcomposite_parts"]
        for line in _lines(folder / corpus):
            fields = line.split("\t")
            if len(fields) in (6, 7) and fields[4] == kind:  # relation lines (PMID CID a b) have 4 fields
                rows.append("\t".join(fields + [""] * (7 - len(fields))))
        return _tsv(rows)

    return build


# The expected sha256 are those of the snapshot commits (checked against the repositories' git objects) and, for
# built files, of the copies in ../shared/evalsets.
PUBLIC_SETS: tuple[PublicSet, ...] = (
    PublicSet(
        "biosses",
        "BIOSSES",
        "gizemsogancioglu/biosses",
        "381b24030e06b77f9c50ee245e86c65cd700407a",
        "GPL-3.0 (repository licence; BigBio lists gpl-3.0)",
        (
            Remote(
                "sses-frontend/Downloads/BIOSSES-Dataset.rar",
                "BIOSSES-Dataset.rar",
                "f24b7e9756449e42873bd2e30603b3859eea699a7b991cf75554c27c0c562cb3",
            ),
            Remote(
                "LICENSE",
                "LICENSE.repo-gpl-3.0.txt",
                "323cd98925f7587487a5dfac7810e506eca094ac42651f22d98c58764e9ebc5f",
            ),
        ),
        skipped="its only source is a RAR archive of two .docx tables, which Python cannot unpack without an "
        "external tool; biosses/biosses.tsv (id, sentence1, sentence2, annotator_a..e, score) has to be "
        "made by hand from BIOSSES-Dataset.rar, or copied from a copy of the evaluation sets",
    ),
    PublicSet(
        "umnsrs",
        "UMNSRS-sim, UMNSRS-rel",
        "beamandrew/cui2vec",
        "624573fa57d94af4fd755ffc135d9a09a9a7908c",
        "CC0 1.0 (UMN Digital Conservancy); the cui2vec repository copy is MIT",
        (
            Remote(
                "inst/extdata/benchmarks/similarity_and_relatedness/UMNSRS_similarity.csv",
                "UMNSRS_similarity.csv",
                "f1bb96efddccff69006885596f084169da0b4d5939855bb6cc75da40cfd0f79c",
            ),
            Remote(
                "inst/extdata/benchmarks/similarity_and_relatedness/UMNSRS_relatedness.csv",
                "UMNSRS_relatedness.csv",
                "c38f2d91b3027ee26c03bb907a0aa8f7ad905af675fb263438fd4f478f191d00",
            ),
            Remote(
                "LICENSE.md",
                "LICENSE.cui2vec-repo-MIT.md",
                "61a02518547c24e04866e7e71abfccf895d4fbfcd6f289df3b45daf516995ff3",
            ),
        ),
    ),
    PublicSet(
        "mayosrs",
        "MayoSRS",
        "MarcelloBavaroff/BioNLP-2016",
        "0bbcf0c910408b6335fe6cf26409764498df6053",
        "CC0 1.0 (UMN Digital Conservancy)",
        (
            Remote(
                "wvlib/word-similarities/CUI/mayo/mayoSRS.txt",
                "raw/mayoSRS.txt",
                "fc3af6f59218f3ba7dd6c4b28d46fa6bb003ad643021891b6ad52744a62a1bd9",
            ),
            Remote(
                "wvlib/word-similarities/CUI/mayo/mayoSRS human judgement.txt",
                "raw/mayoSRS_human_judgement.txt",
                "8add439dddfe8d292e578c6d80ca9ab66b9cb9ba6b1afbe80abdadadc3fa3448",
            ),
        ),
        (Built("mayosrs.tsv", _mayosrs, "846146509a6056640b21aea0fd208769f837e2c4616eaa9eaae7c4e3967ea2a1"),),
    ),
    PublicSet(
        "ehr-rel",
        "EHR-Rel-B",
        "babylonhealth/EHR-Rel",
        "379b39efa17b7769e5d41f7b1b689e40dbe50efc",
        "Apache-2.0 (Babylon Partners); labels are SNOMED CT UK preferred terms",
        (
            Remote("EHR-RelB.tsv", "EHR-RelB.tsv", "f27d4aedbbf95f5aad6eb42f9a1687d7d30c42a914014187bbc9ec1090cf172d"),
            Remote("EHR-RelA.tsv", "EHR-RelA.tsv", "c04a522e6ade621105591b3e5232a43acf3e86fb7308544ad356c106f4b29179"),
            Remote(
                "LICENSE", "LICENSE.apache-2.0.txt", "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4"
            ),
            Remote("NOTICE", "NOTICE", "c272b97b9d0a996d3cdacbabc52baaeffcd13a85baa966ae27baefac61ffed70"),
        ),
    ),
    PublicSet(
        "sick",
        "SICK-R, SICK-R-test",
        "brmson/dataset-sts",
        "e1d3375f5b3bc24f21aa4e46f96eb379e9fc1081",
        "CC BY-NC-SA 3.0",
        (
            Remote(
                "data/sts/sick2014/SICK_train.txt",
                "SICK_train.txt",
                "266cf8047149bd1d68138dd30439f3122bff30069740ac6705bb6197d9f1b48e",
            ),
            Remote(
                "data/sts/sick2014/SICK_trial.txt",
                "SICK_trial.txt",
                "5a88cfb62f8c6bd2a3cce0f2421ba2cb8c2be5ab4a800f6f01e2c64aafb7db56",
            ),
            Remote(
                "data/sts/sick2014/SICK_test_annotated.txt",
                "SICK_test_annotated.txt",
                "2b8aa806658d6fc23c6824c83776c2d4fee7556000817b5ec0f982861413b7d0",
            ),
            Remote(
                "data/sts/sick2014/readme.txt",
                "readme.txt",
                "4ff14a2b07603f2214c2803a6e012048c795be5ba4e5d1d33b87d7210f633bf7",
            ),
        ),
        warning="NON-COMMERCIAL, share-alike: research use only; keep it out of anything you ship or sell",
    ),
    PublicSet(
        "stsb",
        "STS-B",
        "zhangzhenhu/Semantic-Texual-Similarity-Toolkits",
        "c55a72f51bd15a8bd75114247c06984b432050f9",
        "scores CC BY-SA 4.0; texts keep their sources' terms (see LICENSE.txt)",
        (
            Remote(
                "data/stsbenchmark/sts-test.csv",
                "sts-test.csv",
                "affe45928a66ee5a708531233c95b7dacbbdc57f974f002a3d32ea0180cf816a",
            ),
            Remote(
                "data/stsbenchmark/sts-dev.csv",
                "sts-dev.csv",
                "5d7e944d8b02734b07bfdb5df67db3420c64bed153fcaa1ba47ad03480cf4234",
            ),
            Remote(
                "data/stsbenchmark/LICENSE.txt",
                "LICENSE.txt",
                "3dfc3217395f8c5dd05c5f8995f25fe2f8fd258e6dd770b3de480749caee8c70",
            ),
            Remote(
                "data/stsbenchmark/readme.txt",
                "readme.txt",
                "e9488363d211c32ca5e912954f16eb9233cfed1b5b4b0475d0d812d35d7c8ef1",
            ),
        ),
        warning="the MSR video and paraphrase texts need Microsoft Research's terms to be redistributed",
    ),
    PublicSet(
        "ncbi-disease",
        "mention tables for --mentions",
        "spyysalo/ncbi-disease",
        "5a266c6fc76fb2b5184cfa397ff0a5ecdb133aec",
        "US Government work, public domain",
        (
            Remote(
                "original-data/test/NCBItestset_corpus.txt",
                "NCBItestset_corpus.txt",
                "61c8050bf6979ef7b943ec1158dfc03b651ea3367d4c37356f9de4841e85c9a3",
            ),
            Remote(
                "original-data/devel/NCBIdevelopset_corpus.txt",
                "NCBIdevelopset_corpus.txt",
                "02db559974624ae9cbe6cd95d64d953e6926bb63afb6b25b63e53bd8b41a4b55",
            ),
            Remote(
                "original-data/LICENSE",
                "LICENSE.txt",
                "77f63de888c0a31dbdcc3f19a66d9c7ea64072f487fb302f250b1e7593d50ec9",
            ),
        ),
        (
            Built(
                "ncbi_disease_test_mentions.tsv",
                _ncbi_mentions("NCBItestset_corpus.txt"),
                "41c20ddf3ec3e91b308d66ae0cdabcb61d54d2d0bdf5c148c53e44173b728fc6",
            ),
            Built(
                "ncbi_disease_dev_mentions.tsv",
                _ncbi_mentions("NCBIdevelopset_corpus.txt"),
                "abb0bacc3772235877453eb7b66815a01bf9ffa824d262a60a2b65992d519d0c",
            ),
        ),
    ),
    PublicSet(
        "bc5cdr",
        "mention tables for --mentions",
        "cambridgeltl/bmip-2018",
        "0b66ee9245653b622cb6c36ba13d018b21b5b80e",
        "Public Domain Mark 1.0 (BigBio)",
        (
            Remote(
                "BC5-CDR/original-data/CDR_TestSet.PubTator.txt",
                "CDR_TestSet.PubTator.txt",
                "a3c48d5f35bdfce20c2371778abedc9fd24d1da092207072e5181ad53c8d0e2f",
            ),
            Remote(
                "BC5-CDR/original-data/CDR_DevelopmentSet.PubTator.txt",
                "CDR_DevelopmentSet.PubTator.txt",
                "9e18d8e700168887a7919e62f67ac2ce2357e3f409a48ee992906abdd80fe3e5",
            ),
        ),
        (
            Built(
                "bc5cdr_disease_test_mentions.tsv",
                _cdr_mentions("CDR_TestSet.PubTator.txt", "Disease"),
                "5efa7bb6288f4fea575d4065be37bc493a9a1b676b7b697fbbd1980a6ec680fe",
            ),
            Built(
                "bc5cdr_chemical_test_mentions.tsv",
                _cdr_mentions("CDR_TestSet.PubTator.txt", "Chemical"),
                "870972a1e9ab28c47f35240c16d5f402ab322886ed18e0bd8c7301c867c4ffb0",
            ),
            Built(
                "bc5cdr_disease_dev_mentions.tsv",
                _cdr_mentions("CDR_DevelopmentSet.PubTator.txt", "Disease"),
                "096b3e9c4329c3d9e69457e03cf8d3c97225453af34a1cee702869370627f676",
            ),
            Built(
                "bc5cdr_chemical_dev_mentions.tsv",
                _cdr_mentions("CDR_DevelopmentSet.PubTator.txt", "Chemical"),
                "9fc6c91599b869031b4a3f3ea662f43cf1a95067e2b120b8af31099dfaad3d61",
            ),
        ),
    ),
)
# The mention corpora by the names the README and --mentions' help give them (they are no `evaluate --sets` row).
_MENTION_SETS = {"ncbi-disease": "NCBI-disease", "bc5cdr": "BC5CDR"}


def set_names(spec: PublicSet) -> list[str]:
    """The names `fetch --only` takes for a set: those of `trainer evaluate --sets` (UMNSRS-sim, SICK-R, …), or the
    mention corpus's (NCBI-disease, BC5CDR)."""
    return [_MENTION_SETS[spec.folder]] if spec.folder in _MENTION_SETS else [n.strip() for n in spec.sets.split(",")]


NAMES = tuple(n for s in PUBLIC_SETS for n in set_names(s))


def folder_of(name: str) -> str | None:
    """The folder that holds a set named as `trainer evaluate --sets` names it; its folder's own name (umnsrs, sick:
    what --only took before) still works."""
    return next((s.folder for s in PUBLIC_SETS if name == s.folder or name in set_names(s)), None)


def licence_line(spec: PublicSet) -> str:
    """One line a user reads before using the set: folder, the rows it feeds, its licence, and any warning."""
    line = f"{spec.folder} ({spec.sets}): {spec.licence}"
    if spec.warning:
        line += f" — WARNING: {spec.warning}"
    if spec.skipped:
        line += f" — NOT FETCHED: {spec.skipped}"
    return line


def url_of(base: str, spec: PublicSet, remote: Remote) -> str:
    return f"{base.rstrip('/')}/{spec.repo}/{spec.commit}/{urllib.parse.quote(remote.path)}"


# No file of the public sets is near this size, nor takes this long on a working line: a mirror that sends more, or
# trickles a byte at a time (each read on time, the whole never done), is cut off with one line.
MAX_BYTES = 64 * 1024 * 1024
DEADLINE_S = 600.0


def download(url: str, *, timeout: float = 60.0) -> bytes:
    """The body of a GET, within `timeout` per read, DEADLINE_S in all and MAX_BYTES; every failure is one error
    naming the URL (a body cut short included)."""
    fix = (
        f"check the network (or the mirror in {MIRROR_ENV} / --mirror) and run the command again; if the source "
        "has moved, fetch the file by hand (see the set's SOURCES.md)"
    )
    deadline_s, max_bytes = DEADLINE_S, MAX_BYTES  # read at each call (a test shortens them)
    started = time.monotonic()
    chunks: list[bytes] = []
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http(s) URLs we build)
            while chunk := response.read1(256 * 1024):  # what has arrived: the deadline is looked at between reads
                size += len(chunk)
                if size > max_bytes:
                    raise UserError(f"download failed: more than {max_bytes:,} bytes", path=url, fix=fix)
                if time.monotonic() - started > deadline_s:
                    raise UserError(f"download failed: not done after {deadline_s:,.0f} s", path=url, fix=fix)
                chunks.append(chunk)
            if response.length:  # the connection closed before Content-Length bytes came (read1 does not say so)
                raise http.client.IncompleteRead(b"", response.length)
    except urllib.error.HTTPError as exc:
        raise UserError(f"download failed: HTTP {exc.code} {exc.reason}", path=url, fix=fix) from None
    except http.client.IncompleteRead as exc:
        got = size + len(exc.partial)
        raise UserError(
            f"download failed: the body ended after {got:,} of {got + (exc.expected or 0):,} bytes", path=url, fix=fix
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise UserError(f"download failed: {type(exc).__name__}: {reason}", path=url, fix=fix) from None
    return b"".join(chunks)


def _check(data: bytes, expected: str, what: str, *, fix: str) -> None:
    got = hashlib.sha256(data).hexdigest()
    if got != expected:
        raise UserError(f"sha256 mismatch: got {got}, expected {expected}", path=what, fix=fix)


def _sources_md(spec: PublicSet) -> str:
    lines = [
        f"# {spec.folder} (for {spec.sets})",
        "",
        f"- Source: `{spec.repo}` (GitHub) at commit `{spec.commit}`, fetched by `trainer evalsets fetch`",
        f"- Licence: {spec.licence}",
    ]
    if spec.warning:
        lines.append(f"- Warning: {spec.warning}")
    lines += ["- Files (sha256 checked):"]
    lines += [f"  - `{r.name}` = `{r.path}` `{r.sha256}`" for r in spec.files]
    lines += [f"  - `{b.name}` built from the files above `{b.sha256}`" for b in spec.built]
    return "\n".join(lines) + "\n"


def fetch(
    out: Path,
    *,
    force: bool = False,
    base: str | None = None,
    only: list[str] | None = None,
    report: Reporter = silent,
) -> list[PublicSet]:
    """Download, check and lay out the public sets in `out` (atomically); returns the sets chosen (written or
    skipped with their reason), for their licence lines. `report` hears the "fetch" step, a count of files."""
    base = base or os.environ.get(MIRROR_ENV) or RAW_GITHUB
    unknown = [name for name in only or [] if folder_of(name) is None]
    if unknown:
        raise UserError(f"unknown set(s) {unknown}", fix=f"choose from {', '.join(NAMES)}")
    wanted = {folder_of(name) for name in only or []}
    chosen = [s for s in PUBLIC_SETS if not only or s.folder in wanted]
    todo = [s for s in chosen if not s.skipped]
    if not todo:
        raise UserError(
            f"{', '.join(s.folder for s in chosen)} cannot be fetched: {chosen[0].skipped}",
            fix="see the README's Evaluation sets section",
        )
    # transient: a failed run leaves its one error line only
    with (
        atomic_dir(out, force=force, option="DIR", report=report) as tmp,
        Task(report, "fetch", sum(len(s.files) for s in todo), unit="files", transient=True) as task,
    ):
        for spec in todo:
            folder = tmp / spec.folder
            for remote in spec.files:
                task.update(task.done, note=f"{spec.folder}/{remote.name}")
                url = url_of(base, spec, remote)
                data = download(url)
                _check(
                    data,
                    remote.sha256,
                    url,
                    fix="the download is corrupt or the source changed; run the "
                    "command again, and if it persists, fetch the file by hand (see SOURCES.md)",
                )
                (folder / remote.name).parent.mkdir(parents=True, exist_ok=True)
                (folder / remote.name).write_bytes(data)
                task.advance()
            for built in spec.built:
                data = built.build(folder)
                _check(
                    data,
                    built.sha256,
                    f"{spec.folder}/{built.name}",
                    fix="the file built from the download differs from the known copy; report it",
                )
                (folder / built.name).write_bytes(data)
            (folder / "SOURCES.md").write_text(_sources_md(spec), encoding="utf-8")
        _write_manifest(tmp, base, todo, [s for s in chosen if s.skipped])
    return chosen


def _write_manifest(folder: Path, base: str, written: list[PublicSet], skipped: list[PublicSet]) -> None:
    from datetime import UTC, datetime

    from kgbuild.core.manifest import versions

    doc = {
        "command": "trainer evalsets fetch",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": {"base_url": base},
        "versions": versions(),
        "sets": [
            {
                "folder": s.folder,
                "repo": s.repo,
                "commit": s.commit,
                "licence": s.licence,
                "warning": s.warning or None,
                "files": {**{r.name: r.sha256 for r in s.files}, **{b.name: b.sha256 for b in s.built}},
            }
            for s in written
        ],
        "skipped": {s.folder: s.skipped for s in skipped},
    }
    (folder / "manifest.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
