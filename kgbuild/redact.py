"""Secrets out of everything we store or print: the API keys of the environment, bearer tokens, key-like strings and
URL credentials. Light on purpose (no SDK import): the console applies it to every error line."""

from __future__ import annotations

import os
import re

_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=:-]{6,}")
_KEYLIKE = re.compile(r"\b(sk|rk|pk|hf|key|api[-_]?key)[-_][A-Za-z0-9._-]{8,}", re.IGNORECASE)
_USERINFO = re.compile(r"(//)[^/@\s]+@")
_SECRET_ENV = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def redact(text: str | None) -> str | None:
    """The text with the secrets of the environment, bearer tokens, key-like strings and URL credentials replaced.
    Applied to everything we store or print that came from a server (error text, answers) or holds a URL."""
    if not text:
        return text
    for name in _SECRET_ENV:
        key = os.environ.get(name)
        if key and len(key) >= 6:
            text = text.replace(key, "[redacted]")
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _KEYLIKE.sub("[redacted-key]", text)
    return _USERINFO.sub(r"\1[redacted]@", text)
