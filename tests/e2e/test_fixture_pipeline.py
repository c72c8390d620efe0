"""The fixture app deployed from its cdk.out and run end to end, with faults."""

from __future__ import annotations

import json

import pytest

from .stage import GOOD_DATA

pytestmark = pytest.mark.e2e


def test_deploy_creates_the_stacks_in_dependency_order(deployed):
    result = deployed.result
    assert [s.name for s in result.stacks] == ["Fixture-Pipeline", "Fixture-Consumer"]
    assert all(s.status == "CREATE_COMPLETE" for s in result.stacks)
    # cross-stack import resolved to the state machine the first stack created
    ssm = deployed.aws.client("ssm")
    assert ssm.get_parameter(Name="/fixture/imported-arn")["Parameter"]["Value"] == deployed.state_machine
    # file assets in the bootstrap bucket the templates name; bootstrap version parameter set
    assert any(
        u.startswith("s3://cdk-hnb659fds-assets-123456789012-us-east-1/") and u.endswith(".zip")
        for u in result.assets_uploaded
    )
    assert ssm.get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]["Value"] == "30"
    # the CDK bucket-notifications custom resource really ran (Python handler) and enabled EventBridge
    # (moto's GetBucketNotificationConfiguration omits EventBridgeConfiguration: read the backend)
    notifications = deployed.aws.backend("s3").get_bucket(deployed.bucket).notification_configuration
    assert notifications is not None and notifications.event_bridge is not None
    # the state machine that runs is the one the template created
    assert [sm["stateMachineArn"] for sm in deployed.aws.state_machines()] == [deployed.state_machine]


def test_happy_path_upload_to_promotion(deployed):
    run = deployed.upload_and_wait("incoming/demo/data.jsonl", GOOD_DATA)
    assert run["status"] == "SUCCEEDED", run.get("cause")
    output = json.loads(run["output"])
    assert output["validation"] == {"records": 3}
    assert output["job"]["jobStatus"] == "Completed"
    # the candidate (nearest neighbour over its training data) beats the baseline foundation model
    assert output["score"] == {"candidate": 1.0, "baseline": 0.0, "passed": True}
    states = deployed.aws.states_entered(run["executionArn"])
    assert states[:5] == ["ValidateData", "Pause", "StartJobStep", "WaitForJob", "CreateEndpoint"]
    assert states[-2:] == ["NotifyDone", "Done"]
    # the model the job produced exists, and the run deleted its endpoint
    model = deployed.aws.client("bedrock").get_custom_model(modelIdentifier=output["job"]["outputModelArn"])
    assert model["modelArn"] == output["job"]["outputModelArn"]
    assert deployed.aws.endpoints()["provisioned"] == []


def test_invalid_data_is_rejected_and_notified(deployed):
    run = deployed.upload_and_wait("incoming/demo/broken.jsonl", '{"prompt": "broken"}\n')
    assert run["status"] == "FAILED"
    assert run["error"] == "DatasetRejected"
    states = deployed.aws.states_entered(run["executionArn"])
    assert states == ["ValidateData", "NotifyRejected", "Rejected"]


def test_transient_error_is_retried_with_scaled_backoff(deployed):
    run = deployed.upload_and_wait("incoming/demo/flaky.jsonl", GOOD_DATA)
    assert run["status"] == "SUCCEEDED", run.get("cause")
    history = deployed.aws.history(run["executionArn"])
    failures = [e for e in history if e["type"] == "LambdaFunctionFailed"]
    assert len(failures) == 1 and failures[0]["lambdaFunctionFailedEventDetails"]["error"] == "TransientError"


def test_same_upload_event_twice_starts_one_execution(deployed):
    deployed.upload_and_wait("incoming/demo/data.jsonl", GOOD_DATA)
    detail_event = {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {
            "bucket": {"name": deployed.bucket},
            "object": {"key": "incoming/x.jsonl", "etag": "abc", "size": 1},
        },
    }
    lam = deployed.aws.client("lambda")
    replies = [
        json.loads(
            lam.invoke(FunctionName=deployed.function("Starter"), Payload=json.dumps(detail_event))["Payload"].read()
        )
        for _ in range(2)
    ]
    # StartExecution with the name (and input) of an execution is idempotent (or ExecutionAlreadyExists
    # once it has closed): either way one execution per object version
    assert replies[0]["name"] == replies[1]["name"]
    named = [e for e in deployed.aws.executions(deployed.state_machine) if e["name"] == replies[0]["name"]]
    assert len(named) == 1


def test_direct_rule_starts_the_state_machine_through_an_input_transformer(deployed):
    run = deployed.upload_and_wait("direct/data.jsonl", GOOD_DATA)
    assert run["status"] == "SUCCEEDED", run.get("cause")
    assert json.loads(run["input"]) == {"bucket": deployed.bucket, "key": "direct/data.jsonl"}


@pytest.mark.parametrize("fault,error", [("fail_job", "JobFailed"), ("stop_job", "JobFailed")])
def test_job_failed_or_stopped_ends_in_the_failure_branch(deployed, fault, error):
    getattr(deployed.aws.faults, fault)()
    run = deployed.upload_and_wait("incoming/demo/data.jsonl", GOOD_DATA)
    assert run["status"] == "FAILED"
    assert run["error"] == error
    states = deployed.aws.states_entered(run["executionArn"])
    assert states[-2:] == ["NotifyJobFailed", "JobFailed"]
    job = deployed.aws.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"][0]
    assert job["status"] == ("Failed" if fault == "fail_job" else "Stopped")


def test_lost_job_event_is_recovered_by_the_scheduled_poller(deployed):
    """Driven step by step on a paused clock: nobody fires the poller here, so with time moving on its
    own the task would wait for its 30-day timeout."""
    aws = deployed.aws
    aws.faults.lose_job_event()
    aws.pause()
    aws.upload(deployed.bucket, "incoming/demo/data.jsonl", GOOD_DATA)
    aws.settle()
    execution = aws.executions(deployed.state_machine)[0]["executionArn"]
    assert aws.states_entered(execution)[-1] == "Pause"  # the 300 s Wait
    aws.advance(300)
    assert aws.states_entered(execution)[-1] == "WaitForJob"  # its token is stored
    bedrock = aws.client("bedrock")
    [job] = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    assert job["status"] == "InProgress"
    aws.advance(3600)  # the job completes; its event is dropped
    [job] = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    assert job["status"] == "Completed"
    assert aws.client("stepfunctions").describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert [f["fault"] for f in aws.faults.fired] == ["lost_job_event"]
    aws.fire_scheduled_rules("FallbackPoll")
    aws.resume()
    run = aws.wait_for_execution(execution)
    assert run["status"] == "SUCCEEDED", run.get("cause")


def test_endpoint_creation_failure(deployed):
    deployed.aws.faults.fail_endpoint("provisioned")
    run = deployed.upload_and_wait("incoming/demo/data.jsonl", GOOD_DATA)
    assert run["status"] == "FAILED" and run["error"] == "EndpointFailed"


def test_degraded_candidate_falls_below_the_gate(deployed):
    deployed.aws.faults.degrade_candidate()
    run = deployed.upload_and_wait("incoming/demo/data.jsonl", GOOD_DATA)
    assert run["status"] == "SUCCEEDED"
    assert json.loads(run["output"])["score"]["passed"] is False


def test_throttling_then_success(deployed):
    deployed.aws.faults.throttle("CreateModelCustomizationJob", times=1)
    run = deployed.upload_and_wait("incoming/demo/data.jsonl", GOOD_DATA)
    assert run["status"] == "SUCCEEDED", run.get("cause")  # boto3's own retry absorbed it
    assert [f["fault"] for f in deployed.aws.faults.fired] == ["ThrottlingException"]


def test_access_denied_fails_the_task_with_its_error_name(deployed):
    deployed.aws.faults.deny("CreateModelCustomizationJob")
    run = deployed.upload_and_wait("incoming/demo/data.jsonl", GOOD_DATA)
    assert run["status"] == "FAILED"
    assert run["error"] == "AccessDeniedException"
