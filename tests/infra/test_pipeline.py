"""Template assertions on the pipeline: the definition, the rule patterns, least privilege."""

from __future__ import annotations

import json
import re

import pytest

from lambdas.domain.profiles import TuningProfile, parse_fingerprints

STAGES = ("dev", "prod")


def _resources(template: dict, type_: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == type_}


def _definition(template: dict) -> dict:
    (machine,) = _resources(template, "AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    # CDK renders the definition as Fn::Join of literal strings and references; every reference sits
    # inside a JSON string value, so a placeholder keeps the document parseable.
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(part if isinstance(part, str) else "REF" for part in parts))


def _states(definition: dict) -> dict[str, dict]:
    return definition["States"]


@pytest.fixture(scope="module", params=STAGES)
def pipeline(request, assembly) -> dict:
    return assembly.templates[f"Tuneforge-{request.param}-Pipeline"]


def test_every_task_retries_and_catches(pipeline):
    tasks = {name: state for name, state in _states(_definition(pipeline)).items() if state["Type"] == "Task"}
    assert {
        "Validate",
        "Estimate",
        "StartCustomization",
        "WaitForJob",
        "RecordRun",
        "Notify",
        "Cleanup",
        "NotifyRejected",
    } <= set(tasks)
    for name, state in tasks.items():
        assert state.get("Retry"), f"{name} has no Retry"
        assert state.get("Catch"), f"{name} has no Catch"


def test_failures_run_cleanup_then_fail_and_every_abnormal_end_reaches_cleanup_by_its_event(pipeline):
    states = _states(_definition(pipeline))
    for name in (
        "Validate",
        "Estimate",
        "StartCustomization",
        "WaitForJob",
        "DeployForEvaluation",
        "CheckEndpoint",
        "Evaluate",
        "Promote",
        "CheckThroughput",
        "FinalizePromotion",
        "Teardown",
        "RecordRun",
    ):
        assert [c["Next"] for c in states[name]["Catch"]] == ["Cleanup"], name
    assert states["Cleanup"]["Next"] == "Failed" and [c["Next"] for c in states["Cleanup"]["Catch"]] == ["Failed"]
    assert states["Failed"]["Type"] == "Fail" and states["Failed"]["CausePath"] == "$.error.Cause"
    # No SNS task announces a failure: the status-change event does, for ends no Catch sees as well.
    assert "NotifyFailure" not in states
    [rule] = [
        r
        for r in pipeline["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and "aws.states" in json.dumps(r["Properties"].get("EventPattern", {}))
    ]
    assert sorted(rule["Properties"]["EventPattern"]["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert "Cleanup" in json.dumps(rule["Properties"]["Targets"])


def test_the_machine_has_an_overall_timeout_and_waits_on_a_task_token_with_a_heartbeat(pipeline):
    definition = _definition(pipeline)
    assert definition["TimeoutSeconds"] >= 3600
    wait = definition["States"]["WaitForJob"]
    assert wait["Resource"].endswith("lambda:invoke.waitForTaskToken") or "waitForTaskToken" in json.dumps(
        wait["Resource"]
    )
    assert wait["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert 0 < wait["HeartbeatSeconds"] < wait["TimeoutSeconds"]


def test_no_state_calls_bedrock_directly(pipeline):
    assert "aws-sdk:bedrock" not in json.dumps(_definition(pipeline))
    assert "states:::bedrock" not in json.dumps(_definition(pipeline))


def test_quota_errors_wait_and_retry_instead_of_failing(pipeline):
    retry = _states(_definition(pipeline))["StartCustomization"]["Retry"]
    quota = [r for r in retry if "ServiceQuotaExceededException" in r["ErrorEquals"]]
    assert quota and quota[0]["IntervalSeconds"] >= 60 and quota[0]["MaxAttempts"] >= 5


def test_the_customization_call_gets_vpc_kms_and_its_idempotency_inputs(pipeline):
    (start_job,) = [
        f
        for f in _resources(pipeline, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.handlers.start_job.handler"
    ]
    variables = start_job["Properties"]["Environment"]["Variables"]
    assert {"SUBNET_IDS", "JOB_SECURITY_GROUP_IDS", "KMS_KEY_ARN", "BEDROCK_ROLE_ARN"} <= set(variables)


def _rule(template: dict, source: str) -> dict:
    (rule,) = [
        r
        for r in _resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == [source]
    ]
    return rule["Properties"]


def test_job_rule_matches_job_status_not_status_with_the_exact_detail_type(pipeline):
    pattern = _rule(pipeline, "aws.bedrock")["EventPattern"]
    assert pattern["detail-type"] == ["Model Customization Job State Change"]
    assert pattern["detail"] == {"jobStatus": ["Completed", "Failed", "Stopped"]}


def test_upload_rule_filters_the_exact_bucket_and_prefix_with_dlq_and_retries(pipeline):
    rule = _rule(pipeline, "aws.s3")
    assert rule["EventPattern"]["detail-type"] == ["Object Created"]
    assert rule["EventPattern"]["detail"]["object"]["key"] == [{"prefix": "incoming/"}]
    (bucket,) = rule["EventPattern"]["detail"]["bucket"]["name"]
    assert bucket.startswith("tuneforge-") and "-data-" in bucket
    (target,) = rule["Targets"]
    assert target["DeadLetterConfig"]["Arn"] and target["RetryPolicy"]["MaximumRetryAttempts"] > 0


def test_every_rule_target_has_a_dead_letter_queue(pipeline):
    for rule in _resources(pipeline, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            assert "DeadLetterConfig" in target and "RetryPolicy" in target


def test_a_profile_parameter_changed_outside_a_deployment_is_announced_and_only_that_rule_may_publish(pipeline):
    [rule] = [
        r for lid, r in _resources(pipeline, "AWS::Events::Rule").items() if lid.startswith("ProfileParameterChanged")
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.ssm"] and pattern["detail-type"] == ["Parameter Store Change"]
    stage = {tag["Key"]: tag["Value"] for tag in rule["Properties"]["Tags"]}["stage"]
    assert pattern["detail"]["name"] == [{"prefix": f"/tuneforge/{stage}/profiles/"}]
    [target] = rule["Properties"]["Targets"]
    assert (
        target["Arn"]["Ref"].startswith("Notifications")
        and "PROFILE_PARAMETER_CHANGED" in target["InputTransformer"]["InputTemplate"]
    )
    [policy] = _resources(pipeline, "AWS::SNS::TopicPolicy").values()
    [events_statement] = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    [rule_id] = [lid for lid in _resources(pipeline, "AWS::Events::Rule") if lid.startswith("ProfileParameterChanged")]
    assert events_statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_validate_knows_the_fingerprint_of_every_deployed_profile(pipeline):
    (validate,) = [
        f
        for f in _resources(pipeline, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "lambdas.handlers.validate.handler"
    ]
    fingerprints = parse_fingerprints(validate["Properties"]["Environment"]["Variables"]["PROFILE_FINGERPRINTS"])
    parameters = [
        p["Properties"]
        for p in _resources(pipeline, "AWS::SSM::Parameter").values()
        if "/profiles/" in p["Properties"]["Name"]
    ]
    assert parameters and {p["Name"].rsplit("/", 1)[-1] for p in parameters} == set(fingerprints)
    for parameter in parameters:
        assert (
            TuningProfile.model_validate_json(parameter["Value"]).fingerprint()
            == fingerprints[parameter["Name"].rsplit("/", 1)[-1]]
        )


def _policy_statements(template: dict, handler: str) -> list[dict]:
    (function,) = [
        f for f in _resources(template, "AWS::Lambda::Function").values() if f["Properties"]["Handler"] == handler
    ]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        p
        for p in _resources(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role} in p["Properties"].get("Roles", [])
    ]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statements: list[dict]) -> set[str]:
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


@pytest.mark.parametrize(
    "handler, bedrock_actions",
    [
        ("lambdas.handlers.start_run.handler", set()),
        ("lambdas.handlers.validate.handler", set()),
        ("lambdas.handlers.estimate.handler", set()),
        (
            "lambdas.handlers.start_job.handler",
            {"bedrock:CreateModelCustomizationJob", "bedrock:TagResource", "bedrock:GetFoundationModel"},
        ),
        ("lambdas.handlers.wait_for_job.handler", {"bedrock:GetModelCustomizationJob"}),
        ("lambdas.handlers.job_events.handler", {"bedrock:GetModelCustomizationJob"}),
        (
            "lambdas.handlers.cleanup.handler",
            {
                "bedrock:GetModelCustomizationJob",
                "bedrock:StopModelCustomizationJob",
                "bedrock:DeleteProvisionedModelThroughput",
                "bedrock:DeleteCustomModelDeployment",
                "bedrock:GetEvaluationJob",
                "bedrock:StopEvaluationJob",
            },
        ),
        (
            "lambdas.handlers.deploy_endpoint.handler",
            {
                "bedrock:CreateCustomModelDeployment",
                "bedrock:CreateProvisionedModelThroughput",
                "bedrock:TagResource",
                "bedrock:GetCustomModel",
            },
        ),
        (
            "lambdas.handlers.check_endpoint.handler",
            {"bedrock:GetProvisionedModelThroughput", "bedrock:GetCustomModelDeployment"},
        ),
        ("lambdas.handlers.evaluate_batch.handler", {"bedrock:InvokeModel"}),
        ("lambdas.handlers.prepare_evaluation.handler", set()),
        ("lambdas.handlers.evaluate.handler", set()),
        ("lambdas.handlers.promote.handler", {"bedrock:CreateProvisionedModelThroughput", "bedrock:TagResource"}),
        (
            "lambdas.handlers.finalize_promotion.handler",
            {
                "bedrock:GetProvisionedModelThroughput",
                "bedrock:DeleteProvisionedModelThroughput",
                "bedrock:DeleteCustomModelDeployment",
            },
        ),
        (
            "lambdas.handlers.janitor.handler",
            {
                f"bedrock:{verb}{noun}"
                for verb in ("Get", "Delete")
                for noun in ("ProvisionedModelThroughput", "CustomModelDeployment", "CustomModel")
            },
        ),
    ],
)
def test_each_function_gets_only_the_bedrock_actions_it_calls(pipeline, handler, bedrock_actions):
    actions = _actions(_policy_statements(pipeline, handler))
    assert {a for a in actions if a.startswith("bedrock:")} == bedrock_actions
    assert not any(a.endswith(":*") or a == "*" for a in actions)


def test_pass_role_names_the_bedrock_role_for_bedrock_only(pipeline):
    passes = [
        s for s in _policy_statements(pipeline, "lambdas.handlers.start_job.handler") if s["Action"] == "iam:PassRole"
    ]
    (statement,) = passes
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    assert statement["Resource"] != "*" and "Fn::ImportValue" in json.dumps(statement["Resource"])


def test_jobs_are_created_only_on_the_configured_foundation_models(pipeline):
    (create,) = [
        s
        for s in _policy_statements(pipeline, "lambdas.handlers.start_job.handler")
        if s["Action"] == "bedrock:CreateModelCustomizationJob"
    ]
    rendered = json.dumps(create["Resource"])
    assert "foundation-model/amazon.nova-micro-v1:0:128k" in rendered
    assert "foundation-model/*" not in rendered


def test_both_gate_outcomes_end_through_teardown_before_the_run_is_recorded(pipeline):
    states = _states(_definition(pipeline))
    gate = states["Gate"]
    assert gate["Type"] == "Choice" and gate["Choices"][0]["Next"] == "Promote" and gate["Default"] == "NotPromoted"
    assert (
        states["NotPromoted"]["Next"] == "Teardown"
        and states["Promoted"]["Next"] == "Teardown"
        and states["Superseded"]["Next"] == "Teardown"
    )
    # A newer upload's champion supersedes the run before it buys throughput, or when it loses the write.
    assert states["Promote"]["Next"] == "SupersededBeforePromotion?"
    assert states["SupersededBeforePromotion?"]["Choices"][0]["Next"] == "Superseded"
    assert states["FinalizePromotion"]["Next"] == "Champion?"
    champion = states["Champion?"]
    assert (
        champion["Choices"][0] == {"Variable": "$.champion.value.promoted", "BooleanEquals": True, "Next": "Promoted"}
        and champion["Default"] == "Superseded"
    )
    assert states["Teardown"]["Next"] == "RecordRun"
    assert states["Teardown"]["Parameters"]["Payload"]["final_status"] == "SUCCEEDED"


def test_endpoint_polling_backs_off_as_the_check_says(pipeline):
    states = _states(_definition(pipeline))
    for prefix in ("Endpoint", "Throughput"):
        assert states[f"WaitBeforeNext{prefix}Check"]["SecondsPath"].endswith(".value.next_check_seconds")
        assert states[f"{prefix}Ready?"]["Default"] == f"WaitBeforeNext{prefix}Check"


# -- the janitor (stacks/janitor.py) ----------------------------------------------------------------
JANITOR = "lambdas.handlers.janitor.handler"


def _function(template: dict, handler: str) -> tuple[str, dict]:
    (found,) = [
        (lid, f)
        for lid, f in _resources(template, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == handler
    ]
    return found


def _profile_names(stage: str) -> list[str]:
    from pathlib import Path

    from stacks.config import load_stages

    config = Path(__file__).resolve().parents[2] / "config" / "tuneforge.yaml"
    return sorted(load_stages(config, only=[stage])[0].profiles)


@pytest.fixture(scope="module", params=STAGES)
def staged(request, assembly) -> tuple[str, dict]:
    return request.param, assembly.templates[f"Tuneforge-{request.param}-Pipeline"]


def test_the_janitor_runs_hourly_with_a_dead_letter_queue(pipeline):
    janitor, _ = _function(pipeline, JANITOR)
    (rule,) = [
        r["Properties"]
        for r in _resources(pipeline, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [janitor, "Arn"]} for t in r["Properties"].get("Targets", []))
    ]
    assert rule["ScheduleExpression"] == "rate(1 hour)" and "EventPattern" not in rule
    (target,) = rule["Targets"]
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    function = _resources(pipeline, "AWS::Lambda::Function")[janitor]["Properties"]
    assert function["ReservedConcurrentExecutions"] == 1  # passes never overlap
    assert {
        k: function["Environment"]["Variables"][k]
        for k in ("MODEL_RETENTION_DAYS", "ALARM_AFTER_HOURS", "EXECUTION_TIMEOUT_HOURS")
    } == {"MODEL_RETENTION_DAYS": "7", "ALARM_AFTER_HOURS": "6", "EXECUTION_TIMEOUT_HOURS": "168"}


def test_the_janitor_deletes_only_resources_tagged_with_a_profile_of_its_stage(staged):
    stage, pipeline = staged
    statements = _policy_statements(pipeline, JANITOR)
    deletes = [
        s
        for s in statements
        if any(a.startswith("bedrock:Delete") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    ]
    assert {s["Sid"] for s in deletes} == {"DeleteTaggedThroughputs", "DeleteTaggedDeployments", "DeleteTaggedModels"}
    for statement in deletes:
        assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/tuneforge:profile": _profile_names(stage)}}
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        tails = [
            r["Fn::Join"][1][-1] for r in resources
        ]  # ["arn:", {"Ref": "AWS::Partition"}, ":bedrock:<region>:<account>:<type>/*"]
        kinds = {re.fullmatch(r":bedrock:us-east-1:\d{12}:([a-z-]+)/\*", tail).group(1) for tail in tails}
        assert kinds == {
            {
                "DeleteTaggedThroughputs": "provisioned-model",
                "DeleteTaggedDeployments": "custom-model-deployment",
                "DeleteTaggedModels": "custom-model",
            }[statement["Sid"]]
        }
    (reads,) = [s for s in statements if s["Sid"] == "ReadLeftovers"]
    assert "Condition" not in reads and sorted(reads["Action"]) == [
        "bedrock:GetCustomModel",
        "bedrock:GetCustomModelDeployment",
        "bedrock:GetProvisionedModelThroughput",
    ]
    (query,) = [s for s in statements if s["Action"] == "dynamodb:Query"]
    assert json.dumps(query["Resource"]).endswith('"/index/by-sweep"]]}')  # the sparse index, never a scan


def test_the_overdue_alarm_watches_the_janitors_metric_and_notifies_the_topic(pipeline):
    janitor, function = _function(pipeline, JANITOR)
    variables = function["Properties"]["Environment"]["Variables"]
    (alarm,) = [
        a["Properties"]
        for a in _resources(pipeline, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "BillableLeftoversOverdue"
    ]
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [
        {"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}
    ]  # Powertools' default dimension
    assert (
        alarm["Statistic"],
        alarm["Threshold"],
        alarm["ComparisonOperator"],
        alarm["EvaluationPeriods"],
        alarm["Period"],
    ) == ("Maximum", 1, "GreaterThanOrEqualToThreshold", 1, 3600)
    assert alarm["TreatMissingData"] == "ignore"
    (topic,) = _resources(pipeline, "AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_the_sweep_index_is_sparse_and_carries_only_what_the_alarm_count_needs(assembly):
    foundation = assembly.templates["Tuneforge-dev-Foundation"]
    (runs,) = [
        t["Properties"]
        for lid, t in _resources(foundation, "AWS::DynamoDB::Table").items()
        if lid.startswith("StorageRuns")
    ]
    (index,) = [i for i in runs["GlobalSecondaryIndexes"] if i["IndexName"] == "by-sweep"]
    assert index["KeySchema"] == [
        {"AttributeName": "sweep", "KeyType": "HASH"},
        {"AttributeName": "sweep_after", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["sweep_deadlines"]}


def test_the_janitor_settings_change_its_schedule_alarm_and_environment(tmp_path):
    from pathlib import Path

    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(Path(__file__).resolve().parents[2] / "config" / "tuneforge.yaml", only=["dev"])[0]
    stage = stage.model_copy(
        update={"janitor_interval_minutes": 30, "model_retention_days": 3, "janitor_alarm_after_hours": 12}
    )
    build_app([stage], context=cdk_context(), outdir=str(tmp_path), nag=False).synth()
    pipeline = json.loads((tmp_path / "Tuneforge-dev-Pipeline.template.json").read_text())
    janitor, function = _function(pipeline, JANITOR)
    (rule,) = [
        r["Properties"]
        for r in _resources(pipeline, "AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [janitor, "Arn"]} for t in r["Properties"].get("Targets", []))
    ]
    (alarm,) = [
        a["Properties"]
        for a in _resources(pipeline, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "BillableLeftoversOverdue"
    ]
    variables = function["Properties"]["Environment"]["Variables"]
    assert (rule["ScheduleExpression"], alarm["Period"]) == ("rate(30 minutes)", 1800)
    assert (variables["MODEL_RETENTION_DAYS"], variables["ALARM_AFTER_HOURS"]) == ("3", "12")
