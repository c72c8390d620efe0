"""Reference-based text metrics: exact match, token-level F1 (SQuAD style) and ROUGE-L.

All three compare a model's answer with a reference answer after the same normalization, return a
float in [0, 1], and are pure functions (no model, no network), so the gate's numbers can be
recomputed by anyone from ``evaluation-examples.jsonl``.

Normalization, in order:

1. Unicode NFC, so a precomposed "ệ" and "e" + combining marks compare equal (Vietnamese text from
   different keyboards and tokenizers arrives in both forms);
2. ``str.casefold`` (then NFC again: case folding can decompose);
3. every character in a Unicode punctuation category (``P*``) becomes a space, so "A/B" is two tokens
   and "xin chào!" matches "xin chào". Symbols (``S*``: currency, math) are kept: "5$" and "5" differ;
4. whitespace runs collapse and tokens are split on whitespace.

Unlike SQuAD's English-only normalizer, English articles are not removed: the evaluation sets are
multilingual, and dropping "a"/"the" would make scores depend on the language.

Empty strings: two answers that are both empty after normalization agree perfectly (1.0 for every
metric); exactly one empty scores 0.0. This is SQuAD's convention for unanswerable questions, and it
keeps every metric defined on every input.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Iterable, Mapping

REFERENCE_METRICS = ("exact_match", "token_f1", "rouge_l")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text or "")
    text = unicodedata.normalize("NFC", text.casefold())
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(text.split())


def tokenize(text: str) -> list[str]:
    return normalize(text).split()


def exact_match(prediction: str, reference: str) -> float:
    return 1.0 if normalize(prediction) == normalize(reference) else 0.0


def token_f1(prediction: str, reference: str) -> float:
    predicted, expected = tokenize(prediction), tokenize(reference)
    if not predicted or not expected:
        return 1.0 if predicted == expected else 0.0
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence, two DP rows: O(len(a) * len(b)) time, O(min) memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (beta = 1) over normalized tokens."""
    predicted, expected = tokenize(prediction), tokenize(reference)
    if not predicted or not expected:
        return 1.0 if predicted == expected else 0.0
    lcs = lcs_length(predicted, expected)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(predicted), lcs / len(expected)
    return 2 * precision * recall / (precision + recall)


METRIC_FUNCTIONS = {"exact_match": exact_match, "token_f1": token_f1, "rouge_l": rouge_l}


def score(prediction: str, reference: str) -> dict[str, float]:
    return {name: function(prediction, reference) for name, function in METRIC_FUNCTIONS.items()}


def aggregate(per_example: Iterable[Mapping[str, float | None]]) -> dict[str, float]:
    """Mean of each metric over the examples that have it; a metric no example has is left out.

    ``None`` means "not computed for this example" (e.g. the judge's answer could not be parsed) and
    is skipped rather than counted as 0, so a flaky judge does not look like a bad model.
    """
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for scores in per_example:
        for name, value in scores.items():
            if value is None:
                continue
            totals[name] = totals.get(name, 0.0) + float(value)
            counts[name] = counts.get(name, 0) + 1
    return {name: totals[name] / counts[name] for name in totals}
