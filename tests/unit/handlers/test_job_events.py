from __future__ import annotations

import pytest
from pydantic import ValidationError

from lambdas.handlers.job_events import JobStateChangeEvent

EVENT = {
    "version": "0",
    "id": "5a1c3f0e-8a0b-4a47-9d2b-0d6a1b2c3d4e",
    "detail-type": "Model Customization Job State Change",
    "source": "aws.bedrock",
    "account": "123456789012",
    "time": "2026-11-24T10:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abc123"],
    "detail": {
        "version": "0.0",
        "jobName": "tf-run",
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/abc123",
        "jobStatus": "Completed",
        "outputModelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/x",
    },
}


def test_the_documented_job_state_change_event_parses():
    change = JobStateChangeEvent.model_validate(EVENT)
    assert change.detail.jobStatus == "Completed" and change.detail.jobArn.endswith("/abc123")


def test_another_detail_type_is_refused():
    with pytest.raises(ValidationError):
        JobStateChangeEvent.model_validate({**EVENT, "detail-type": "Batch Inference Job State Change"})
