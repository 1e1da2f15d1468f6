"""Abbreviations defined in a document, and mentions with them written out (Schwartz & Hearst 2003).

    pairs = find_abbreviations("... Wilson disease (WD) ... the WD gene ...")   # {"WD": "Wilson disease"}
    expand("WD", pairs)                                                        # "Wilson disease"

The published linking systems (BioSyn, SapBERT) resolve abbreviations with Ab3P, a C++ tool. No maintained Python
package fits: `abbreviations` (PyPI) is a copy of this same algorithm, last released in 2019, and scispaCy's
AbbreviationDetector needs spaCy and its models. Schwartz–Hearst is short, needs no data, and is what Ab3P builds on:
a definition is `long form (SF)` or `SF (long form)`, and the long form is the shortest run of words before the
parenthesis whose characters hold the short form's letters in order, the first one starting a word. Where that finds
nothing, one rule of Ab3P's that SH lacks: a short form of 2–4 capitals that are the initials of the words just before
it in another order ("myotonic dystrophy (DM)", from the Latin "dystrophia myotonica").
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")
# words a long form found by initials in another order may not hold (SH's own matching has no such list)
_FUNCTION_WORDS = frozenset("a an and as at by for from in into of on or the to with".split())


def find_abbreviations(text: str) -> dict[str, str]:
    """Short form → long form for every definition in `text`; the first definition of a short form wins."""
    found: dict[str, str] = {}
    for sentence in _SENTENCE_END.split(text):
        for short, long in _candidates(sentence):
            best = best_long_form(short, long) or initials_long_form(short, long)
            if best is not None and short not in found:
                found[short] = best
    return found


def _candidates(sentence: str):
    """(short form, text before it) for each parenthesis of a sentence, in the paper's two forms."""
    start = 0
    while (open_ := sentence.find("(", start)) >= 0:
        close = _closing(sentence, open_)
        start = open_ + 1  # parentheses inside this one are candidates too: "Atm (ataxia-telangiectasia (AT))"
        if close < 0:
            continue
        inside, before = sentence[open_ + 1 : close].strip(), sentence[:open_].rstrip()
        # "(SF, another note)" or "(SF; ...)": the short form is what comes before the separator
        inside = re.split(r"[,;]\s", inside, maxsplit=1)[0].strip()
        if len(inside) < 2 or len(before) < 2:
            continue
        if len(inside.split()) > 2 or len(inside) > len(before):
            # "SF (long form)": the parenthesis holds the long form, the word before it is the short form
            words = before.split()
            short = words[-1] if words else ""
            if not any(c.isupper() for c in short):
                continue
            yield short, inside
        else:
            yield inside, before


def _closing(text: str, open_: int) -> int:
    """The parenthesis that closes the one at `open_`, nested ones counted; -1 when it is never closed."""
    depth = 0
    for i in range(open_, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def is_short_form(text: str) -> bool:
    """The paper's short form: 2-10 characters, at most two words, a letter among them, starting alphanumeric."""
    return (
        2 <= len(text) <= 10
        and len(text.split()) <= 2
        and any(c.isalpha() for c in text)
        and (text[0].isalnum() or text[0] == "(")
    )


def best_long_form(short: str, long: str) -> str | None:
    """The long form `short` abbreviates at the end of `long`, or None: each alphanumeric character of the short form,
    right to left, matched in order in the long form, the first one at the start of a word; then the paper's limits
    (at most min(|SF| + 5, 2·|SF|) words, longer than the short form and not containing it)."""
    if not is_short_form(short):
        return None
    s, i = short.lower(), len(long) - 1
    text = long.lower()
    for j in range(len(s) - 1, -1, -1):
        c = s[j]
        if not c.isalnum():
            continue
        while i >= 0 and (text[i] != c or (j == 0 and i > 0 and text[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
    begin = long.rfind(" ", 0, i + 1) + 1
    best = long[begin:].strip().lstrip("([")  # an enclosing parenthesis is not part of the long form
    n_words = len(re.split(r"[\s\-]+", best.strip()))
    n_chars = sum(c.isalnum() for c in short)
    if (
        len(best) <= len(short)
        or f"{short} " in best
        or best.endswith(short)
        or n_words > min(n_chars + 5, 2 * n_chars)
    ):
        return None
    return best


def initials_long_form(short: str, long: str) -> str | None:
    """The last |SF| words of `long` when `short` is 2–4 capital letters that are those words' initials in another
    order ("myotonic dystrophy (DM)"), else None. Only tried where best_long_form finds nothing."""
    if not (2 <= len(short) <= 4 and short.isalpha() and short.isupper()):
        return None
    words = list(re.finditer(r"[^\W_]+", long))  # a hyphen separates words: "spinal-muscular atrophy (AMS)"
    tail = words[-len(short) :]
    if len(words) < len(short) or long[tail[-1].end() :].strip():
        return None
    initials = [w.group()[0].lower() for w in tail]
    if sorted(initials) != sorted(short.lower()) or initials == list(short.lower()):
        return None
    if any(w.group().lower() in _FUNCTION_WORDS for w in tail):  # "seen in the (TI) group": not a definition
        return None
    return long[tail[0].start() :].strip()


def expand(mention: str, abbreviations: dict[str, str]) -> str:
    """The mention with each word that is a short form of the document replaced by its long form (also the parts of
    a word with `/`, and a word before a comma), repeated while something changes: BioSyn's use of Ab3P's output."""
    if not abbreviations:
        return mention
    for _ in range(5):  # a long form holding another short form is written out too; five levels is plenty
        words = []
        for word in mention.split():
            comma = word.endswith(",")
            word = word.rstrip(",") if comma else word
            word = "/".join(abbreviations.get(part, part) for part in word.split("/"))
            words.append(word + ("," if comma else ""))
        expanded = " ".join(words)
        if expanded == mention:
            break
        mention = expanded
    return mention
