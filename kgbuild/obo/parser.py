"""A strict OBO 1.4 flat-file parser: header tags, [Term]/[Typedef]/[Instance] stanzas, quoted strings with
escapes, trailing {modifiers} and ! comments. Anything it cannot read is a UserError naming file and line."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from kgbuild.core.errors import UserError, gzip_error

STANZA_TYPES = ("Term", "Typedef", "Instance")
SCOPES = ("EXACT", "BROAD", "NARROW", "RELATED")
# OBO 1.0 synonym tags, still found in old files
LEGACY_SYNONYM_TAGS = {
    "exact_synonym": "EXACT",
    "narrow_synonym": "NARROW",
    "broad_synonym": "BROAD",
    "related_synonym": "RELATED",
}
_ESCAPES = {"n": "\n", "t": "\t", "W": " "}


@dataclass
class Clause:
    tag: str
    value: str  # comment and trailing modifiers removed, escapes still in place
    modifiers: str | None
    line: int


@dataclass
class Stanza:
    kind: str
    line: int
    clauses: list[Clause] = field(default_factory=list)

    def first(self, tag: str) -> Clause | None:
        return next((c for c in self.clauses if c.tag == tag), None)

    def all(self, *tags: str) -> list[Clause]:
        return [c for c in self.clauses if c.tag in tags]

    @property
    def id(self) -> str | None:
        clause = self.first("id")
        return unescape(clause.value.strip()) if clause else None


@dataclass
class OboDocument:
    path: Path
    header: list[Clause]
    stanzas: list[Stanza]

    def header_value(self, tag: str) -> str | None:
        clause = next((c for c in self.header if c.tag == tag), None)
        return unescape(clause.value.strip()) if clause else None


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _strip_comment(raw: str) -> str:
    """Drop a `! comment`: the first `!` that is neither escaped nor inside a quoted string."""
    in_quote, i = False, 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        elif ch == "!" and not in_quote:
            return raw[:i]
        i += 1
    return raw


def _split_modifiers(value: str) -> tuple[str, str | None]:
    """Split `value {a="b", c=d}` into (value, 'a="b", c=d'); braces inside quotes or escaped do not count."""
    value = value.rstrip()
    if not value.endswith("}") or value.endswith("\\}"):
        return value, None
    in_quote, i, start = False, 0, None
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
        elif ch == "{" and not in_quote:
            start = i
        i += 1
    if start is None:
        return value, None
    return value[:start].rstrip(), value[start + 1 : -1].strip()


def read_quoted(value: str, *, path: Path, line: int, tag: str) -> tuple[str, str]:
    """`"text" rest` → (unescaped text, rest). The text must open and close with an unescaped quote."""
    value = value.strip()
    if not value.startswith('"'):
        raise UserError(
            f"{tag}: expected a quoted string, found {value[:40]!r}",
            path=path,
            line=line,
            fix=f'write {tag}: "text" [...]',
        )
    i = 1
    while i < len(value):
        if value[i] == "\\":
            i += 2
            continue
        if value[i] == '"':
            return unescape(value[1:i]), value[i + 1 :].strip()
        i += 1
    raise UserError(
        f"{tag}: the quoted string is not closed",
        path=path,
        line=line,
        fix='end the text with " (write \\" for a quote inside it)',
    )


def parse_obo(path: str | Path) -> OboDocument:
    path = Path(path)
    if path.is_dir():
        raise UserError("--obo is a folder, not an OBO file", path=path, fix="give the path of a .obo file")
    if not path.is_file():
        raise UserError("OBO file not found", path=path, fix="give the path of a .obo file")
    header: list[Clause] = []
    stanzas: list[Stanza] = []
    current: Stanza | None = None
    with open_maybe_gzip(path) as fh:
        for number, raw in enumerate(_lines(fh, path), start=1):
            text = _strip_comment(raw).strip()
            if not text:
                continue
            if not header and not stanzas and (text.startswith("{") or text == "["):
                _refuse_json(path, number, text)
            if text.startswith("["):
                if not text.endswith("]"):
                    raise UserError(f"bad stanza header {text!r}", path=path, line=number, fix="write [Term]")
                kind = text[1:-1].strip()
                if kind not in STANZA_TYPES:
                    raise UserError(
                        f"unknown stanza type [{kind}]",
                        path=path,
                        line=number,
                        fix=f"use one of {', '.join(f'[{k}]' for k in STANZA_TYPES)}",
                    )
                current = Stanza(kind, number)
                stanzas.append(current)
                continue
            tag, sep, value = text.partition(":")
            if not sep or not tag or " " in tag.strip():
                raise UserError(
                    f"expected 'tag: value', found {text[:60]!r}",
                    path=path,
                    line=number,
                    fix="every line of an OBO file is a tag-value pair, a [Stanza] header or blank",
                )
            value, modifiers = _split_modifiers(value.strip())
            clause = Clause(tag.strip(), value, modifiers, number)
            (current.clauses if current else header).append(clause)
    return OboDocument(path, header, stanzas)


def open_maybe_gzip(path: Path):
    """The file's bytes, gunzipped when it is gzip (by its first two bytes, whatever its name: ontologies and
    dictionaries ship as .gz, and a renamed one reads the same)."""
    with open(path, "rb") as fh:
        gzipped = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _lines(fh, path: Path):
    """Decoded lines without their line ending, each checked where it is: a decoding error or a NUL byte names its
    line and column (a decoder reading blocks would give an offset into the block). A UTF-8 BOM is dropped."""
    for number, raw in enumerate(_gunzipped(fh, path), start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at column {exc.start + 1} ({exc.reason})",
                path=path,
                line=number,
                fix="save the ontology as UTF-8",
            ) from None
        if "\x00" in line:
            raise UserError(
                f"a NUL byte at column {line.index(chr(0)) + 1} (binary data)",
                path=path,
                line=number,
                fix="the file is corrupt or not text: download the ontology again",
            ) from None
        yield line.rstrip("\r\n")


def _gunzipped(fh, path: Path):
    """The lines of `fh`; a truncated or corrupt gzip stream is the user's file to download again."""
    try:
        yield from fh
    except (OSError, EOFError, zlib.error) as exc:
        raise gzip_error(path, exc, fix="download the ontology again (or give the unpacked .obo)") from None


def _refuse_json(path: Path, line: int, text: str) -> None:
    """OBO Graphs JSON and JSON-LD are common downloads beside the .obo file; say so instead of reading no terms."""
    raise UserError(
        f"this looks like JSON ({text[:30]!r}), not OBO",
        path=path,
        line=line,
        fix="give the .obo release of the ontology (or convert it, e.g. robot convert --format obo)",
    )
