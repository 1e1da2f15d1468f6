"""The OBO parser on the syntax corners, and one clear error with the line for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.core.errors import UserError
from kgbuild.obo import parse_obo
from kgbuild.obo.terms import read_terms

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "obo"


def test_mini_fixture_syntax_corners():
    doc = parse_obo(FIXTURES / "mini.obo")
    assert doc.header_value("ontology") == "hp"
    assert doc.header_value("data-version") == "mini/releases/2026-01-01"
    terms, typedefs = read_terms(doc)
    by_id = {t.id: t for t in terms}
    head = by_id["HP:0000234"]
    # escaped quotes, and a "!" inside the quoted text is text; the comment after the xrefs is gone
    assert head.definition == 'An abnormality of the "head", the anterior part of the body!'
    micro = by_id["HP:0000252"]
    assert micro.definition == "Head circumference below 2 standard deviations below the mean for age and gender."
    assert [(s.text, s.scope) for s in micro.synonyms] == [
        ("Abnormally small skull", "EXACT"),
        ("Decreased circumference of cranium", "EXACT"),
        ("Small head", "RELATED"),
        ("Reduced head circumference", "BROAD"),
    ]
    assert [(e.relation, e.target) for e in micro.parents] == [("is_a", "HP:0000234")]  # {modifier} and ! dropped
    assert micro.xrefs == ["UMLS:C0025958", "SNOMEDCT_US:1829003"]
    assert [(s.text, s.scope) for s in by_id["HP:0001250"].synonyms][-1] == ("Fits", "EXACT")  # legacy tag
    assert by_id["HP:0000489"].obsolete and not by_id["HP:0000252"].obsolete
    assert [(e.relation, e.target) for e in head.relationships] == [("located_in", "UBERON:0000033")]
    assert typedefs["part_of"].name == "part of"
    assert by_id["MONDO:0001149"].xrefs[:2] == ["UMLS:C0025958", "MESH:D008831"]  # {modifiers} dropped


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[Term]\nid: HP:1\nname: x\ndef: "never closed [x]\n', 4, "not closed"),
        ("[Term]\nid: HP:1\nthis line has no tag\n", 3, "expected 'tag: value'"),
        ('[Term]\nid: HP:1\nname: x\nsynonym: "y" SIMILAR []\n', 4, "synonym scope 'SIMILAR'"),
        ("[Term]\nid: HP:1\n\n[Stanza]\nid: HP:2\n", 4, r"unknown stanza type \[Stanza\]"),
        ("[Term]\nname: no id\n", 1, "without an id"),
        ("[Term]\nid: HP:1\nname: a\n\n[Term]\nid: HP:1\nname: b\n", 5, "defined twice"),
        ("[Term]\nid: HP:1\nrelationship: part_of\n", 3, "relationship needs a type and a target"),
        ("[Term]\nid: HP:1\ndef: no quotes here []\n", 3, "expected a quoted string"),
    ],
)
def test_bad_obo_names_the_line(tmp_path, text, line, message):
    path = tmp_path / "bad.obo"
    path.write_text("format-version: 1.4\n" + text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as info:
        read_terms(parse_obo(path))
    assert f"bad.obo:{line + 1}:" in str(info.value)  # +1: the format-version line


def test_not_utf8_is_a_user_error(tmp_path):
    path = tmp_path / "latin1.obo"
    path.write_bytes("[Term]\nid: X:1\nname: Fémur\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        parse_obo(path)


def test_a_bom_keeps_the_first_header_tag_and_crlf_endings_are_read(tmp_path):
    path = tmp_path / "bom.obo"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "mini.obo").read_bytes().replace(b"\n", b"\r\n"))
    doc = parse_obo(path)
    assert doc.header_value("format-version") == "1.4"
    assert doc.header_value("data-version") == "mini/releases/2026-01-01"
