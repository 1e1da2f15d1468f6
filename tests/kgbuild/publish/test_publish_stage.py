"""The staged repository folder: shards, configs that `datasets.load_dataset` reads, contracts, card, manifest."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from kgbuild.core.contracts import columns
from kgbuild.publish import PublishOptions, publish_dataset
from kgbuild.publish.publisher import default_stage_dir
from kgbuild.publish.stage import write_shards
from tests.helpers.publish_kg import ROWS

KG_TABLES = [
    "codes",
    "concepts",
    "definitions",
    "names",
    "relation_labels",
    "relations",
    "semantic_types",
    "sources",
]


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    from tests.helpers.publish_kg import make_kg

    root = tmp_path_factory.mktemp("stage")
    kg = make_kg(root / "kg")
    # A tiny shard size forces several shards per table, as a large KG would have.
    result = publish_dataset(
        kg, PublishOptions(repo_id="my-lab/umls-kg", dry_run=True, stage_dir=root / "repo"), shard_bytes=900
    )
    return kg, result


def test_every_config_loads_with_datasets_and_matches_the_source(staged, tmp_path):
    kg, result = staged
    folder = result.staged.folder
    assert result.uploaded is None and folder.is_dir()
    assert sorted(t.name for t in result.staged.tables) == KG_TABLES
    for table in KG_TABLES:
        ds = load_dataset(str(folder), table, split="train", cache_dir=str(tmp_path / "cache"))
        assert ds.column_names == columns(table)
        expected = pq.read_table(kg / f"{table}.parquet").to_pylist()
        assert ds.to_list() == expected  # same rows, same order
    # The names table with its `|` inside a name survives untouched.
    names = load_dataset(str(folder), "names", split="train", cache_dir=str(tmp_path / "cache"))
    assert "Low body temperature | cold" in names["name"]


def test_shards_are_named_and_sized_like_push_to_hub(staged):
    _, result = staged
    folder = result.staged.folder
    names = next(t for t in result.staged.tables if t.name == "names")
    assert len(names.shards) > 1
    n = len(names.shards)
    assert names.shards == [f"names/train-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    counts = [pq.ParquetFile(folder / s).metadata.num_rows for s in names.shards]
    assert sum(counts) == len(ROWS["names"]) and max(counts) - min(counts) <= 1
    assert sorted(p.name for p in (folder / "contracts").iterdir()) == [f"{t}.odcs.yaml" for t in KG_TABLES]


def test_card_metadata_has_one_config_per_table_and_the_licence(staged):
    _, result = staged
    card = DatasetCard.load(result.staged.folder / "README.md")
    data = card.data.to_dict()
    assert [c["config_name"] for c in data["configs"]] == KG_TABLES
    assert data["configs"][1] == {
        "config_name": "concepts",
        "default": True,
        "data_files": [{"split": "train", "path": "concepts/train-*.parquet"}],
    }
    assert data["license"] == "other" and data["license_name"] == "nlm-umls-licence"
    assert "umls" in data["license_link"] and data["language"] == ["en"]
    assert data["size_categories"] == ["n<1K"]


def test_card_text_describes_tables_release_filters_version_licence_and_citation(staged):
    _, result = staged
    text = (result.staged.folder / "README.md").read_text(encoding="utf-8")
    assert "UMLS Metathesaurus release **2025AA**" in text
    assert '- `exclude_sabs`: ["SNOMEDCT_US"]' in text and '- `langs`: ["ENG"]' in text
    assert "Published with kgbuild 0.1.0" in text
    assert "| `aui` | VARCHAR | yes | MRCONSO.AUI (for OBO, the term id plus a synonym index). |" in text
    assert "5 rows (one row per atom (aui))" in text
    assert "UMLS Metathesaurus License Agreement" in text and "| MSH | MeSH | 2025 | 0 | 5 |" in text
    assert "Remy, Fran" in text and "Demuynck, Kris" in text and "Demeester, Thomas" in text
    assert "10.1093/jamia/ocae029" in text and "Journal of the American Medical Informatics Association" in text


def test_manifest_is_published_without_local_paths(staged):
    kg, result = staged
    published = json.loads((result.staged.folder / "manifest.json").read_text())
    original = json.loads((kg / "manifest.json").read_text())
    assert original["inputs"]["umls"] == "/srv/licensed/umls/META"
    assert published["inputs"]["umls"] == "META"
    assert published["tables"] == original["tables"] and published["release"]["name"] == "2025AA"


def test_dry_run_default_stage_dir_sits_beside_data_dir_and_needs_force_to_replace(kg, monkeypatch):
    from kgbuild.core.errors import UserError

    monkeypatch.delenv("HF_TOKEN", raising=False)  # a dry run needs no token
    result = publish_dataset(kg, PublishOptions(repo_id="my-lab/kg", dry_run=True))
    assert result.staged.folder == default_stage_dir(kg) == kg.parent / "kg.hub"
    with pytest.raises(UserError, match="already exists"):
        publish_dataset(kg, PublishOptions(repo_id="my-lab/kg", dry_run=True))
    assert publish_dataset(kg, PublishOptions(repo_id="my-lab/kg", dry_run=True, force=True)).staged.folder.is_dir()


def test_write_shards_keeps_row_order_across_files_and_shards(tmp_path):
    from tests.helpers.publish_kg import write_table

    rows = [(f"C{i:07d}", "rel", "RO", f"C{i + 1:07d}", "MSH") for i in range(1000)]
    a = write_table(tmp_path, "relations", rows[:400], name="relations-0.parquet")
    b = write_table(tmp_path, "relations", rows[400:], name="relations-1.parquet")
    n, paths = write_shards([str(a), str(b)], tmp_path / "out", shard_bytes=3000)
    assert n == 1000 and len(paths) > 2
    back = [r for p in paths for r in pq.read_table(p).to_pylist()]
    assert [r["head_cui"] for r in back] == [r[0] for r in rows]


@pytest.mark.slow
def test_pairs_and_linking_are_staged_as_real_splits_and_no_concept_crosses_them(sample_kg, tmp_path):
    """`load_dataset(repo, "pairs", split="train")` must hold train concepts only: the held-out test concepts of a
    published dataset never reach someone's training run."""
    from kgbuild.pairs.build import build_pairs

    pairs = tmp_path / "pairs"
    build_pairs(sample_kg, pairs)
    result = publish_dataset(
        pairs,
        PublishOptions(
            repo_id="my-lab/umls-pairs", dry_run=True, stage_dir=tmp_path / "repo", acknowledge_rights=True
        ),
    )
    folder = result.staged.folder
    card = DatasetCard.load(folder / "README.md")
    configs = {c["config_name"]: c["data_files"] for c in card.data.to_dict()["configs"]}
    # The linking set is built from held-out concepts only: it has no train split.
    for table, splits in (("pairs", ["train", "validation", "test"]), ("linking", ["validation", "test"])):
        assert [f["split"] for f in configs[table]] == splits
        cuis: dict[str, set[str]] = {}
        for split, value in (("train", "train"), ("validation", "dev"), ("test", "test")):
            if split not in splits:
                continue
            ds = load_dataset(str(folder), table, split=split, cache_dir=str(tmp_path / "cache"))
            assert ds.num_rows > 0 and set(ds["split"]) == {value}
            cuis[split] = set(ds["cui"])
        train = cuis.get("train", set())
        assert not train & cuis["test"] and not train & cuis["validation"] and not cuis["validation"] & cuis["test"]
        source = pq.read_table(pairs / f"{table}.parquet")
        assert sum(len(c) for c in cuis.values()) == len(set(source.column("cui").to_pylist()))
    run_card_snippets(folder, "my-lab/umls-pairs", tmp_path)


def run_card_snippets(folder, repo_id, tmp_path):
    """Every Python example of a staged card runs as written against the staged folder (standing in for the Hub
    repository), and each gives rows: a card that tells users a split the table lacks fails here."""
    import re
    import runpy

    card = (folder / "README.md").read_text(encoding="utf-8")
    snippets = re.findall(r"```python\n(.*?)```", card, flags=re.S)
    assert snippets
    for i, code in enumerate(snippets):
        assert repo_id in code
        path = tmp_path / f"snippet_{i}.py"
        path.write_text(code.replace(f'"{repo_id}"', repr(str(folder))), encoding="utf-8")
        ds = runpy.run_path(str(path))["ds"]
        assert ds.num_rows > 0, code


def test_every_example_of_the_kg_card_runs(staged, tmp_path):
    run_card_snippets(staged[1].staged.folder, "my-lab/umls-kg", tmp_path)
