"""LLM definitions for concepts without one: grounded prompts, a resumable cache, rate limits, the Batch API."""

from __future__ import annotations

from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig, Summary

__all__ = ["DefinitionGenerator", "GenerateConfig", "Summary"]
