"""Reinforcement fine-tuning end to end in the emulated account: the Vietnamese arithmetic sample uploaded, the job
run against the grader the pipeline deployed (invoked through the emulator's Lambda path as the job's service
role), the rewards written as the job's training metrics, evaluated, gated and decided; and the grader refused to
everyone else: a job whose role lost its grant, a principal of another account, another role of the account."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lambdas.domain.training_metrics import parse_reward_csv, reward_key
from local import authz

from .stage import TuneforgeStage
from .test_tuneforge_pipeline import assert_clean, assert_decided_by_the_metrics, assert_failed

pytestmark = pytest.mark.e2e

PROFILE = "vi-arithmetic"
SAMPLE = "rft/vi-arithmetic.jsonl"
OTHER_ACCOUNT_ROLE = "arn:aws:iam::999999999999:role/someone-elses-pipeline"


def _grader(stage: TuneforgeStage) -> str:
    name = stage.result.stack("Pipeline").physical_id("GradersviarithmeticFunction", "AWS::Lambda::Function")
    return stage.inspect("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def _grader_invocations(stage: TuneforgeStage, grader_arn: str) -> list[dict]:
    name = grader_arn.rsplit(":", 1)[-1]
    return [e for e in stage.aws.journal if e["event"] == "lambda" and e.get("function") == name]


def _bedrock_role(stage: TuneforgeStage) -> str:
    [job] = stage.jobs()
    return stage.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])["roleArn"]


def test_the_rft_sample_runs_from_upload_to_its_decision_with_the_job_invoking_the_grader(tuneforge):
    grader = _grader(tuneforge)
    run = tuneforge.run(PROFILE, SAMPLE)
    assert run.status == "SUCCEEDED", run.execution
    evaluation = assert_decided_by_the_metrics(run, PROFILE)
    # The candidate answers each problem it trained on with the number its grader rewarded; the baseline knows none.
    assert run.output["decision"] == "PROMOTED"
    assert evaluation["candidate"]["exact_match"] == 1.0 and evaluation["baseline"]["exact_match"] == 0.0

    [job] = tuneforge.jobs()
    details = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])
    assert details["customizationType"] == "REINFORCEMENT_FINE_TUNING"
    # The job graded its samples through the grader, as its service role, allowed by the role's identity grant.
    invocations = _grader_invocations(tuneforge, grader)
    assert len(invocations) == 8 and not any(i["error"] for i in invocations), invocations
    role = details["roleArn"]
    allowed = [
        d
        for d in authz.DECISIONS
        if d["action"] == "lambda:InvokeFunction" and d["resource"] == grader and d["allowed"]
    ]
    assert len(allowed) == 1 and allowed[0]["principal"] == role  # one check per job, before its first step
    # The rewards are the job's training metrics, and they rose as the sampled answers improved.
    bucket, key = reward_key(details["outputDataConfig"]["s3Uri"], job["jobArn"])
    body = tuneforge.inspect("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    rewards = parse_reward_csv(body)
    assert [r.step for r in rewards] == list(range(8))
    means = [r.mean for r in rewards]
    assert means == sorted(means) and means[0] < means[-1], means  # step by step, never down
    assert all(0.0 <= r.min <= r.mean <= r.max <= 1.0 for r in rewards)
    assert_clean(tuneforge, run)


def test_a_job_whose_role_lost_the_grant_cannot_invoke_the_grader_and_the_run_fails_saying_so(tuneforge):
    grader = _grader(tuneforge)
    iam = tuneforge.inspect("iam")
    foundation = tuneforge.result.stack("Foundation")
    role_name = foundation.physical_id("BedrockCustomizationRole", "AWS::IAM::Role")
    [grant] = [
        p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        if "BedrockInvokesGraders" in p["PolicyName"]
    ]
    iam.detach_role_policy(RoleName=role_name, PolicyArn=grant)

    run = tuneforge.run(PROFILE, SAMPLE)
    message = assert_failed(tuneforge, run, "BedrockJobFailed")
    [job] = tuneforge.jobs()
    failure = tuneforge.aws.client("bedrock").get_model_customization_job(jobIdentifier=job["jobArn"])["failureMessage"]
    assert "lambda:InvokeFunction" in failure and grader in failure, failure
    assert "no identity-based policy allows" in failure
    # The data owner's notification carries the reason.
    assert "lambda:InvokeFunction" in message["cause"], message
    assert _grader_invocations(tuneforge, grader) == []  # refused before the grader ran


def test_the_grader_refuses_a_principal_of_another_account_and_other_roles_of_this_one(tuneforge):
    grader = _grader(tuneforge)
    sample = json.dumps(
        [{"id": "0", "messages": [{"role": "assistant", "content": "Đáp số: 3"}], "reference_answer": "3"}]
    )

    with pytest.raises(ClientError) as refused:
        tuneforge.aws.acting_as(OTHER_ACCOUNT_ROLE).client("lambda").invoke(FunctionName=grader, Payload=sample)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "no resource-based policy allows the lambda:InvokeFunction action" in str(refused.value)

    # The data owners' role is of this account, but neither its policies nor the grader's (Bedrock only) allow it.
    with pytest.raises(ClientError) as refused:
        tuneforge.data_owner.client("lambda").invoke(FunctionName=grader, Payload=sample)
    assert "no identity-based policy allows the lambda:InvokeFunction action" in str(refused.value)
    assert _grader_invocations(tuneforge, grader) == []

    # The resource policy names Bedrock alone, for this account's customization jobs only.
    policy = json.loads(tuneforge.inspect("lambda").get_policy(FunctionName=grader)["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["AWS:SourceAccount"] == tuneforge.aws.account
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(":model-customization-job/*")
