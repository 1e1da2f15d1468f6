"""extract --vocab: flat dictionaries in every shape give the same KG tables as the same terms in a plain TSV.

The rows are CTD MEDIC's layout with real MeSH and OMIM ids and names (diseases of the NCBI-disease gold)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kgbuild.core.contracts import check_folder
from kgbuild.core.errors import UserError
from kgbuild.core.tables import differences
from kgbuild.sources.extract import extract_sources

# DiseaseName, DiseaseID, AltDiseaseIDs, Definition, ParentIDs, Synonyms
ROWS = [
    ("Diabetes Mellitus", "MESH:D003920", "DO:DOID:9351", "A heterogeneous group of disorders.", "MESH:D044882", ""),
    (
        "Diabetes Mellitus, Type 2",
        "MESH:D003924",
        "OMIM:125853|DO:DOID:9352",
        "",
        "MESH:D003920",
        "Diabetes Mellitus, Noninsulin-Dependent|NIDDM|Type 2 Diabetes",
    ),
    ("Glucose Metabolism Disorders", "MESH:D044882", "", "", "", ""),
    ("Ataxia Telangiectasia", "OMIM:208900", "", "", "MESH:D044882", "Louis-Bar Syndrome"),
]
CTD_HEADER = (
    "# Comparative Toxicogenomics Database (CTD), http://ctdbase.org/\n#\n# Fields:\n"
    "# DiseaseName\tDiseaseID\tAltDiseaseIDs\tDefinition\tParentIDs\tTreeNumbers\tParentTreeNumbers\tSynonyms\t"
    "SlimMappings\n#\n"
)
COLUMNS = "id=id,name=name,synonyms=synonyms:|,definition=definition,parents=parents:|,xrefs=alt:|"


def ctd_text() -> str:
    lines = [f"{n}\t{i}\t{a}\t{d}\t{p}\t\t\t{s}\t" for n, i, a, d, p, s in ROWS]
    return CTD_HEADER + "\n".join(lines) + "\n"


def records() -> list[dict[str, str]]:
    return [dict(zip(("name", "id", "alt", "definition", "parents", "synonyms"), r, strict=True)) for r in ROWS]


def _extract(tmp_path: Path, name: str, **shape) -> Path:
    out = tmp_path / f"kg-{name.replace('.', '-')}"
    extract_sources([("--vocab", tmp_path / name, shape)], out)
    return out


@pytest.fixture
def ctd_kg(tmp_path) -> Path:
    (tmp_path / "medic.tsv").write_text(ctd_text(), encoding="utf-8")
    return _extract(tmp_path, "medic.tsv", layout="ctd")


def rows(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    return con.execute(query).fetchall()


def test_ctd_layout(ctd_kg):
    assert all(c.passed for checks in check_folder(ctd_kg).values() for c in checks)
    assert rows(ctd_kg / "names.parquet", "SELECT cui, name, sab, tty, is_preferred FROM t")[:4] == [
        ("MESH:D003920", "Diabetes Mellitus", "MEDIC", "PT", True),
        ("MESH:D003924", "Diabetes Mellitus, Type 2", "MEDIC", "PT", True),
        ("MESH:D003924", "Diabetes Mellitus, Noninsulin-Dependent", "MEDIC", "EXACT", False),
        ("MESH:D003924", "NIDDM", "MEDIC", "EXACT", False),
    ]
    # ids and alternative ids that are codes become codes (CTD writes DO's ids inside its DO: prefix)
    assert rows(ctd_kg / "codes.parquet", "SELECT * FROM t WHERE cui = 'MESH:D003924'") == [
        ("MESH:D003924", "DOID", "DOID:9352", "xref"),
        ("MESH:D003924", "MSH", "D003924", "term"),
        ("MESH:D003924", "OMIM", "125853", "xref"),
    ]
    assert rows(ctd_kg / "codes.parquet", "SELECT sab, code FROM t WHERE cui = 'OMIM:208900'") == [("OMIM", "208900")]
    assert rows(ctd_kg / "relations.parquet", "SELECT head_cui, relation, rel, tail_cui FROM t") == [
        ("MESH:D003920", "is_a", "CHD", "MESH:D044882"),
        ("MESH:D003924", "is_a", "CHD", "MESH:D003920"),
        ("OMIM:208900", "is_a", "CHD", "MESH:D044882"),
    ]
    assert rows(ctd_kg / "definitions.parquet", "SELECT cui, definition FROM t") == [
        ("MESH:D003920", "A heterogeneous group of disorders.")
    ]
    # the is_a hierarchy gives the semantic types, as for an ontology (the only root gives way to its children)
    assert rows(ctd_kg / "concepts.parquet", "SELECT cui, semantic_types FROM t ORDER BY cui") == [
        ("MESH:D003920", []),
        ("MESH:D003924", ["Diabetes Mellitus"]),
        ("MESH:D044882", []),
        ("OMIM:208900", []),
    ]
    assert rows(ctd_kg / "sources.parquet", "SELECT sab, name, version FROM t") == [("MEDIC", "medic", None)]


@pytest.mark.parametrize(
    ("name", "write", "shape"),
    [
        ("medic.tsv.gz", lambda p: p.write_bytes(gzip.compress(ctd_text().encode())), {"layout": "ctd"}),
        (
            "medic.csv",
            lambda p: pa.csv.write_csv(pa.Table.from_pylist(records()), p),
            {"columns": COLUMNS},
        ),
        (
            "medic.jsonl",
            lambda p: p.write_text("\n".join(json.dumps(r) for r in records()) + "\n", encoding="utf-8"),
            {"columns": COLUMNS},
        ),
        ("medic.parquet", lambda p: pq.write_table(pa.Table.from_pylist(records()), p), {"columns": COLUMNS}),
    ],
)
def test_every_shape_gives_the_tsv_tables(ctd_kg, tmp_path, name, write, shape):
    import pyarrow.csv  # noqa: F401  (pa.csv above)

    write(tmp_path / name)
    assert differences(ctd_kg, _extract(tmp_path, name, **shape)) == []


def test_scispacy_jsonl_and_biosyn_lines_give_the_same_tables(tmp_path):
    """A scispacy KnowledgeBase and a BioSyn dictionary of the same names (bare MeSH ids, as BioSyn writes them)."""
    kb = [
        {"concept_id": "D003924", "canonical_name": "Diabetes Mellitus, Type 2", "aliases": ["NIDDM"], "types": []},
        {"concept_id": "D001943", "canonical_name": "Breast Neoplasms", "aliases": [], "types": []},
    ]
    (tmp_path / "dict.jsonl").write_text("\n".join(json.dumps(r) for r in kb) + "\n", encoding="utf-8")
    (tmp_path / "dict.txt").write_text(
        "D003924||Diabetes Mellitus, Type 2\nD003924||NIDDM\nD001943||Breast Neoplasms\n", encoding="utf-8"
    )
    jsonl = _extract(tmp_path, "dict.jsonl", layout="scispacy")
    assert differences(jsonl, _extract(tmp_path, "dict.txt", layout="biosyn")) == []
    assert rows(jsonl / "codes.parquet", "SELECT * FROM t") == [
        ("D001943", "MSH", "D001943", "term"),
        ("D003924", "MSH", "D003924", "term"),
    ]


def test_scispacy_types_are_semantic_types(tmp_path):
    kb = {"concept_id": "C0011860", "canonical_name": "Type 2 diabetes", "aliases": [], "types": ["T047"]}
    (tmp_path / "umls_kb.jsonl").write_text(json.dumps(kb) + "\n", encoding="utf-8")
    kg = _extract(tmp_path, "umls_kb.jsonl", layout="scispacy")
    assert rows(kg / "semantic_types.parquet", "SELECT cui, tui FROM t") == [("C0011860", "T047")]
    assert rows(kg / "umls_xrefs.parquet", "SELECT * FROM t") == [("C0011860", "C0011860")]  # a bare CUI id


@pytest.mark.parametrize(
    ("name", "text", "shape", "message"),
    [
        ("a.tsv", "name\tsyn\nx\ty\n", {"columns": "id=id,name=name"}, r"a\.tsv:2: no id column for the id"),
        ("a.tsv", "x\n", {"columns": "id=id"}, r"--columns names no name column"),
        ("a.tsv", "x\n", {"columns": "ids=id,name=n"}, r"--columns 'ids=id': expected FIELD=COLUMN"),
        ("a.tsv", "x\n", {"layout": "medic"}, r"unknown --layout 'medic'"),
        ("a.tsv", "x\n", {}, r"a\.tsv: a dictionary needs its layout"),
        ("a.txt", "D1||a\nD2 a\n", {"layout": "biosyn"}, r"a\.txt:2: expected 'id\|\|name'"),
        ("a.tsv", "id\tname\nD1\ta\nD1\tb\n", {"columns": "id=id,name=name"}, r"a\.tsv:3: id D1 is given twice"),
    ],
)
def test_bad_dictionaries(tmp_path, name, text, shape, message):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        _extract(tmp_path, name, **shape)
    assert not list(tmp_path.glob("kg-*"))


def test_layouts_and_column_maps_pair_with_vocab_files_in_order():
    from kgbuild.commands.extract import _shapes

    files = [Path("a.tsv"), Path("b.jsonl"), Path("c.csv")]
    assert _shapes(files, ["ctd"], []) == [{"layout": "ctd", "columns": None}] * 3
    assert _shapes(files, ["ctd", "columns", "scispacy"], ["id=x,name=y"]) == [
        {"layout": "ctd"},
        {"layout": None, "columns": "id=x,name=y"},
        {"layout": "scispacy"},
    ]
    with pytest.raises(UserError, match=r"3 --vocab with 2 --layout and 1 --columns: which goes with which"):
        _shapes(files, ["ctd", "scispacy"], ["id=x,name=y"])
