"""Read the terms and relation types of a parsed OBO document into plain records (obsolete terms dropped)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kgbuild.core.errors import UserError
from kgbuild.core.languages import lat_code
from kgbuild.obo.parser import LEGACY_SYNONYM_TAGS, SCOPES, OboDocument, read_quoted, unescape

# OBO 1.4 has no language tag; ontologies that carry translations write one as a trailing modifier
# (`{lang="es"}`, as OWL-to-OBO converters do) or keep the OWL literal's `@es` after the quoted text.
_LANG_MODIFIER = re.compile(r'(?:^|,)\s*(?:xml:)?lang(?:uage)?\s*=\s*"?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)"?')
_LANG_SUFFIX = re.compile(r"^@([A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\b")
_TRUE = {"true", "1"}


@dataclass
class Synonym:
    text: str
    scope: str
    lang: str = "ENG"  # UMLS LAT code, from a language tag when the synonym has one


@dataclass
class Edge:
    relation: str
    target: str
    line: int


@dataclass
class Term:
    id: str
    name: str | None
    namespace: str | None
    definition: str | None
    synonyms: list[Synonym] = field(default_factory=list)
    parents: list[Edge] = field(default_factory=list)  # is_a
    relationships: list[Edge] = field(default_factory=list)
    xrefs: list[str] = field(default_factory=list)  # every xref id as written, for the codes table
    obsolete: bool = False
    line: int = 0


@dataclass
class RelationType:
    id: str
    name: str | None
    inverse: str | None


def prefix(term_id: str) -> str:
    return term_id.split(":", 1)[0] if ":" in term_id else term_id


def read_terms(doc: OboDocument) -> tuple[list[Term], dict[str, RelationType]]:
    terms: dict[str, Term] = {}
    typedefs: dict[str, RelationType] = {}
    default_ns = doc.header_value("default-namespace")
    for stanza in doc.stanzas:
        term_id = stanza.id
        if not term_id:
            raise UserError(
                f"[{stanza.kind}] stanza without an id",
                path=doc.path,
                line=stanza.line,
                fix="add an id: line to the stanza",
            )
        if stanza.kind == "Typedef":
            name = stanza.first("name")
            inverse = stanza.first("inverse_of")
            typedefs[term_id] = RelationType(
                term_id,
                unescape(name.value.strip()) if name else None,
                _first_token(inverse.value) if inverse else None,
            )
            continue
        if stanza.kind != "Term":
            continue
        if term_id in terms:
            raise UserError(
                f"term {term_id} is defined twice (first at line {terms[term_id].line})",
                path=doc.path,
                line=stanza.line,
                fix="merge the two stanzas or remove one",
            )
        name = stanza.first("name")
        namespace = stanza.first("namespace")
        term = Term(
            term_id,
            unescape(name.value.strip()) if name else None,
            unescape(namespace.value.strip()) if namespace else default_ns,
            None,
            line=stanza.line,
        )
        obsolete = stanza.first("is_obsolete")
        term.obsolete = bool(obsolete) and obsolete.value.strip().lower() in _TRUE
        definition = stanza.first("def")
        if definition:
            term.definition, _ = read_quoted(definition.value, path=doc.path, line=definition.line, tag="def")
        for clause in stanza.all("synonym", *LEGACY_SYNONYM_TAGS):
            text, rest = read_quoted(clause.value, path=doc.path, line=clause.line, tag=clause.tag)
            tagged = _LANG_SUFFIX.match(rest)
            if tagged:
                rest = rest[tagged.end() :].strip()
            lang = _language(clause.modifiers, tagged.group(1) if tagged else None)
            scope = LEGACY_SYNONYM_TAGS.get(clause.tag) or (
                rest.split()[0] if rest and not rest.startswith("[") else "RELATED"
            )
            if scope not in SCOPES:
                raise UserError(
                    f"synonym scope {scope!r} is not one of {', '.join(SCOPES)}",
                    path=doc.path,
                    line=clause.line,
                    fix='write synonym: "text" EXACT [...]',
                )
            term.synonyms.append(Synonym(text, scope, lang))
        for clause in stanza.all("is_a"):
            target = _first_token(clause.value)
            if not target:
                raise UserError(
                    "is_a without a target id", path=doc.path, line=clause.line, fix="write is_a: HP:0000001"
                )
            term.parents.append(Edge("is_a", target, clause.line))
        for clause in stanza.all("relationship"):
            tokens = clause.value.split()
            if len(tokens) < 2:
                raise UserError(
                    f"relationship needs a type and a target, found {clause.value!r}",
                    path=doc.path,
                    line=clause.line,
                    fix="write relationship: part_of UBERON:0000033",
                )
            term.relationships.append(Edge(unescape(tokens[0]), unescape(tokens[1]), clause.line))
        for clause in stanza.all("xref"):
            xref = _first_token(clause.value) or ""
            if xref:
                term.xrefs.append(xref)
        terms[term_id] = term
    return list(terms.values()), typedefs


def _language(modifiers: str | None, suffix: str | None) -> str:
    """The UMLS LAT code of a synonym's language tag (`{lang="es"}` or `"texto"@es`); English when untagged. A tag
    with no UMLS code is kept upper-cased, so its names stay apart from the English ones."""
    match = _LANG_MODIFIER.search(modifiers or "")
    tag = match.group(1) if match else suffix
    if not tag:
        return "ENG"
    return lat_code(tag) or tag.upper()


def _first_token(value: str) -> str | None:
    tokens = value.split()
    return unescape(tokens[0]) if tokens else None
