"""build-pairs on the bundled sample release, extracted by `kgbuild extract --umls` (the root conftest's sample_kg)."""

from __future__ import annotations

import duckdb
import pytest

from kgbuild.core.contracts import check_folder
from kgbuild.pairs import build_pairs


@pytest.fixture(scope="module")
def sample_pairs(sample_kg, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample-pairs") / "pairs"
    build_pairs(sample_kg, out)
    return out


def q(sql):
    return duckdb.connect().execute(sql).fetchall()


def test_exact_descriptions_of_known_concepts(sample_pairs):
    got = dict(
        q(
            f"SELECT cui, description FROM '{sample_pairs}/descriptions.parquet' "
            "WHERE cui IN ('C0006840', 'C0006849', 'C0348110')"
        )
    )
    assert got == {
        "C0006840": "Candidiasis is a disease or syndrome which is a kind of unspecified mycosis "
        "and has causative agent candida.",
        "C0006849": "Candidiasis, Oral is a disease or syndrome which is a kind of candidiasis.",
        "C0348110": "Certain zoonotic bacterial diseases (A20-A28) is a disease or syndrome which is a kind of "
        "certain infectious and parasitic diseases (A00-B99).",
    }


def test_no_concept_in_two_splits_and_linking_only_on_held_out_concepts(sample_pairs):
    assert q(
        f"SELECT count(*) FROM (SELECT cui FROM '{sample_pairs}/pairs.parquet' GROUP BY cui "
        "HAVING count(DISTINCT split) > 1)"
    ) == [(0,)]
    train = {r[0] for r in q(f"SELECT DISTINCT cui FROM '{sample_pairs}/pairs.parquet' WHERE split = 'train'")}
    linking = {r[0] for r in q(f"SELECT DISTINCT cui FROM '{sample_pairs}/linking.parquet'")}
    assert linking and not linking & train


def test_contracts_and_datasets_loading(sample_pairs):
    assert all(c.passed for checks in check_folder(sample_pairs).values() for c in checks)
    from datasets import load_dataset

    ds = load_dataset("parquet", data_files=str(sample_pairs / "pairs.parquet"), split="train")
    assert ds.column_names[:2] == ["anchor", "positive"]
    assert set(ds["kind"]) == {"definition", "description", "synonym"}
