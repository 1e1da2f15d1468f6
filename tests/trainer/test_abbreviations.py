"""Schwartz–Hearst abbreviation definitions (Schwartz & Hearst 2003) and their use on mentions (BioSyn's)."""

from __future__ import annotations

import pytest

from trainer.abbreviations import best_long_form, expand, find_abbreviations, initials_long_form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the paper's running example: "F" is found in "factor", "S" inside "transcription", "H" must start a word
        ("Heat shock transcription factor (HSF) binds DNA.", {"HSF": "Heat shock transcription factor"}),
        ("the Gcn5-related N-acetyltransferase (GNAT) superfamily", {"GNAT": "Gcn5-related N-acetyltransferase"}),
        # the other form: a parenthesis of more than two words holds the long form
        ("HSF (heat shock transcription factor) binds DNA.", {"HSF": "heat shock transcription factor"}),
        # punctuation inside a short form is skipped; the long form may hold hyphens
        ("in patients with ataxia-telangiectasia (A-T) and", {"A-T": "ataxia-telangiectasia"}),
        # what follows a comma or semicolon in the parenthesis is not part of the short form
        ("familial adenomatous polyposis (FAP, a colon cancer syndrome)", {"FAP": "familial adenomatous polyposis"}),
        # a definition inside another parenthesis, closed or not
        ("the Atm (ataxia-telangiectasia (AT)) gene", {"AT": "ataxia-telangiectasia"}),
        ("the Atm (ataxia-telangiectasia (AT) gene", {"AT": "ataxia-telangiectasia"}),
        # no definition: a digit the long form lacks, a parenthesis that is not an abbreviation
        ("a three-dimensional (3D) model", {}),
        ("it was lower (p < 0.05) in cases", {}),
        # letters out of order (SH finds nothing): Ab3P's rule, the initials of the words before it
        ("myotonic dystrophy (DM) is", {"DM": "myotonic dystrophy"}),
        ("Myotonic dystrophy, or dystrophia myotonica (DM), is", {"DM": "dystrophia myotonica"}),
    ],
)
def test_definitions_of_the_paper(text, expected):
    assert find_abbreviations(text) == expected


def test_a_document_gives_each_short_form_its_first_definition_and_sentences_stay_apart():
    text = (
        "Wilson disease (WD) is a copper disorder. The WD gene is ATP7B. Duchenne muscular dystrophy (DMD) "
        "differs. Later, white dots (WD) were seen."
    )
    assert find_abbreviations(text) == {"WD": "Wilson disease", "DMD": "Duchenne muscular dystrophy"}
    # the long form does not run back into the sentence before ("aortic valve stenosis. Values rose" would fit AVR)
    assert find_abbreviations("Patients had aortic valve stenosis. Values rose (AVR) later.") == {}


def test_long_form_limits():
    assert best_long_form("HSF", "binds to heat shock transcription factor") == "heat shock transcription factor"
    # the first letter must start a word: "ab" in "crab" does not count
    assert best_long_form("AB", "crab") is None
    # at most min(|SF| + 5, 2 |SF|) words: 4 for a two-letter short form
    assert best_long_form("AB", "alpha one two three four beta") is None
    assert best_long_form("AB", "alpha beta") == "alpha beta"
    # a short form is 2-10 characters with a letter, starting alphanumeric
    assert best_long_form("A", "alpha") is None and best_long_form("12", "one two") is None


def test_initials_in_another_order_only_for_short_capital_forms_of_the_last_words():
    assert initials_long_form("DM", "myotonic dystrophy") == "myotonic dystrophy"
    assert initials_long_form("SMA", "in muscular-spinal atrophy") == "muscular-spinal atrophy"
    # in order is SH's case, not this rule's; other letters, lower case, digits or too long: none
    assert initials_long_form("MD", "myotonic dystrophy") is None
    assert initials_long_form("DX", "myotonic dystrophy") is None
    assert initials_long_form("dm", "myotonic dystrophy") is None
    assert initials_long_form("D2", "two diabetes") is None
    assert initials_long_form("ABCDE", "e d c b a") is None
    assert initials_long_form("DM", "dystrophy") is None
    assert initials_long_form("TI", "seen in the") is None  # function words are not a long form


def test_expand_replaces_whole_words_slash_parts_and_words_before_a_comma():
    pairs = {"WD": "Wilson disease", "FAP": "familial adenomatous polyposis", "CT": "copper toxicosis"}
    assert expand("WD", pairs) == "Wilson disease"
    assert expand("WD/FAP patients", pairs) == "Wilson disease/familial adenomatous polyposis patients"
    assert expand("CT, WD", pairs) == "copper toxicosis, Wilson disease"
    assert expand("WDR5 and CTs", pairs) == "WDR5 and CTs"  # not a whole word: left alone
    assert expand("WD", {}) == "WD"
    # a long form holding another short form is written out too
    assert expand("HCT", {"HCT": "hereditary CT", "CT": "copper toxicosis"}) == "hereditary copper toxicosis"
