"""The grader Lambda end to end in process: AWS's list of samples in, the list of scores out."""

from __future__ import annotations

import io
import json
from functools import partial

import pytest

from lambdas.domain import grading
from lambdas.domain.grader_contract import GraderRequest, GraderResponse
from lambdas.domain.grading import GraderFailed
from lambdas.domain.names import Env
from lambdas.domain.profiles import GraderSettings
from lambdas.handlers import grader
from tests.doubles import FakeContext


def _sample(sample_id, response, reference, *, in_metadata=False):
    sample = {
        "id": sample_id,
        "messages": [{"role": "user", "content": "Lan có 12 quả táo, ăn 5 quả. Còn lại mấy quả?"}],
    }
    sample["messages"].append({"role": "assistant", "content": response})
    if in_metadata:
        sample["metadata"] = {"reference_answer": reference}
    else:
        sample["reference_answer"] = reference
    return sample


def _invoke(monkeypatch, settings, event):
    monkeypatch.setenv(Env.GRADER, GraderSettings.model_validate(settings).model_dump_json())
    # The event arrives as JSON and the answer leaves as JSON: both must survive the round trip.
    return json.loads(json.dumps(grader.handler(json.loads(json.dumps(event)), FakeContext())))


def test_a_builtin_grader_scores_every_sample_by_id(monkeypatch):
    event = [
        _sample("a", "Còn lại 7 quả.", 7),
        _sample("b", "Còn lại 8 quả.", "7", in_metadata=True),
        _sample(3, "Mình không biết.", {"answer": 7}),
    ]
    scores = _invoke(monkeypatch, {"builtin": "numeric_tolerance", "tolerance": 0}, event)
    assert [(s["id"], s["aggregate_reward_score"]) for s in scores] == [("a", 1.0), ("b", 0.0), ("3", 0.0)]
    assert scores[2]["metrics_list"][1] == {"name": "no_number_in_response", "value": 1.0, "type": "Metric"}
    parsed = GraderResponse.model_validate(scores)
    assert parsed.problems_against(GraderRequest.model_validate(event)) == []


def test_the_example_module_runs_in_the_lambda(monkeypatch):
    event = [_sample("right", "Đáp số: 1.234", 1234), _sample("slip", "Đáp số: 1.243", 1234)]
    scores = _invoke(monkeypatch, {"module": "graders/vi_arithmetic.py"}, event)
    assert [s["aggregate_reward_score"] for s in scores] == [1.0, 0.2]


def test_a_batch_where_every_sample_raises_fails_the_invocation(monkeypatch):
    monkeypatch.setenv(Env.GRADER, GraderSettings(builtin="regex", pattern="x").model_dump_json())
    monkeypatch.setattr(
        "lambdas.domain.grading.BUILTIN_GRADERS", {"regex": lambda sample, settings: 1 / 0}, raising=True
    )
    with pytest.raises(GraderFailed, match="ZeroDivisionError"):
        grader.handler([_sample("a", "x", "x")], FakeContext())


def test_an_event_that_is_not_a_list_of_samples_is_refused(monkeypatch):
    monkeypatch.setenv(Env.GRADER, GraderSettings(builtin="exact_match").model_dump_json())
    with pytest.raises(ValueError):
        grader.handler({"id": "a"}, FakeContext())


def test_a_sample_a_user_module_raises_on_scores_0_and_is_logged_with_its_id(monkeypatch, tmp_path):
    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "picky.py").write_text(
        "def grade(sample):\n    if sample.id == 'b':\n        raise ValueError('lạ quá')\n    return 1\n"
    )
    # The module comes from a temporary repository instead of this one; the rest is the handler's own path.
    monkeypatch.setattr(grader, "grade_request", partial(grading.grade_request, root=tmp_path))
    log = io.StringIO()  # the Logger's handler kept the stdout of when it was imported: read what it writes here
    monkeypatch.setattr(grader.logger.registered_handler, "stream", log)
    scores = _invoke(monkeypatch, {"module": "graders/picky.py"}, [_sample("a", "7", 7), _sample("b", "7", 7)])
    assert [(s["id"], s["aggregate_reward_score"]) for s in scores] == [("a", 1.0), ("b", 0.0)]
    assert scores[1]["metrics_list"] == [{"name": "grader_error", "value": 1.0, "type": "Metric"}]
    logged = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    errors = [entry for entry in logged if entry["level"] == "ERROR"]
    assert [(e["sample_id"], e["error"]) for e in errors] == [("b", "ValueError: lạ quá")]
