"""The evaluation report tags each example by its own scores and links every example relatively."""

from __future__ import annotations

import re

from lambdas.domain.evaluation_report import example_verdict, render_html

METRICS = ("exact_match", "token_f1", "rouge_l")


def _example(line: int, candidate: float, baseline: float) -> dict:
    return {
        "line": line,
        "prompt": f"question {line}",
        "reference": "answer",
        "candidate": "answer",
        "baseline": "other",
        "metrics": {
            "candidate": {m: candidate for m in METRICS},
            "baseline": {m: baseline for m in METRICS},
        },
    }


def _report() -> dict:
    return {
        "profile": "support-qa-vi",
        "run_id": "run-1",
        "examples": 12,
        "candidate_model": "candidate",
        "baseline_model": "baseline",
        "metrics": {"candidate": {"token_f1": 1.0}, "baseline": {"token_f1": 0.0}},
        "decision": {"passed": True, "checks": []},
        "reports": {"examples": "s3://artifacts/reports/support-qa-vi/run-1/evaluation-examples.jsonl"},
    }


def test_twelve_wins_are_twelve_candidate_better_tags_none_same():
    # The demo's run: every example 1.000 vs 0.000. The sample took 6 "largest gains" and filled up with 6
    # "others", which it tagged "same" although they showed 1.000 vs 0.000.
    page = render_html(_report(), [_example(line, 1.0, 0.0) for line in range(1, 13)])
    tags = re.findall(r'<span class="tag[^"]*">([^<]+)</span>', page)
    assert tags == ["candidate better"] * 12


def test_each_example_is_tagged_by_what_its_scores_say():
    assert example_verdict({"candidate": {"token_f1": 0.5}, "baseline": {"token_f1": 0.5}}, METRICS) == "same"
    assert example_verdict({"candidate": {"token_f1": 0.2}, "baseline": {"token_f1": 0.6}}, METRICS) == "loss"
    mixed = {"candidate": {"exact_match": 1.0, "token_f1": 0.4}, "baseline": {"exact_match": 0.0, "token_f1": 0.6}}
    assert example_verdict(mixed, METRICS) == "mixed"
    # A tie on the ranking metric is not "same" when another shown metric differs.
    tie = {"candidate": {"exact_match": 1.0, "token_f1": 0.5}, "baseline": {"exact_match": 0.0, "token_f1": 0.5}}
    assert example_verdict(tie, METRICS) == "win"
    assert example_verdict({"candidate": {"judge": None}, "baseline": {"judge": 0.3}}, ("judge",)) == "same"


def test_every_example_is_a_link_beside_the_page_not_into_the_account():
    page = render_html(_report(), [_example(1, 1.0, 0.0)])
    assert '<a href="evaluation-examples.jsonl">evaluation-examples.jsonl</a>' in page
    assert 'href="s3://' not in page
