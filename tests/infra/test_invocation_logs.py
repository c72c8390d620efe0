"""Distillation from invocation logs in the templates: a schedule per profile that sets one, the service role's
read of the log locations and nothing more, and the S3 endpoint letting only that role through to them."""

from __future__ import annotations

import json

import pytest

from lambdas.domain.logs_runs import SCHEDULED_LOGS_RUN

STAGES = ("dev", "prod")
PROFILE = "support-qa-vi-logs"
LOGS = "arn:${AWS::Partition}:s3:::acme-bedrock-invocation-logs"


def _resources(template: dict, type_: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == type_}


def _rendered(value: object) -> str:
    """A resource ARN as text: Fn::Join of literal parts and the partition."""
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(part if isinstance(part, str) else "${AWS::Partition}" for part in value["Fn::Join"][1])
    return str(value)


def _statements(policy: dict) -> dict[str, dict]:
    return {s.get("Sid", ""): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


@pytest.mark.parametrize("stage", STAGES)
def test_a_profile_with_a_schedule_has_a_rule_that_starts_its_runs(assembly, stage):
    pipeline = assembly.templates[f"Tuneforge-{stage}-Pipeline"]
    rules = {
        lid: rule
        for lid, rule in _resources(pipeline, "AWS::Events::Rule").items()
        if lid.startswith("LogsRunSchedules")
    }
    [rule] = rules.values()  # one profile sets a schedule
    assert rule["Properties"]["ScheduleExpression"] == "rate(7 days)"
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("StartRunFunction")
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    template = json.loads(target["InputTransformer"]["InputTemplate"].replace("<time>", '"T"'))
    assert template == {SCHEDULED_LOGS_RUN: {"profile": PROFILE, "scheduled_at": "T"}}
    assert target["InputTransformer"]["InputPathsMap"] == {"time": "$.time"}
    [permission] = [
        p
        for p in _resources(pipeline, "AWS::Lambda::Permission").values()
        if p["Properties"].get("SourceArn") == {"Fn::GetAtt": [next(iter(rules)), "Arn"]}
    ]
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"


@pytest.mark.parametrize("stage", STAGES)
def test_the_service_role_reads_the_log_location_and_nothing_else_of_its_bucket(assembly, stage):
    foundation = assembly.templates[f"Tuneforge-{stage}-Foundation"]
    [policy] = [
        p for lid, p in _resources(foundation, "AWS::IAM::Policy").items() if lid.startswith("BedrockCustomization")
    ]
    statements = _statements(policy)
    assert statements["ReadInvocationLogs"]["Action"] == "s3:GetObject"
    assert _rendered(statements["ReadInvocationLogs"]["Resource"]) == f"{LOGS}/bedrock/*"
    assert statements["ListInvocationLogs"]["Action"] == "s3:ListBucket"
    assert _rendered(statements["ListInvocationLogs"]["Resource"]) == LOGS
    assert "DecryptInvocationLogs" not in statements  # the bundled profile names no key
    logs_statements = [s for s in statements.values() if "acme-bedrock" in json.dumps(s)]
    assert len(logs_statements) == 2 and all(s["Effect"] == "Allow" for s in logs_statements)


@pytest.mark.parametrize("stage", STAGES)
def test_the_s3_endpoint_lets_only_the_service_role_read_the_logs(assembly, stage):
    foundation = assembly.templates[f"Tuneforge-{stage}-Foundation"]
    [statement] = [
        s
        for e in _resources(foundation, "AWS::EC2::VPCEndpoint").values()
        for s in (e["Properties"].get("PolicyDocument") or {}).get("Statement", [])
        if s.get("Sid") == "BedrockJobsReadInvocationLogs"
    ]
    assert sorted(statement["Action"]) == ["s3:GetObject", "s3:ListBucket"]
    assert sorted(_rendered(r) for r in statement["Resource"]) == [LOGS, f"{LOGS}/bedrock/*"]
    [role_arn] = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"].values()
    assert role_arn[0].startswith("BedrockCustomizationRole")
