"""Output checks: an answer that is empty, a refusal, cut off, an echo of the prompt, talk about the answer instead of
the answer, too short or long, or that never names the concept is kept with a status saying so (it was paid for),
never silently used as a definition (it would become a training pair)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from kgbuild.llm.cache import OK, SURROGATES
from kgbuild.llm.config import CheckConfig

_REFUSAL = re.compile(
    r"\b(i['’]m sorry|i am sorry|i apologi[sz]e|i can(?:not|['’]t)|i am unable|i['’]m unable|as an ai\b|"
    r"as a language model|i (?:do not|don['’]t) have (?:enough|sufficient) information)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[0-9a-zà-öø-ÿ]+", re.IGNORECASE)
# Text about the answer rather than the answer: a preamble ("Here is a 50-word definition of X:", "Sure!"), a markdown
# heading or list, a label line ("Concept:", "Word count: 48"), a note to the reader.
_META = re.compile(
    r"(^\s*(?:here(?:'s| is| are)\b|below is\b|(?:sure|certainly|of course|okay|ok|absolutely)\s*[,!.:])"
    r"|^\s*#{1,6}\s|^\s*(?:[-*•]|\d+[.)])\s|\*\*|^\s*(?:term|definition|word count|note)\s*:"
    r"|\(\s*\d+\s+words?\s*\)|\bword count\b|\b\d+[- ]word (?:definition|paragraph|description)\b)",
    re.IGNORECASE | re.MULTILINE,
)
# The prompt's own labels at the start of a line: the answer copies the prompt's layout.
_PROMPT_LABEL = re.compile(
    r"^\s*[-*]?\s*(?:concept|facts from the knowledge graph|also called|semantic type|"
    r"is a kind of)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
_STOP = frozenset("a an and or of the in on to for with by at from as is nos unspecified other".split())


# What no definition holds and some servers send: lone surrogates (cache.SURROGATES), control characters (NUL and
# friends, not tab or newline), and bidirectional overrides (they reorder what a reader sees).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Reasoning models think aloud before answering; an unclosed block is reasoning cut off before any answer.
_THINK = re.compile(r"<(think|thinking|reasoning)>.*?(?:</\1>|\Z)", re.IGNORECASE | re.DOTALL)
# An answer longer than this is no definition (too_long whatever it holds): the rest is not stored.
MAX_STORED_CHARS = 20_000


def repair_text(text: str | None) -> tuple[str | None, list[str]]:
    """(text, repairs): any text a server returns made storable and readable, each change named. Never raises."""
    if text is None:
        return None, []
    repairs = []
    for pattern, replacement, what in (
        (SURROGATES, "\ufffd", "lone surrogates replaced"),
        (_CONTROLS, "", "control characters removed"),
        (_BIDI, "", "bidirectional controls removed"),
        (_THINK, "", "reasoning (<think>) removed"),
    ):
        fixed = pattern.sub(replacement, text)
        if fixed != text:
            repairs.append(what)
            text = fixed
    if len(text) > MAX_STORED_CHARS:
        repairs.append(f"cut from {len(text):,} to {MAX_STORED_CHARS:,} characters")
        text = text[:MAX_STORED_CHARS]
    return text, repairs


def clean_text(text: str | None) -> str:
    """Strip whitespace, wrapping quotes and a leading 'Definition:' that small models like to add."""
    text = (text or "").strip()
    text = re.sub(r"^(definition|answer)\s*:\s*", "", text, flags=re.IGNORECASE)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _shingles(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def echoes(text: str, prompt: str, template: str) -> bool:
    """True when the answer repeats the prompt: any 6 words in a row of the fixed template text (system prompt,
    instructions, fact labels), or most of its own 4-word runs found in the prompt (the facts copied out).

    A definition may reuse the facts' names, so only the template is matched on short runs."""
    if _PROMPT_LABEL.search(text):
        return True
    words = _WORD.findall(text.lower())
    if not _shingles(words, 6).isdisjoint(_template_shingles(template)):
        return True
    runs = _shingles(words, 4)
    if not runs:
        return False
    # Each run looked up as text in the prompt's words (one C-level search each), not as a set of the prompt's runs.
    spaced = f" {' '.join(_WORD.findall(prompt.lower()))} "
    return sum(f" {' '.join(run)} " in spaced for run in runs) / len(runs) > 0.5


@functools.lru_cache(maxsize=8)
def _template_shingles(template: str) -> frozenset[tuple[str, ...]]:
    """The template is the same for every answer of a run: its shingles are built once."""
    return frozenset(_shingles(_WORD.findall(template.lower()), 6))


def _prefixes(text: str) -> set[str]:
    return {w[:5] for w in _WORD.findall(text.lower())}


def names_concept(text: str, names: list[str]) -> bool:
    """True when every significant word of at least one name appears (by its first five letters) in the text.

    Lenient on purpose: 'appendicitis, acute' is named by 'Acute appendicitis is …'.
    """
    seen = _prefixes(text)
    for name in names:
        words = [w for w in _WORD.findall(name.lower())]
        significant = [w for w in words if len(w) >= 3 and w not in _STOP] or words
        if significant and all(w[:5] in seen for w in significant):
            return True
    return False


@dataclass(frozen=True)
class Answer:
    """What the checks see of one answer: its text (repaired, cleaned), how it ended, and what was asked."""

    text: str
    finish_reason: str | None
    refusal: str | None
    names: list[str]  # the concept's preferred name and synonyms
    prompt: str = ""  # the messages sent, joined
    template: str = ""  # the prompt's fixed part


Check = Callable[[Answer, CheckConfig], str | None]  # why the answer fails, or None when it passes

# The output checks by the status a failing answer is stored with, in the order they are tried: the first that fails
# names the status. A status must also be a valid value of llm_definitions' `status` (its contract): a test says so.
CHECKS: dict[str, Check] = {}


def check(status: str) -> Callable[[Check], Check]:
    """Register a check under `status`: `@check("too_short") def _short(answer, config): ...`."""

    def register(fn: Check) -> Check:
        CHECKS[status] = fn
        return fn

    return register


@check("truncated")
def _truncated(a: Answer, config: CheckConfig) -> str | None:
    return "finish_reason=length: the answer was cut at max_tokens" if a.finish_reason == "length" else None


@check("refusal")
def _refusal(a: Answer, config: CheckConfig) -> str | None:
    if a.refusal or a.finish_reason == "content_filter":  # the server says so
        return f"refused: {a.refusal or a.finish_reason}"[:300]
    return "the answer reads as a refusal" if _REFUSAL.search(a.text[:200]) else None


@check("empty")
def _empty(a: Answer, config: CheckConfig) -> str | None:
    return None if a.text else "the answer is empty"


@check("echo")
def _echo(a: Answer, config: CheckConfig) -> str | None:
    if (a.prompt or a.template) and echoes(a.text, a.prompt, a.template):
        return "the answer repeats the prompt or its instructions"
    return None


@check("meta")
def _meta(a: Answer, config: CheckConfig) -> str | None:
    if m := _META.search(a.text):
        return f"the answer is wrapped or formatted, not a plain definition: {m.group(0).strip()!r}"[:300]
    return None


@check("too_short")
def _too_short(a: Answer, config: CheckConfig) -> str | None:
    n_words = len(a.text.split())
    return f"{n_words} words < {config.min_words}" if n_words < config.min_words else None


@check("too_long")
def _too_long(a: Answer, config: CheckConfig) -> str | None:
    n_words = len(a.text.split())
    return f"{n_words} words > {config.max_words}" if n_words > config.max_words else None


@check("unnamed")
def _unnamed(a: Answer, config: CheckConfig) -> str | None:
    return None if names_concept(a.text, a.names) else "the text names neither the preferred name nor a synonym"


def check_answer(
    text: str,
    finish_reason: str | None,
    refusal: str | None,
    names: list[str],
    config: CheckConfig,
    *,
    prompt: str = "",
    template: str = "",
) -> tuple[str, str | None]:
    """(status, reason) of one answer: 'ok', or the status of the first check of CHECKS it fails. `prompt` is the
    text sent (the messages joined), `template` its fixed part: both for the echo check."""
    answer = Answer(text, finish_reason, refusal, names, prompt, template)
    for status, fn in CHECKS.items():
        if (reason := fn(answer, config)) is not None:
            return status, reason
    return OK, None
