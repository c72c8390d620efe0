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




def test_other_threads_keep_a_whole_environment_while_functions_run(deployed):
    """Handlers run with their own environment while the executor, EventBridge deliveries and the test
    driver build boto3 clients in other threads, which iterate ``os.environ`` (proxy settings). A key
    taken away mid-iteration raised KeyError there (a Task failed with States.Runtime at random), and
    ``clear()`` + ``update()`` left the environment empty for a moment."""
    from local import lambda_runtime

    assert type(os.environ).__name__ == "_SnapshotEnviron"  # installed by the emulator
    os.environ["TF_GOES_AWAY"] = "1"
    items = iter(os.environ.items())
    next(items)
    del os.environ["TF_GOES_AWAY"]
    list(items)  # the rest of the iteration raises nothing
    saved = os.environ.copy()
    target = {**saved, "WHO": "x"}
    target.pop("HOME", None)
    try:
        lambda_runtime._set_environ(target)  # key by key: shared keys never go away
        assert os.environ.get("WHO") == "x" and "HOME" not in os.environ
        assert os.environ.get("AWS_DEFAULT_REGION") == "us-east-1"
    finally:
        lambda_runtime._set_environ(saved)
    assert os.environ.copy() == saved
    body, error = _invoke(deployed.aws, deployed.function("Other"), {})
    assert error is None and body["who"] == "other"
    assert os.environ.copy() == saved
