"""Lambda without Docker: the deployed asset's handler runs, isolated per function."""

from __future__ import annotations

import json
import os
import sys

import pytest

pytestmark = pytest.mark.e2e


def _invoke(aws, name: str, payload: dict) -> tuple[dict, str | None]:
    reply = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload))
    return json.loads(reply["Payload"].read()), reply.get("FunctionError")


def test_functions_do_not_share_modules_environment_or_logger_state(deployed):
    aws = deployed.aws
    other = deployed.function("Other")
    # the fixture's handlers asset has its own helper.py; JobEvent imports it (done(...)): warm it up
    job_event = deployed.function("JobEvent")
    _invoke(aws, job_event, {"detail": {"jobArn": "arn:x", "jobStatus": "Completed"}})

    first, error = _invoke(aws, other, {"append": "from-first-call"})
    assert error is None
    assert first["helper"] == "other"  # not handlers/helper.py
    assert first["who"] == "other" and first["other_env"] is None  # only its own variables
    assert first["trace_disabled"] == "true"
    assert first["function"] == other
    second, _ = _invoke(aws, other, {})
    assert second["calls"] == 2  # module state kept between invocations of one function (warm start)
    assert "leaked" in second["keys"]  # ... including its own Powertools logger keys

    # JobEvent's logger (same service name "fixture") never saw Other's appended key, and the host
    # interpreter never saw either function's modules
    assert "helper" not in sys.modules and "index" not in sys.modules
    assert os.environ.get("WHO") is None


def test_errors_come_back_in_the_lambda_error_shape(deployed):
    body, error = _invoke(deployed.aws, deployed.function("Other"), {"fail": "boom"})
    assert error == "Unhandled"
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "boom"
    assert any("index.py" in line for line in body["stackTrace"])


def test_powertools_metrics_flush_with_a_namespace(deployed, capsys):
    detail_event = {"detail": {"bucket": {"name": deployed.bucket}, "object": {"key": "incoming/m.jsonl", "etag": "e"}}}
    body, error = _invoke(deployed.aws, deployed.function("Starter"), detail_event)
    assert error is None and body["started"] is True
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert emf and emf[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Fixture"


def test_cold_start_costs_and_warm_invocations_are_cheap(deployed):
    aws = deployed.aws
    other = deployed.function("Other")
    for _ in range(5):
        _invoke(aws, other, {})
    timings = [i["ms"] for i in aws.invocations() if i["function"] == other]
    assert len(timings) == 5
    assert max(timings[1:]) < 50, timings  # warm: the handler's own cost plus the isolation swap
