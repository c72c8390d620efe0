"""Metric functions against hand-computed cases, including empty and Vietnamese text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.domain.metrics import aggregate, exact_match, lcs_length, normalize, rouge_l, score, token_f1, tokenize


def test_normalize_folds_case_splits_punctuation_and_collapses_whitespace():
    assert normalize("  The CAT,\tsat!\n") == "the cat sat"
    assert tokenize("A/B-test (v2)") == ["a", "b", "test", "v2"]


def test_symbols_are_not_punctuation():
    assert normalize("5$ + 3€") == "5$ + 3€"
    assert exact_match("5$", "5") == 0.0


def test_exact_match_ignores_case_whitespace_and_punctuation():
    assert exact_match("The cat!", "the   cat") == 1.0
    assert exact_match("the cat", "the cats") == 0.0


def test_token_f1_hand_computed():
    # prediction 3 tokens, reference 6; 3 in common: P = 1, R = 1/2, F1 = 2/3
    assert token_f1("the cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)
    # repeated tokens count with multiplicity: "the the" vs "the": common 1, P = 1/2, R = 1, F1 = 2/3
    assert token_f1("the the", "the") == pytest.approx(2 / 3)
    assert token_f1("completely different", "nothing shared") == 0.0


def test_rouge_l_hand_computed():
    # the classic example: LCS "police the gunman" = 3 of 4 on both sides
    assert rouge_l("police killed the gunman", "police kill the gunman") == pytest.approx(0.75)
    # order matters (unlike F1): LCS of [the gunman kill police] and [police kill the gunman] is 2
    assert rouge_l("the gunman kill police", "police kill the gunman") == pytest.approx(0.5)
    assert token_f1("the gunman kill police", "police kill the gunman") == 1.0
    # P = 2/2, R = 2/5: F = 2 * 0.4 / 1.4
    assert rouge_l("a b", "a x b y z") == pytest.approx(0.8 / 1.4)


def test_lcs_is_symmetric_and_handles_lengths():
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4
    assert lcs_length(list("bdcaba"), list("abcbdab")) == 4
    assert lcs_length([], ["a"]) == 0


@pytest.mark.parametrize("metric", [exact_match, token_f1, rouge_l])
def test_empty_conventions(metric):
    assert metric("", "") == 1.0
    assert metric("   ", "") == 1.0
    assert metric("?!", "...") == 1.0  # punctuation only normalizes to empty
    assert metric("", "something") == 0.0
    assert metric("something", "") == 0.0


def test_vietnamese_composed_and_decomposed_forms_are_equal():
    composed = "Thủ đô của Việt Nam là Hà Nội."
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert exact_match(decomposed, composed) == 1.0
    assert rouge_l(decomposed, composed) == 1.0
    assert exact_match("ĐÀ NẴNG", "đà nẵng") == 1.0


def test_vietnamese_diacritics_distinguish_words():
    # "ma" (ghost), "má" (mother), "mà" (but): different words, never folded together
    assert exact_match("má", "ma") == 0.0
    assert token_f1("ma má mà", "má") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))


def test_vietnamese_token_f1_and_rouge_l_hand_computed():
    prediction = "Thủ đô của Việt Nam là Hà Nội."  # 8 syllables
    reference = "Hà Nội là thủ đô"  # 5 syllables, all in the prediction
    assert token_f1(prediction, reference) == pytest.approx(10 / 13)  # P = 5/8, R = 1
    # in order, only "thủ đô" or "hà nội" is common to both (the reference puts "là" between them): LCS 2
    assert rouge_l(prediction, reference) == pytest.approx(2 * (2 / 8) * (2 / 5) / (2 / 8 + 2 / 5))


def test_score_and_aggregate():
    assert score("Hà Nội", "Hà Nội") == {"exact_match": 1.0, "token_f1": 1.0, "rouge_l": 1.0}
    means = aggregate([{"token_f1": 1.0, "judge": 0.5}, {"token_f1": 0.0, "judge": None}, {"token_f1": 0.5}])
    assert means == {"token_f1": pytest.approx(0.5), "judge": 0.5}
    assert aggregate([]) == {}


# Precomposed letters, combining marks (NFC composes them), punctuation, spaces.
text = st.text(alphabet=st.sampled_from(list("ab cđệ.,!ÀẢe\u0302\u0323")), max_size=30)


@given(text, text)
def test_every_metric_is_in_the_unit_interval_and_symmetric(prediction, reference):
    for metric in (exact_match, token_f1, rouge_l):
        value = metric(prediction, reference)
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx(metric(reference, prediction))


@given(text)
def test_every_metric_gives_one_on_identical_text(value):
    assert exact_match(value, value) == token_f1(value, value) == rouge_l(value, value) == 1.0
