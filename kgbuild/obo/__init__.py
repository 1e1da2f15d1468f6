"""Open ontologies in OBO format (HPO, MONDO, DO, GO, ...) → the same KG tables as a UMLS extract."""

from __future__ import annotations

from kgbuild.obo.extract import extract_obo
from kgbuild.obo.parser import OboDocument, Stanza, parse_obo

__all__ = ["OboDocument", "Stanza", "extract_obo", "parse_obo"]
