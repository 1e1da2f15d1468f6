"""Fixtures of the generate-definitions tests, loaded with `pytest_plugins = ["tests.helpers.llm_fixtures"]`.

Not a conftest.py: other test folders import their `conftest` module by name, and a second conftest.py would
shadow it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.llm_fake_server import FakeOpenAI
from tests.helpers.llm_helpers import write_kg


@pytest.fixture
def kg(tmp_path: Path) -> Path:
    return write_kg(tmp_path / "kg")


@pytest.fixture
def kg40(tmp_path: Path) -> Path:
    """4 real-looking targets + 40 generated ones."""
    return write_kg(tmp_path / "kg40", n_extra=40)


@pytest.fixture
def fake():
    """Start loopback fake OpenAI servers with `fake(**options)`; all are stopped after the test."""
    servers: list[FakeOpenAI] = []

    def start(**kwargs) -> FakeOpenAI:
        server = FakeOpenAI(max_lifetime_s=120, **kwargs).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
