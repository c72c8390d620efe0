"""Fails loudly when a moto upgrade breaks an extension: every patch point still exists with the
signature local/ relies on, and every extension still behaves (no CDK needed, a few seconds).

moto is pinned exactly (requirements-dev.txt). To upgrade: bump the pin, run this file, fix what it
names, then update MOTO_VERSION in local/patches.py.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import time
import zipfile

import pytest

pytestmark = pytest.mark.e2e

# (module, attribute path, parameters the patch relies on, or None to only require existence)
PATCH_POINTS = [
    ("moto.stepfunctions.models", "stepfunctions_backends", None),
    ("moto.stepfunctions.responses", "stepfunctions_backends", None),
    ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends", None),
    (
        "moto.stepfunctions.parser.models",
        "StepFunctionsParserBackend.start_execution",
        ["self", "state_machine_arn", "name", "execution_input", "trace_header"],
    ),
    ("moto.stepfunctions.parser.models", "StepFunctionsParserBackend._get_executions", None),
    (
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
        "WaitFunction._wait_interval",
        ["self", "env", "wait_seconds"],
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp",
        "Timestamp._get_wait_seconds",
        ["self", "env"],
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp",
        "Timestamp._from_timestamp_string",
        None,
    ),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time", None),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "RetrierDecl._eval_body", ["self", "env"]),
    (
        "moto.stepfunctions.parser.asl.component.program.program",
        "threading",
        None,
    ),  # Thread.join(timeout): the execution timeout
    (
        "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
        "ExecutionState._evaluate_with_timeout",
        ["self", "env"],
    ),
    (
        "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
        "threading",
        None,
    ),  # Event.wait(timeout): TimeoutSeconds
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "Thread", None),
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "Event", None),  # task-token and heartbeat waits
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackEndpoint.interrupt_all", ["self"]),
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "CallbackPoolManager.get", None),
    ("moto.stepfunctions.parser.asl.eval.environment", "threading", None),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.is_running", None),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.set_stop", ["self", "stop_date", "cause", "error"]),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.set_timed_out", ["self"]),
    ("moto.stepfunctions.parser.asl.eval.environment", "Environment.set_error", ["self", "error"]),
    ("moto.stepfunctions.parser.asl.eval.program_state", "ProgramStopped", None),
    ("moto.stepfunctions.parser.backend.execution_worker", "Thread", None),
    ("moto.stepfunctions.parser.asl.utils.boto_client", "boto_client_for", ["region", "service", "state_credentials"]),
    ("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils", "boto_client_for", None),
    ("moto.stepfunctions.parser.asl.parse.asl_parser", "AmazonStateLanguageParser", None),
    ("moto.stepfunctions.parser.backend.execution", "Execution.start", ["self"]),
    ("moto.stepfunctions.parser.backend.execution", "BaseExecutionWorkerCommunication.terminated", ["self"]),
    ("moto.stepfunctions.parser.backend.execution", "SyncExecutionWorkerCommunication", None),
    ("moto.awslambda.models", "LambdaFunction._invoke_lambda", ["self", "event"]),
    ("moto.awslambda.models", "LambdaFunction.invoke", ["self", "body", "request_headers", "response_headers"]),
    ("moto.awslambda.models", "LambdaFunction._get_layers_data", ["self", "layers_versions_arns"]),
    ("moto.awslambda.models", "UnknownLayerVersionException", None),
    ("moto.awslambda.utils", "get_backend", None),
    ("moto.events.models", "Rule.send_to_targets", ["self", "original_event", "transform_input"]),
    ("moto.events.models", "EventPattern.matches_event", None),
    ("moto.s3.notifications", "_send_event_bridge_message", ["account_id", "bucket", "event_name", "key"]),
    ("moto.s3.notifications", "_detail_type", None),
    (
        "moto.cloudformation.parsing",
        "parse_and_create_resource",
        ["logical_id", "resource_json", "resources_map", "account_id", "region_name"],
    ),
    ("moto.cloudformation.custom_model", "CustomModel.create_from_cloudformation_json", None),
    ("moto.cloudformation.custom_model", "CustomModel.set_data", None),
    ("moto.core.responses", "BaseResponse.call_action", ["self"]),
    ("moto.core.responses", "BaseResponse._get_action", None),
    ("moto.bedrock.models", "ModelCustomizationJob.to_dict", None),
    ("moto.bedrock.models", "BedrockBackend.create_model_customization_job", None),
    ("moto.bedrock.models", "bedrock_backends", None),
    ("moto.bedrock.responses", "BedrockResponse.list_model_customization_jobs", None),
    ("moto.bedrockruntime.responses", "BedrockRuntimeResponse", None),
]


@pytest.mark.parametrize(
    "module,path,params", PATCH_POINTS, ids=[f"{m.rsplit('.', 1)[-1]}:{p}" for m, p, _ in PATCH_POINTS]
)
def test_patch_point_exists(module, path, params):
    import moto

    assert moto.__version__ == "5.2.5", "local/ is written against moto 5.2.5: re-check every patch point"
    obj = importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(obj, part), f"{module}.{path}: {part} is gone"
        obj = getattr(obj, part)
    if params is not None:
        func = getattr(obj, "__wrapped__", obj)
        names = list(inspect.signature(func).parameters)
        assert names[: len(params)] == params, f"{module}.{path} signature changed: {names}"


def test_moto_still_has_the_gaps_we_fill():
    """If moto starts doing one of these itself, the extension may now be in the way."""
    from moto.bedrock.responses import BedrockResponse
    from moto.bedrockruntime.responses import BedrockRuntimeResponse

    import local.patches  # noqa: F401  (import only; patches applied by the fixture below)

    original_bedrock = {
        name
        for name, _ in inspect.getmembers(BedrockResponse, inspect.isfunction)
        if getattr(_, "__module__", "").startswith("moto.")
    }
    for op in (
        "create_provisioned_model_throughput",
        "create_custom_model_deployment",
        "create_evaluation_job",
        "get_foundation_model",
    ):
        assert op not in original_bedrock, f"moto now implements {op}: review local/bedrock/"
    runtime_ops = {
        name
        for name, fn in inspect.getmembers(BedrockRuntimeResponse, inspect.isfunction)
        if fn.__module__.startswith("moto.")
    }
    assert "converse" not in runtime_ops, "moto now implements converse: review local/converse_ext.py"


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", source)
    return buf.getvalue()


HANDLER = """
import os

class BadInput(Exception):
    pass

def handler(event, context):
    if event.get("bad"):
        raise BadInput("bad input")
    return {"seen": event, "fn": context.function_name, "trace": os.environ["POWERTOOLS_TRACE_DISABLED"]}
"""


def test_extensions_behave(emulator):
    aws = emulator
    lam, sfn, iam = aws.client("lambda"), aws.client("stepfunctions"), aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["states.amazonaws.com", "bedrock.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    fn = lam.create_function(
        FunctionName="f", Runtime="python3.11", Role=role, Handler="index.handler", Code={"ZipFile": _zip(HANDLER)}
    )["FunctionArn"]
    # the state machine runs as the role: without this statement its Lambda task is denied, as in AWS
    invoke = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": fn},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::data/*"},
        ],
    }
    iam.put_role_policy(RoleName="r", PolicyName="invoke", PolicyDocument=json.dumps(invoke))

    # Lambda runs the real handler; errors carry errorType
    out = json.loads(lam.invoke(FunctionName="f", Payload=b'{"a": 1}')["Payload"].read())
    assert out == {"seen": {"a": 1}, "fn": "f", "trace": "true"}
    failed = lam.invoke(FunctionName="f", Payload=b'{"bad": true}')
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "BadInput"

    # a state machine created by CloudFormation executes; waits and retries take emulated time, not
    # wall time (300 s Wait, then retries after 30 and 60 s); unnamed runs work
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 300, "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": fn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Retry": [{"ErrorEquals": ["BadInput"], "IntervalSeconds": 30, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["BadInput"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "Result": "caught", "End": True},
        },
    }
    template = {
        "Resources": {
            "SM": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": json.dumps(definition), "RoleArn": role},
            }
        }
    }
    aws.client("cloudformation").create_stack(StackName="s", TemplateBody=json.dumps(template))
    sm = aws.state_machines()[0]["stateMachineArn"]
    started, emulated_start = time.perf_counter(), aws.clock.now()
    aws.pause()  # both start at the same emulated time (else the clock may move between the two calls)
    good = sfn.start_execution(stateMachineArn=sm, input='{"x": 1}')["executionArn"]
    bad = sfn.start_execution(stateMachineArn=sm, input='{"bad": true}')["executionArn"]
    aws.resume()
    assert good != bad
    assert json.loads(aws.wait_for_execution(good)["output"])["seen"] == {"x": 1}
    caught = aws.wait_for_execution(bad)
    assert caught["status"] == "SUCCEEDED", caught
    assert caught["output"].strip('"') == "caught", caught  # moto returns a string result unquoted
    assert time.perf_counter() - started < 5, "Wait 300 s + 2 retries of 30/60 s must not take wall time"
    assert aws.settle() - emulated_start == 300 + 30 + 60  # exactly: time jumps from one due wait to the next
    assert sum(e["type"] == "TaskFailed" for e in aws.history(bad)) == 3  # first try + 2 retries

    # Bedrock: lookups by ARN, lifecycle, an output model that exists, the terminal event delivered
    aws.pause()  # time moves only with advance() now: the job stays InProgress until then
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="train.jsonl", Body=b'{"prompt": "capital of France", "completion": "Paris"}\n')
    queue = aws.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    events = aws.client("events")
    events.put_rule(
        Name="jobs",
        EventPattern=json.dumps({"source": ["aws.bedrock"], "detail-type": ["Model Customization Job State Change"]}),
    )
    events.put_targets(
        Rule="jobs", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}, {"Id": "f", "Arn": fn}]
    )
    aws.allow_eventbridge("arn:aws:sqs:us-east-1:123456789012:q")
    aws.allow_eventbridge(fn)
    bedrock = aws.client("bedrock")
    job = bedrock.create_model_customization_job(
        jobName="j",
        customModelName="m",
        roleArn=role,
        baseModelIdentifier="amazon.titan-text-express-v1:0:8k",
        trainingDataConfig={"s3Uri": "s3://data/train.jsonl"},
        outputDataConfig={"s3Uri": "s3://data/out/"},
        hyperParameters={"epochCount": "1"},
    )["jobArn"]
    assert bedrock.get_model_customization_job(jobIdentifier=job)["status"] == "InProgress"
    aws.advance(3600)
    done = bedrock.get_model_customization_job(jobIdentifier=job)
    assert done["status"] == "Completed" and done["trainingMetrics"]["trainingLoss"] > 0
    assert bedrock.get_custom_model(modelIdentifier=done["outputModelArn"])["modelName"] == "m"
    aws.wait_idle()
    message = json.loads(aws.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    assert message["detail"]["jobStatus"] == "Completed" and message["resources"] == [job]
    assert any(entry["event"] == "events.delivered" and entry["target"] == fn for entry in aws.journal)

    # Converse on the custom model's provisioned throughput, and the baseline
    pt = bedrock.create_provisioned_model_throughput(
        modelUnits=1, provisionedModelName="pt", modelId=done["outputModelArn"]
    )["provisionedModelArn"]
    aws.advance(600)
    runtime = aws.client("bedrock-runtime")
    reply = runtime.converse(
        modelId=pt, messages=[{"role": "user", "content": [{"text": "What is the capital of France?"}]}]
    )
    assert reply["output"]["message"]["content"][0]["text"] == "Paris"
    assert reply["stopReason"] == "end_turn" and reply["usage"]["totalTokens"] > 0 and "latencyMs" in reply["metrics"]
    base = runtime.converse(
        modelId="amazon.titan-text-express-v1",
        messages=[{"role": "user", "content": [{"text": "What is the capital of France?"}]}],
    )
    assert "no specific knowledge" in base["output"]["message"]["content"][0]["text"]

    # S3 -> EventBridge -> SQS with the event S3 sends
    s3.put_bucket_notification_configuration(Bucket="data", NotificationConfiguration={"EventBridgeConfiguration": {}})
    events.put_rule(
        Name="uploads",
        EventPattern=json.dumps({"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "in/"}]}}}),
    )
    events.put_targets(Rule="uploads", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}])
    s3.put_object(Bucket="data", Key="in/x.jsonl", Body=b"{}")
    s3.put_object(Bucket="data", Key="elsewhere/x.jsonl", Body=b"{}")
    bodies = [
        json.loads(m["Body"])
        for m in aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]
    uploads = [b for b in bodies if b["source"] == "aws.s3"]
    assert [b["detail"]["object"]["key"] for b in uploads] == ["in/x.jsonl"]
    assert uploads[0]["detail"]["reason"] == "PutObject" and "etag" in uploads[0]["detail"]["object"]


SLOW_HANDLER = """
import time

def handler(event, context):
    time.sleep(event.get("wall_seconds", 0))  # wall time: a cold start, a busy machine
    return {"slept": event.get("wall_seconds", 0)}
"""


def test_emulated_time_is_discrete_event(emulator):
    """Handler time is not emulated time (a task with TimeoutSeconds 1 survives a handler that takes
    longer in wall time), timeouts fire after exactly their emulated duration, and StopExecution ends
    a task waiting for its token: ABORTED, not the heartbeat's timeout."""
    aws = emulator
    lam, sfn, iam = aws.client("lambda"), aws.client("stepfunctions"), aws.client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = lam.create_function(
        FunctionName="slow",
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip(SLOW_HANDLER)},
    )["FunctionArn"]
    iam.put_role_policy(
        RoleName="r",
        PolicyName="invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": fn}],
            }
        ),
    )

    def machine(name: str, definition: dict) -> str:
        return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role)["stateMachineArn"]

    call = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": fn, "Payload.$": "$"},
        "OutputPath": "$.Payload",
    }
    slow = machine("slow", {"StartAt": "Call", "States": {"Call": {**call, "TimeoutSeconds": 1, "End": True}}})
    run = aws.wait_for_execution(
        sfn.start_execution(stateMachineArn=slow, input='{"wall_seconds": 1.5}')["executionArn"]
    )
    assert run["status"] == "SUCCEEDED", run

    # The execution's TimeoutSeconds (600) fires during the second 500 s Wait, at exactly 600 s.
    timed = machine(
        "timed",
        {
            "TimeoutSeconds": 600,
            "StartAt": "W1",
            "States": {
                "W1": {"Type": "Wait", "Seconds": 500, "Next": "Call"},
                "Call": {**call, "Next": "W2"},
                "W2": {"Type": "Wait", "Seconds": 500, "End": True},
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=timed, input='{"wall_seconds": 0.5}')["executionArn"]
    assert aws.wait_for_execution(arn)["status"] == "TIMED_OUT"
    history = aws.history(arn)
    assert (
        history[-1]["type"] == "ExecutionTimedOut"
        and (history[-1]["timestamp"] - history[0]["timestamp"]).total_seconds() == 600
    )

    # A task token wait with a heartbeat: stopped while it waits, the execution is ABORTED.
    token_task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": fn, "Payload": {"token.$": "$$.Task.Token"}},
        "HeartbeatSeconds": 300,
        "TimeoutSeconds": 3600,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        "End": True,
    }
    waiting = machine(
        "waiting", {"StartAt": "Wait", "States": {"Wait": token_task, "Caught": {"Type": "Pass", "End": True}}}
    )
    aws.pause()
    arn = sfn.start_execution(stateMachineArn=waiting, input="{}")["executionArn"]
    aws.settle()
    assert aws.states_entered(arn) == ["Wait"] and sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    stopped_at = aws.clock.now()
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped")
    assert aws.wait_for_execution(arn)["status"] == "ABORTED"
    assert aws.clock.now() == stopped_at  # no timer had to fire for the stop to take effect
    history = aws.history(arn)
    assert history[-1]["type"] == "ExecutionAborted" and not [
        e for e in history if e["type"] in ("TaskTimedOut", "TaskFailed")
    ]
    assert aws.states_entered(arn) == ["Wait"]  # the Catch did not run
    aws.resume()
    assert aws.clock.pending() == []  # nothing of the stopped execution is left waiting on the clock


def test_s3_sends_the_object_created_event_as_s3_does(emulator):
    """Key URL-encoded as S3 writes it, sequencer increasing per key, version-id, Object Deleted shape
    (sources in local/events_ext.py)."""
    from urllib.parse import unquote_plus

    aws = emulator
    s3, events, sqs = aws.client("s3"), aws.client("events"), aws.client("sqs")
    s3.create_bucket(Bucket="data")
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket="data", NotificationConfiguration={"EventBridgeConfiguration": {}})
    queue = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    events.put_rule(Name="all-s3", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="all-s3", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:s3-events"}])
    emulator.allow_eventbridge("arn:aws:sqs:us-east-1:123456789012:s3-events")
    key = "in/dữ liệu/tập huấn+1 100%.jsonl"
    versions = [s3.put_object(Bucket="data", Key=key, Body=body)["VersionId"] for body in (b"{}", b"{} ")]
    s3.create_bucket(Bucket="loose")  # unversioned: a delete removes the object, and S3 says so
    s3.put_bucket_notification_configuration(Bucket="loose", NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3.put_object(Bucket="loose", Key="a b.jsonl", Body=b"{}")
    s3.delete_object(Bucket="loose", Key="a b.jsonl")
    aws.wait_idle()
    bodies = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    created = [
        b for b in bodies if b["detail-type"] == "Object Created" and b["detail"]["object"]["key"].startswith("in/d")
    ]
    assert [c["detail"]["object"]["key"] for c in created] == [
        "in/d%E1%BB%AF+li%E1%BB%87u/t%E1%BA%ADp+hu%E1%BA%A5n%2B1+100%25.jsonl"
    ] * 2
    assert all(unquote_plus(c["detail"]["object"]["key"]) == key for c in created)
    assert [c["detail"]["object"]["version-id"] for c in created] == versions
    sequencers = [c["detail"]["object"]["sequencer"] for c in created]
    assert all(len(s) == 18 and int(s, 16) >= 0 and s == s.upper() for s in sequencers)
    assert sequencers[0] < sequencers[1]
    detail = created[0]["detail"]
    assert set(detail) == {
        "version",
        "event-version",
        "bucket",
        "object",
        "request-id",
        "requester",
        "source-ip-address",
        "reason",
    }
    assert (
        detail["reason"] == "PutObject" and detail["bucket"] == {"name": "data"} and detail["requester"] == aws.account
    )
    assert detail["object"]["size"] == 2 and '"' not in detail["object"]["etag"] and len(detail["request-id"]) == 16
    [put] = [
        b["detail"] for b in bodies if b["detail-type"] == "Object Created" and b["detail"]["bucket"]["name"] == "loose"
    ]
    [deleted] = [b["detail"] for b in bodies if b["detail-type"] == "Object Deleted"]
    assert put["object"]["key"] == deleted["object"]["key"] == "a+b.jsonl" and "version-id" not in put["object"]
    assert (
        deleted["reason"] == "DeleteObject"
        and deleted["deletion-type"] == "Permanently Deleted"
        and "size" not in deleted["object"]
    )
    assert put["object"]["sequencer"] < deleted["object"]["sequencer"]
