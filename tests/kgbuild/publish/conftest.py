"""Fixtures for the publish tests: a KG folder, a Hub token in the environment, the loopback card validator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.publish_hub import CardValidator, online
from tests.helpers.publish_kg import make_kg

TOKEN = "hf_publishTestToken0123456789abcdef"


@pytest.fixture
def kg(tmp_path) -> Path:
    return make_kg(tmp_path / "kg")


@pytest.fixture
def hub_token(monkeypatch) -> str:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
def card_validator(monkeypatch):
    """Point huggingface_hub's card validation at a loopback server (real HTTP, no network)."""
    with CardValidator() as server:
        online(monkeypatch, server.url)
        yield server
