from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the fake server and helpers beside these tests

from llm_fake_server import FakeOpenAI  # noqa: E402
from llm_helpers import write_kg  # noqa: E402


@pytest.fixture
def kg(tmp_path: Path) -> Path:
    return write_kg(tmp_path / "kg")


@pytest.fixture
def kg40(tmp_path: Path) -> Path:
    """4 real-looking targets + 40 generated ones."""
    return write_kg(tmp_path / "kg40", n_extra=40)


@pytest.fixture
def fake():
    servers: list[FakeOpenAI] = []

    def start(**kwargs) -> FakeOpenAI:
        server = FakeOpenAI(max_lifetime_s=120, **kwargs).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
