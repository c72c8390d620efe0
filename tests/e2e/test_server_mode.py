"""Server mode: ``python -m local.server`` in another process, driven over HTTP like the CLI would."""

from __future__ import annotations

import json

import pytest

from .stage import GOOD_DATA

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    from local.remote import RemoteEmulator

    log = tmp_path_factory.mktemp("server") / "server.log"
    with RemoteEmulator.launch(time_scale=0.0001, log=log) as aws:
        yield aws


def test_deploy_run_and_fault_over_http(remote, fixture_cdk_out):
    remote.reset()
    result = remote.deploy(fixture_cdk_out)
    bucket = result.stack("Pipeline").outputs["BucketName"]
    machine = result.stack("Pipeline").outputs["StateMachineArn"]

    remote.upload(bucket, "incoming/demo/data.jsonl", GOOD_DATA)
    run = remote.wait_for_execution(remote.wait_for_executions(machine, count=1)[0]["executionArn"], timeout=60)
    assert run["status"] == "SUCCEEDED", run.get("cause")
    assert json.loads(run["output"])["score"]["passed"] is True

    remote.faults.fail_job(message="emulated capacity error")
    remote.upload(bucket, "incoming/demo/second.jsonl", GOOD_DATA)
    second = remote.wait_for_executions(machine, count=2)[-1]["executionArn"]
    assert remote.wait_for_execution(second, timeout=60)["error"] == "JobFailed"
    assert [f["fault"] for f in remote.faults.fired] == ["job_failed"]
    assert any(entry["event"] == "lambda" for entry in remote.journal)


def test_controls_report_errors(remote, tmp_path):
    from local import DeployError

    with pytest.raises(DeployError):
        remote.deploy(tmp_path)  # no manifest.json: not a cloud assembly
    with pytest.raises(Exception, match="unknown fault"):
        remote.faults.explode()
