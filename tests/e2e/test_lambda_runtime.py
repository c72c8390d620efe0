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


def test_an_active_traced_function_records_xray_segments_as_deployed(deployed):
    """Starter has ``Tracing: Active``: it runs with what Lambda sets (``_X_AMZN_TRACE_ID`` per
    invocation ...), its Tracer patches botocore and records the handler and the StartExecution call,
    and the recorder's emitter (the daemon's stand-in) keeps the documents; between invocations the
    host's botocore is the unpatched original, and functions without active tracing stay untraced."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call
    aws = deployed.aws
    starter = deployed.function("Starter")
    for n in range(2):  # cold, then warm: the function's patches are put back in place
        detail_event = {
            "detail": {"bucket": {"name": deployed.bucket}, "object": {"key": f"incoming/t{n}.jsonl", "etag": f"e{n}"}}
        }
        body, error = _invoke(aws, starter, detail_event)
        assert error is None and body["started"] is True
    docs = aws.traces(starter)
    handlers = [d for d in docs if d["name"] == "## handler"]
    calls = [d for d in docs if d.get("namespace") == "aws" and d["name"] == "states"]
    assert len(handlers) == 2 and len(calls) == 2 and len(docs) == 4, [
        d["name"] for d in docs
    ]  # nothing of other threads
    assert len({h["trace_id"] for h in handlers}) == 2  # a new trace per invocation
    for handler in handlers:
        assert handler["type"] == "subsegment" and handler["annotations"]["ColdStart"] in (True, False)
        call = next(c for c in calls if c["trace_id"] == handler["trace_id"])
        assert call["parent_id"] == handler["id"]  # the boto3 call, inside the handler's subsegment
        assert call["aws"]["operation"] == "StartExecution"
        assert handler["trace_id"].startswith("1-") and call["end_time"] >= call["start_time"]
    assert [h["annotations"]["ColdStart"] for h in handlers] == [True, False]

    assert botocore.client.BaseClient._make_api_call is original
    assert not hasattr(botocore.client, "_xray_enabled")
    assert "_X_AMZN_TRACE_ID" not in os.environ
    body, _ = _invoke(aws, deployed.function("Other"), {})
    assert body["trace_disabled"] == "true" and aws.traces(deployed.function("Other")) == []


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
    from local.lambda_environ import SnapshotEnviron, set_environ

    assert type(os.environ) is SnapshotEnviron  # installed by the emulator
    os.environ["TF_GOES_AWAY"] = "1"
    items = iter(os.environ.items())
    next(items)
    del os.environ["TF_GOES_AWAY"]
    list(items)  # the rest of the iteration raises nothing
    saved = os.environ.copy()
    target = {**saved, "WHO": "x"}
    target.pop("HOME", None)
    try:
        set_environ(target)  # key by key: shared keys never go away
        assert os.environ.get("WHO") == "x" and "HOME" not in os.environ
        assert os.environ.get("AWS_DEFAULT_REGION") == "us-east-1"
    finally:
        set_environ(saved)
    assert os.environ.copy() == saved
    body, error = _invoke(deployed.aws, deployed.function("Other"), {})
    assert error is None and body["who"] == "other"
    assert os.environ.copy() == saved
