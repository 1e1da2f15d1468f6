"""Language codes: UMLS writes three-letter LAT codes (ENG, SPA, FRE), OBO files and Hub cards ISO 639-1 (en, es)."""

from __future__ import annotations

# UMLS LAT -> ISO 639-1 (the Hub's `language:` metadata). SCR (Serbo-Croatian) is written as Croatian.
LAT_TO_ISO = {
    "ENG": "en",
    "SPA": "es",
    "FRE": "fr",
    "GER": "de",
    "DUT": "nl",
    "ITA": "it",
    "POR": "pt",
    "JPN": "ja",
    "CHI": "zh",
    "SWE": "sv",
    "DAN": "da",
    "CZE": "cs",
    "HUN": "hu",
    "KOR": "ko",
    "NOR": "no",
    "POL": "pl",
    "RUS": "ru",
    "FIN": "fi",
    "TUR": "tr",
    "GRE": "el",
    "HEB": "he",
    "LAV": "lv",
    "EST": "et",
    "HRV": "hr",
    "SCR": "hr",
    "BAQ": "eu",
    "ARA": "ar",
    "UKR": "uk",
    "LIT": "lt",
    "PER": "fa",
    "SLO": "sk",
}
ISO_TO_LAT = {iso: lat for lat, iso in LAT_TO_ISO.items() if lat != "SCR"} | {"nb": "NOR", "nn": "NOR"}


def iso_code(lat: str) -> str | None:
    """ISO 639-1 of a UMLS LAT code, None when unknown."""
    return LAT_TO_ISO.get(str(lat).upper())


def lat_code(tag: str) -> str | None:
    """The UMLS LAT code of a language tag as ontologies write it ("es", "es-ES", "fr_FR", "SPA"); None when
    unknown, so an OBO KG's names.lang reads like a UMLS KG's and --parallel-lang SPA works on both."""
    tag = str(tag).strip()
    if tag.upper() in LAT_TO_ISO:
        return tag.upper()
    return ISO_TO_LAT.get(tag.replace("_", "-").split("-")[0].lower())
