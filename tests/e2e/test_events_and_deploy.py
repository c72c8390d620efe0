"""EventBridge delivery details and deploy failures, on hand-made resources."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from local import DeployError

pytestmark = pytest.mark.e2e


def _function(aws, name, source):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", source)
    role = aws.client("iam").create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = aws.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="index.handler", Code={"ZipFile": buf.getvalue()}
    )["FunctionArn"]
    aws.allow_eventbridge(arn)
    return arn


def test_input_inputpath_and_transformer_are_honoured(emulator):
    aws = emulator
    source = "import json\nSEEN = []\n\ndef handler(event, context):\n    if event == 'dump':\n        return SEEN\n    SEEN.append(event)\n"
    fn = _function(aws, "rec", source)
    events = aws.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
    events.put_targets(
        Rule="r",
        Targets=[
            {"Id": "const", "Arn": fn, "Input": '{"constant": true}'},
            {"Id": "path", "Arn": fn, "InputPath": "$.detail.job"},
            {
                "Id": "tx",
                "Arn": fn,
                "InputTransformer": {
                    "InputPathsMap": {"j": "$.detail.job", "s": "$.source"},
                    "InputTemplate": '{"job": <j>, "text": "from <s>"}',
                },
            },
        ],
    )
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "t", "Detail": json.dumps({"job": {"id": 7}})}])
    events.put_events(Entries=[{"Source": "other.app", "DetailType": "t", "Detail": "{}"}])  # no match
    assert aws.wait_idle()
    seen = json.loads(aws.client("lambda").invoke(FunctionName=fn, Payload=b'"dump"')["Payload"].read())
    assert len(seen) == 3
    assert {"constant": True} in seen and {"id": 7} in seen and {"job": {"id": 7}, "text": "from my.app"} in seen


def test_disabled_rules_and_schedules(emulator):
    aws = emulator
    source = "SEEN = []\n\ndef handler(event, context):\n    if event == 'dump':\n        return SEEN\n    SEEN.append(event['detail-type'])\n"
    fn = _function(aws, "sched", source)
    events = aws.client("events")
    events.put_rule(Name="every5", ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule="every5", Targets=[{"Id": "f", "Arn": fn}])
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["my.app"]}), State="DISABLED")
    events.put_targets(Rule="off", Targets=[{"Id": "f", "Arn": fn}])
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "t", "Detail": "{}"}])  # disabled: nothing
    assert aws.fire_scheduled_rules() == ["arn:aws:events:us-east-1:123456789012:rule/every5"]
    assert aws.wait_idle()
    seen = json.loads(aws.client("lambda").invoke(FunctionName=fn, Payload=b'"dump"')["Payload"].read())
    assert seen == ["Scheduled Event"]


def test_async_lambda_errors_are_retried_twice(emulator):
    aws = emulator
    fn = _function(aws, "boom", "def handler(event, context):\n    raise RuntimeError('no')\n")
    events = aws.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["my.app"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": fn}])
    events.put_events(Entries=[{"Source": "my.app", "DetailType": "t", "Detail": "{}"}])
    assert aws.wait_idle()
    attempts = [e["attempt"] for e in aws.journal if e["event"] == "events.delivered"]
    assert attempts == [1, 2, 3]


def test_deploy_failure_names_the_stack_and_resource(emulator, tmp_path):
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"S3Bucket": "cdk-hnb659fds-assets-123456789012-us-east-1", "S3Key": "missing.zip"},
                    "Handler": "index.handler",
                    "Role": "arn:aws:iam::123456789012:role/x",
                    "Runtime": "python3.11",
                },
            }
        }
    }
    (tmp_path / "Broken.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Broken": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://123456789012/us-east-1",
                "properties": {"templateFile": "Broken.template.json"},
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    emulator.client("s3").create_bucket(Bucket="cdk-hnb659fds-assets-123456789012-us-east-1")
    with pytest.raises(DeployError) as err:
        emulator.deploy(tmp_path)
    assert err.value.stack == "Broken" and err.value.resource == ("Fn", "AWS::Lambda::Function")
    assert "Fn (AWS::Lambda::Function)" in str(err.value)


def test_python_custom_resource_failure_fails_the_stack(emulator, tmp_path):
    handler = (
        "import json, urllib.request\n"
        "def handler(event, context):\n"
        "    body = json.dumps({'Status': 'FAILED', 'Reason': 'nope: ' + event['ResourceProperties']['Flag'], 'PhysicalResourceId': 'x', 'StackId': event['StackId'], 'RequestId': event['RequestId'], 'LogicalResourceId': event['LogicalResourceId']}).encode()\n"
        "    urllib.request.urlopen(urllib.request.Request(event['ResponseURL'], data=body, method='PUT'))\n"
    )
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Provider": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"ZipFile": handler},
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Runtime": "python3.11",
                },
            },
            "NodeProvider": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": {"ZipFile": "exports.handler = 1"},
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Runtime": "nodejs20.x",
                },
            },
            "Skipped": {
                "Type": "Custom::VpcRestrictDefaultSG",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["NodeProvider", "Arn"]}},
            },
            "Thing": {
                "Type": "Custom::Thing",
                "DependsOn": "Skipped",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Provider", "Arn"]}, "Flag": True},
            },
        }
    }
    (tmp_path / "C.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "C": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://123456789012/us-east-1",
                "properties": {"templateFile": "C.template.json"},
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DeployError, match="nope: true"):  # properties reach the handler as strings
        emulator.deploy(tmp_path)
    assert any(
        e["event"] == "cfn.custom_skipped" and e["type"] == "Custom::VpcRestrictDefaultSG" for e in emulator.journal
    )


def test_execution_status_changes_are_put_on_the_default_bus(emulator):
    aws = emulator
    source = "SEEN = []\n\ndef handler(event, context):\n    if event == 'dump':\n        return SEEN\n    SEEN.append(event)\n"
    fn = _function(aws, "ended", source)
    role = aws.client("iam").create_role(RoleName="sfn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}
    machine = sfn.create_state_machine(name="fails", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    events = aws.client("events")
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"stateMachineArn": [machine], "status": ["FAILED", "TIMED_OUT", "ABORTED"]},
    }
    events.put_rule(Name="ended", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="ended", Targets=[{"Id": "f", "Arn": fn}])
    execution = sfn.start_execution(stateMachineArn=machine, name="run-1", input='{"a": 1}')["executionArn"]
    assert aws.wait_for_execution(execution)["status"] == "FAILED"
    assert aws.wait_idle()
    [event] = json.loads(aws.client("lambda").invoke(FunctionName=fn, Payload=b'"dump"')["Payload"].read())
    assert event["source"] == "aws.states" and event["resources"] == [execution]
    detail = event["detail"]
    assert {k: detail[k] for k in ("executionArn", "stateMachineArn", "name", "status", "error", "cause", "input")} == {
        "executionArn": execution,
        "stateMachineArn": machine,
        "name": "run-1",
        "status": "FAILED",
        "error": "Broken",
        "cause": "on purpose",
        "input": '{"a":1}',
    }
    assert isinstance(detail["startDate"], int) and detail["stopDate"] >= detail["startDate"]
    statuses = [e["status"] for e in aws.journal if e["event"] == "sfn.status_event"]
    assert statuses == ["RUNNING", "FAILED"]
