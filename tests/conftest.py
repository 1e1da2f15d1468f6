from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_META = Path(__file__).parent.parent / "kgbuild" / "sample" / "META"


@pytest.fixture(scope="session")
def sample_meta() -> Path:
    return SAMPLE_META


@pytest.fixture(scope="session")
def sample_kg(tmp_path_factory) -> Path:
    """The bundled sample extracted once per test session (ENG only, default filters)."""
    from kgbuild.umls.extract import extract_umls

    out = tmp_path_factory.mktemp("sample") / "kg"
    extract_umls(SAMPLE_META, out, progress=False)
    return out
