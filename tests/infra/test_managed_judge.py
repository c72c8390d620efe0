"""The managed judge's infrastructure, on a stage whose profile asks for it: the evaluation jobs' service role, its
narrow exemption from the artifacts bucket's perimeter, and the two steps' grants (synthesized with the nag gate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuneforge_audit.checklist import iam as iam_checks
from tuneforge_audit.checklist import keys as key_checks
from tuneforge_audit.checklist.template import props, resources, statements

ROOT = Path(__file__).resolve().parents[2]
EVALUATOR = "amazon.nova-premier-v1:0"  # reached from us-east-1 only through the us. inference profile


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0]
    profile = stage.profiles["support-qa-vi"]
    data = profile.model_dump(mode="json")
    data["evaluation"]["managed_judge"] = {"evaluator_model": EVALUATOR, "metrics": ["correctness", "completeness"]}
    data["gate"]["margin_over_baseline"]["judge_correctness"] = 0.05
    judged_profile = type(profile).model_validate(data)
    stage = stage.model_copy(update={"profiles": {**stage.profiles, profile.name: judged_profile}})
    outdir = tmp_path_factory.mktemp("judge-cdk.out")
    build_app([stage], context=cdk_context(), outdir=str(outdir), nag=True).synth()
    return {
        name: json.loads((outdir / f"{name}.template.json").read_text())
        for name in ("Tuneforge-dev-Foundation", "Tuneforge-dev-Pipeline")
    }


def _one(template: dict, kind: str, prefix: str) -> tuple[str, dict]:
    (found,) = [(lid, r) for lid, r in resources(template, kind).items() if lid.startswith(prefix)]
    return found


def _rendered(value) -> str:
    return json.dumps(value, sort_keys=True)


def test_the_role_trusts_bedrock_only_for_this_account_s_evaluation_jobs(judged):
    foundation = judged["Tuneforge-dev-Foundation"]
    _, role = _one(foundation, "AWS::IAM::Role", "BedrockManagedJudgeRole")
    (trust,) = statements(props(role)["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert ":bedrock:us-east-1:123456789012:evaluation-job/*" in _rendered(trust["Condition"]["ArnEquals"])
    assert iam_checks.check_08_bedrock_trust(foundation, "dev") == []
    assert key_checks.check_07_kms_service_conditions(foundation, "dev") == []


def test_the_role_reads_datasets_writes_results_and_invokes_only_the_profiles_evaluator(judged):
    _, policy = _one(judged["Tuneforge-dev-Foundation"], "AWS::IAM::Policy", "BedrockManagedJudgePolicy")
    by_sid = {s.get("Sid"): s for s in statements(props(policy)["PolicyDocument"])}
    assert by_sid["ReadJudgeDatasets"]["Action"] == "s3:GetObject"
    assert "/judge-datasets/*" in _rendered(by_sid["ReadJudgeDatasets"]["Resource"])
    assert by_sid["WriteJudgeResults"]["Action"] == ["s3:GetObject", "s3:PutObject"]
    assert "/judge-output/*" in _rendered(by_sid["WriteJudgeResults"]["Resource"])
    invoke = _rendered(by_sid["InvokeEvaluatorModels"]["Resource"])
    assert f"inference-profile/us.{EVALUATOR}" in invoke and f":bedrock:us-*::foundation-model/{EVALUATOR}" in invoke
    assert by_sid["InvokeEvaluatorModels"]["Action"] == ["bedrock:CreateModelInvocationJob", "bedrock:InvokeModel"]
    assert _rendered(by_sid["RunEvaluatorBatches"]["Resource"]).endswith(
        ':bedrock:us-east-1:123456789012:model-invocation-job/*"]]}'
    )
    via = by_sid["UseKeyOnlyThroughBedrockAndS3"]["Condition"]["StringLike"]["kms:ViaService"]
    assert via == ["bedrock.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"]


def test_the_artifacts_perimeter_lets_the_role_in_only_for_its_prefixes(judged):
    foundation = judged["Tuneforge-dev-Foundation"]
    role_id, _ = _one(foundation, "AWS::IAM::Role", "BedrockManagedJudgeRole")
    (policy,) = [
        p
        for p in resources(foundation, "AWS::S3::BucketPolicy").values()
        if "EvaluationJobsOnlyTheirActionsOutsideTheVpcEndpoint" in _rendered(p)
    ]
    by_sid = {s.get("Sid"): s for s in statements(props(policy)["PolicyDocument"])}
    assert role_id in _rendered(by_sid["DenyDataAccessOutsideTheVpcEndpoint"]["Condition"]["ArnNotEquals"])
    assert by_sid["EvaluationJobsOnlyTheirActionsOutsideTheVpcEndpoint"]["NotAction"] == [
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListBucket",
    ]
    prefixes = _rendered(by_sid["EvaluationJobsOnlyTheirPrefixesOutsideTheVpcEndpoint"]["NotResource"])
    assert "/judge-datasets/*" in prefixes and "/judge-output/*" in prefixes and "/reports/" not in prefixes


def test_the_start_step_passes_only_the_judge_role_to_bedrock(judged):
    pipeline = judged["Tuneforge-dev-Pipeline"]
    _, policy = _one(pipeline, "AWS::IAM::ManagedPolicy", "StartJudgeEvaluationPolicy")
    by_sid = {s.get("Sid"): s for s in statements(props(policy)["PolicyDocument"])}
    passing = by_sid["PassOnlyTheManagedJudgeRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    assert "BedrockManagedJudgeRole" in _rendered(passing["Resource"])
    assert by_sid["StartJudgeJobs"]["Action"] == "bedrock:CreateEvaluationJob"
    assert _rendered(by_sid["StartJudgeJobs"]["Resource"]).endswith(':evaluation-job/*"]]}')
    assert "/reports/*/batches/*.results.jsonl" in _rendered(by_sid["ReadBatchResults"]["Resource"])
    assert iam_checks.check_09_pass_role(pipeline, "dev") == []


def test_the_check_step_reads_results_and_writes_only_the_scores_file(judged):
    _, policy = _one(judged["Tuneforge-dev-Pipeline"], "AWS::IAM::ManagedPolicy", "CheckJudgeEvaluationPolicy")
    by_sid = {s.get("Sid"): s for s in statements(props(policy)["PolicyDocument"])}
    assert by_sid["DescribeJudgeJobs"]["Action"] == "bedrock:GetEvaluationJob"
    assert _rendered(by_sid["WriteJudgeScores"]["Resource"]).endswith('/reports/*/judge-scores.json"]]}')
    assert not any("bedrock:CreateEvaluationJob" in _rendered(s.get("Action")) for s in by_sid.values())
