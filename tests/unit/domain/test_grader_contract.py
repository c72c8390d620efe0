"""The RFT grader contract as AWS documents it: a list of samples in, one score per sample out."""

import pytest
from pydantic import ValidationError

from lambdas.domain.grader_contract import GraderRequest, GraderResponse, GraderSample


def _sample(**extra):
    return {
        "id": "7",
        "messages": [
            {"role": "user", "content": "2 + 2?"},
            {"role": "assistant", "content": [{"type": "text", "text": "4"}]},
        ],
        **extra,
    }


@pytest.mark.parametrize(
    "where", [{"metadata": {"reference_answer": "4", "task": "t1"}}, {"reference_answer": "4", "task": "t1"}]
)
def test_a_sample_gives_the_response_and_the_records_fields_wherever_the_service_puts_them(where):
    sample = GraderSample.model_validate(_sample(**where))
    assert sample.response == "4" and sample.reference_answer == "4" and sample.fields["task"] == "t1"


def test_a_sample_whose_last_turn_is_not_the_assistants_has_no_response():
    sample = GraderSample.model_validate({"id": 1, "messages": [{"role": "user", "content": "hi"}]})
    assert sample.id == "1" and sample.response == ""


def test_an_answer_must_score_every_sample_once_and_nothing_else():
    request = GraderRequest.model_validate([_sample(), {**_sample(), "id": "8"}])
    good = GraderResponse.model_validate(
        [{"id": "8", "aggregate_reward_score": 1}, {"id": "7", "aggregate_reward_score": 0}]
    )
    assert good.problems_against(request) == []
    bad = GraderResponse.model_validate(
        [
            {"id": "7", "aggregate_reward_score": 1},
            {"id": "7", "aggregate_reward_score": 1},
            {"id": "9", "aggregate_reward_score": 0.5},
        ]
    )
    assert bad.problems_against(request) == [
        "1 sample(s) got no score: 8",
        "1 score(s) name no sample: 9",
        "scored more than once: 7",
    ]


@pytest.mark.parametrize(
    "score",
    [
        {"id": "7", "aggregate_reward_score": float("nan")},
        {"id": "7"},
        {"id": "7", "aggregate_reward_score": 1, "metrics_list": [{"name": "x", "value": 1, "type": "Bonus"}]},
    ],
)
def test_an_answer_the_job_could_not_use_is_refused(score):
    with pytest.raises(ValidationError):
        GraderResponse.model_validate([score])
