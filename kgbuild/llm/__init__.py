"""LLM definitions for concepts without one: grounded prompts, a resumable cache, rate limits, the Batch API.

`GenerateConfig` and `Summary` load alone (the command builds its options from the config); the generator brings the
openai SDK."""

from __future__ import annotations

from kgbuild.core.lazy import exports

_API = {"DefinitionGenerator": "generate", "GenerateConfig": "config", "Summary": "config"}
__all__ = sorted(_API)
__getattr__ = exports(__name__, _API)
