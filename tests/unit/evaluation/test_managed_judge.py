"""Bedrock's managed judge: the requests against botocore's service model, the documented result format, and the
two handlers against the emulated evaluation jobs (which assume the service role and work as it, as AWS does)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from lambdas.domain.bedrock_requests import request_problems
from lambdas.domain.catalogue import evaluation_jobs as facts
from lambdas.domain.evaluation import Answer, EvaluationFailed, Example, ExampleResult, report_prefix
from lambdas.domain.evaluation_batches import plan, result_record, results_key
from lambdas.domain.managed_judge import (
    JudgeEvaluationFailed,
    JudgeEvaluationStarted,
    JudgeScores,
    build_job_request,
    dataset_record,
    job_name_for,
    load_judge_scores,
    merge_scores,
    parse_results,
)
from lambdas.domain.names import JUDGE_SCORES_FILE
from lambdas.domain.profiles import KNOWN_METRICS, TuningProfile
from lambdas.handlers import check_judge_evaluation, start_judge_evaluation
from tests.unit.evaluation.helpers import ACCOUNT, ARTIFACTS_BUCKET, REGION

NOVA = "fine-tuning/nova-micro-vi-qa.jsonl"
JUDGE_ROLE = "tuneforge-judge"
JUDGE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{JUDGE_ROLE}"
EVALUATOR = "amazon.nova-pro-v1:0"
MANAGED = {"managed_judge": {"evaluator_model": EVALUATOR, "metrics": ["correctness", "completeness", "helpfulness"]}}

EXAMPLES = [
    ("Thủ đô của Việt Nam là gì?", "Hà Nội là thủ đô của Việt Nam."),
    ("Sông dài nhất Việt Nam?", "Sông Mê Kông là sông dài nhất chảy qua Việt Nam."),
    ("Đỉnh núi cao nhất Việt Nam?", "Fansipan là đỉnh núi cao nhất Việt Nam."),
]


# --- the request and the documented formats ----------------------------------------------------------------
def _request(**changes):
    arguments = {
        "job_name": job_name_for("support-qa-vi-0123456789abcdef01234567", "candidate", 0),
        "role_arn": JUDGE_ROLE_ARN,
        "evaluator_model": EVALUATOR,
        "metrics": ["correctness", "completeness"],
        "dataset_uri": f"s3://{ARTIFACTS_BUCKET}/judge-datasets/support-qa-vi/run/candidate-0.jsonl",
        "output_uri": f"s3://{ARTIFACTS_BUCKET}/judge-output/support-qa-vi/run/",
        "side": "candidate",
        "client_request_token": "a" * 64,
        **changes,
    }
    return build_job_request(**arguments)


def test_the_job_request_is_one_botocore_s_service_model_accepts():
    request = _request()
    assert request_problems("CreateEvaluationJob", request) == []
    automated = request["evaluationConfig"]["automated"]
    assert automated["datasetMetricConfigs"][0]["metricNames"] == ["Builtin.Correctness", "Builtin.Completeness"]
    assert automated["evaluatorModelConfig"] == {"bedrockEvaluatorModels": [{"modelIdentifier": EVALUATOR}]}
    assert request["inferenceConfig"] == {
        "models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": "tuneforge-candidate"}}]
    }
    # An evaluator reached through an inference profile is named by the profile's id, which the model admits too.
    assert request_problems("CreateEvaluationJob", _request(evaluator_model="us.amazon.nova-premier-v1:0")) == []


def test_job_names_fit_bedrock_s_pattern_and_tell_the_sides_apart():
    names = {
        job_name_for("a-very-long-profile-name-" + "x" * 60, side, part)
        for side in ("candidate", "baseline")
        for part in (0, 9)
    }
    assert len(names) == 4 and all(len(name) <= 63 and name == name.lower() for name in names)
    for name in names:
        assert request_problems("CreateEvaluationJob", _request(job_name=name)) == []


def test_a_request_bedrock_would_refuse_is_refused_before_it_is_sent():
    from lambdas.domain.bedrock_requests import BedrockRequestRefused

    with pytest.raises(BedrockRequestRefused, match="outputDataConfig.s3Uri"):
        _request(output_uri="s3://Bucket_With_Capitals/out/")


def test_dataset_records_carry_the_response_as_the_job_s_source():
    record = dataset_record("q", "ref", "answer", "baseline")
    assert record == {
        "prompt": "q",
        "referenceResponse": "ref",
        "modelResponses": [{"response": "answer", "modelIdentifier": "tuneforge-baseline"}],
    }
    assert "referenceResponse" not in dataset_record("q", "", "answer", "candidate")


def test_results_in_the_documented_format_are_matched_to_their_examples_whatever_their_order():
    """model-evaluation-report-s3.html: each line holds automatedEvaluationResult.scores and the inputRecord."""
    dataset = [dataset_record(p, r, r, "candidate") for p, r in EXAMPLES[:2]] + [
        dataset_record("same", "x", "y", "candidate")
    ] * 2
    lines = [7, 9, 12, 15]
    documented = [
        {
            "automatedEvaluationResult": {
                "scores": [
                    {"metricName": "Builtin.Correctness", "result": 0.75, "evaluatorDetails": [{"explanation": "…"}]},
                    {"metricName": "Builtin.Completeness", "result": None},
                ]
            },
            "inputRecord": record,
        }
        for record in reversed(dataset[:3])
    ]
    scores = parse_results(documented, dataset, lines, ["judge_correctness", "judge_completeness"])
    assert scores[7] == {"judge_correctness": 0.75, "judge_completeness": None}
    assert scores[12]["judge_correctness"] == 0.75
    assert scores[15] == {"judge_correctness": None, "judge_completeness": None}  # no result: not scored


def test_the_gate_names_the_managed_judge_s_metrics_and_the_profile_must_ask_for_them(aws):
    assert {"judge_correctness", "judge_completeness", "judge_helpfulness"} <= set(KNOWN_METRICS)
    profile = aws.profile("support-qa-vi", gate={"minimums": {"judge_faithfulness": 0.5}}, evaluation=MANAGED)
    assert (
        "gate",
        "judge_faithfulness needs evaluation.managed_judge with 'faithfulness' in its metrics",
    ) in profile.problems()
    assert (
        aws.profile("support-qa-vi", gate={"minimums": {"judge_correctness": 0.5}}, evaluation=MANAGED).problems() == []
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"evaluator_model": "amazon.titan-text-express-v1", "metrics": ["correctness"]}, "not an evaluator model"),
        ({"evaluator_model": EVALUATOR, "metrics": ["harmfulness"]}, "unknown 'harmfulness'"),
        ({"evaluator_model": EVALUATOR, "metrics": []}, "at least 1"),
    ],
)
def test_profiles_name_a_documented_evaluator_and_known_metrics(aws, settings, message):
    with pytest.raises(ValidationError, match=message):
        aws.profile("support-qa-vi", evaluation={"managed_judge": settings})


def test_an_unset_managed_judge_leaves_existing_fingerprints_alone(aws):
    profile = aws.profiles["support-qa-vi"]
    data = profile.model_dump(mode="json")
    data["evaluation"].pop("managed_judge")
    assert TuningProfile.model_validate(data).fingerprint() == profile.fingerprint()
    assert aws.profile("support-qa-vi", evaluation=MANAGED).fingerprint() != profile.fingerprint()


def test_merged_scores_join_each_example_s_metrics():
    results = [
        ExampleResult(
            Example(line=n, prompt=p, reference=r), Answer(r), Answer("?"), {"token_f1": 1.0}, {"token_f1": 0.0}
        )
        for n, (p, r) in enumerate(EXAMPLES, start=1)
    ]
    scores = JudgeScores(
        evaluator_model=EVALUATOR,
        metrics=["judge_correctness"],
        jobs=[],
        examples={1: {"candidate": {"judge_correctness": 0.9}, "baseline": {"judge_correctness": 0.2}}},
    )
    merge_scores(results, scores)
    assert results[0].candidate_scores == {"token_f1": 1.0, "judge_correctness": 0.9}
    assert results[0].baseline_scores["judge_correctness"] == 0.2
    assert results[1].candidate_scores["judge_correctness"] is None  # not judged: skipped by the means


# --- the handlers on the emulator ----------------------------------------------------------------------------
def _judge_role(aws, *, may_read_datasets: bool = True) -> None:
    iam = __import__("boto3").client("iam", region_name=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/*"},
                },
            }
        ],
    }
    statements = [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{ARTIFACTS_BUCKET}/judge-output/*"},
        {
            "Effect": "Allow",
            "Action": "bedrock:InvokeModel",
            "Resource": f"arn:aws:bedrock:{REGION}::foundation-model/{EVALUATOR}",
        },
    ]
    if may_read_datasets:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{ARTIFACTS_BUCKET}/judge-datasets/*",
            }
        )
    iam.create_role(RoleName=JUDGE_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=JUDGE_ROLE,
        PolicyName="judge",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


def _batched(aws, run, results):
    """The batches' files for ``results`` as the Map leaves them: a plan (inputs and manifest), then each batch's
    results; returns StartJudgeEvaluation's event."""
    evaluation = plan(
        aws.s3,
        run,
        [result.example for result in results],
        artifacts_bucket=ARTIFACTS_BUCKET,
        evaluation_set_uri=f"s3://{ARTIFACTS_BUCKET}/evaluation/set.jsonl",
        candidate_model="candidate",
        baseline_model="baseline",
        judge_model=None,
    )
    size = evaluation.examples_per_batch
    for index in evaluation.batch_indices:
        chunk = results[index * size : (index + 1) * size]
        aws.s3.put_object(
            Bucket=ARTIFACTS_BUCKET,
            Key=results_key(evaluation.job, index),
            Body="".join(json.dumps(result_record(r), ensure_ascii=False) + "\n" for r in chunk).encode(),
        )
    return json.loads(json.dumps({"run": run.model_dump(mode="json"), "evaluation_plan": evaluation.model_dump()}))


def _evaluated_run(aws, monkeypatch):
    """A run whose batches wrote their per-example results: the candidate answers with the references, the
    baseline with something else, and one baseline call failed. Returns the run and StartJudgeEvaluation's event."""
    monkeypatch.setenv("JUDGE_ROLE_ARN", JUDGE_ROLE_ARN)
    run = aws.run(aws.profile("support-qa-vi", evaluation=MANAGED), NOVA)
    results = []
    for line, (prompt, reference) in enumerate(EXAMPLES, start=1):
        baseline = Answer("Tôi không biết.") if line < 3 else Answer("", error="ThrottlingException: slow down")
        results.append(
            ExampleResult(Example(line=line, prompt=prompt, reference=reference), Answer(reference), baseline)
        )
    return run, _batched(aws, run, results)


def test_start_then_check_until_done_leaves_per_example_scores_for_the_aggregate_step(aws, context, monkeypatch):
    _judge_role(aws)
    run, event = _evaluated_run(aws, monkeypatch)
    started = JudgeEvaluationStarted.model_validate(start_judge_evaluation.handler(event, context))
    assert [(job.side, job.examples) for job in started.jobs] == [("candidate", 3), ("baseline", 2)]
    assert started.metrics == ["judge_correctness", "judge_completeness", "judge_helpfulness"]

    check_event = json.loads(json.dumps({**event, "judge": started.model_dump()}))
    first = check_judge_evaluation.handler(check_event, context)
    assert first["status"] == "running" and first["scores_uri"] is None

    aws.advance(aws.emulator.settings.evaluation_duration + 1)
    done = check_judge_evaluation.handler(check_event, context)
    assert done["status"] == "done" and done["done"] is True
    assert done["scores_uri"] == f"s3://{ARTIFACTS_BUCKET}/{report_prefix(run)}{JUDGE_SCORES_FILE}"
    scores = load_judge_scores(aws.s3, done["scores_uri"])
    assert set(scores.examples) == {1, 2, 3}
    for line in (1, 2):
        assert (
            scores.examples[line]["candidate"]["judge_correctness"]
            > scores.examples[line]["baseline"]["judge_correctness"]
        )
    assert "baseline" not in scores.examples[3]  # its call failed: nothing to judge

    # A retried start (same run) gets the same jobs back: Bedrock's client request token.
    again = JudgeEvaluationStarted.model_validate(start_judge_evaluation.handler(event, context))
    assert [job.job_arn for job in again.jobs] == [job.job_arn for job in started.jobs]


def test_a_service_role_that_cannot_read_the_datasets_fails_the_jobs_with_bedrock_s_reason(aws, context, monkeypatch):
    _judge_role(aws, may_read_datasets=False)
    run, event = _evaluated_run(aws, monkeypatch)
    started = start_judge_evaluation.handler(event, context)
    aws.advance(aws.emulator.settings.evaluation_duration + 1)
    with pytest.raises(JudgeEvaluationFailed, match="is not authorized to perform: s3:GetObject") as failed:
        check_judge_evaluation.handler(json.loads(json.dumps({**event, "judge": started})), context)
    assert str(failed.value).count("Failed") == len(started["jobs"])


def test_a_role_bedrock_may_not_assume_is_refused_when_the_job_is_created(aws, context, monkeypatch):
    _, event = _evaluated_run(aws, monkeypatch)  # no judge role exists
    with pytest.raises(ClientError, match="AccessDenied"):
        start_judge_evaluation.handler(event, context)


def test_a_stopped_job_fails_the_check(aws, context, monkeypatch):
    _judge_role(aws)
    run, event = _evaluated_run(aws, monkeypatch)
    started = start_judge_evaluation.handler(event, context)
    aws.bedrock.stop_evaluation_job(jobIdentifier=started["jobs"][0]["job_arn"])
    aws.advance(1)
    with pytest.raises(JudgeEvaluationFailed, match="Stopped"):
        check_judge_evaluation.handler(json.loads(json.dumps({**event, "judge": started})), context)


def test_cleanup_stops_the_judge_jobs_a_run_left_running(aws, context, monkeypatch):
    from lambdas.domain.cleanup import cleanup_run

    _judge_role(aws)
    run, event = _evaluated_run(aws, monkeypatch)
    started = start_judge_evaluation.handler(event, context)
    arns = [job["job_arn"] for job in started["jobs"]]
    assert aws.registry.get(run.run_id)["judge_jobs"] == arns
    assert cleanup_run(aws.registry, aws.bedrock, run.run_id).stopped_judge_jobs == arns
    aws.advance(1)
    assert {aws.bedrock.get_evaluation_job(jobIdentifier=arn)["status"] for arn in arns} == {"Stopped"}
    assert cleanup_run(aws.registry, aws.bedrock, run.run_id).stopped_judge_jobs == []  # idempotent


# --- what the emulated Bedrock refuses, as Bedrock does ------------------------------------------------------
def test_the_emulator_refuses_two_models_in_one_automated_job_and_undocumented_evaluators(aws):
    _judge_role(aws)
    request = _request(role_arn=JUDGE_ROLE_ARN)
    two = json.loads(json.dumps(request))
    two["inferenceConfig"]["models"].append(
        {"precomputedInferenceSource": {"inferenceSourceIdentifier": "tuneforge-baseline"}}
    )
    with pytest.raises(ClientError, match="single model"):
        aws.bedrock.create_evaluation_job(**two)
    other = json.loads(json.dumps(request))
    other["evaluationConfig"]["automated"]["evaluatorModelConfig"]["bedrockEvaluatorModels"][0]["modelIdentifier"] = (
        "amazon.titan-text-express-v1"
    )
    with pytest.raises(ClientError, match="not supported"):
        aws.bedrock.create_evaluation_job(**other)
    bad_name = {**request, "jobName": "Not_A_Valid_Name"}
    with pytest.raises(ClientError, match="jobName"):
        aws.bedrock.create_evaluation_job(**bad_name)


def test_the_emulator_fails_a_dataset_whose_responses_name_another_source(aws):
    _judge_role(aws)
    key = "judge-datasets/p/r/candidate-0.jsonl"
    aws.s3.put_object(
        Bucket=ARTIFACTS_BUCKET, Key=key, Body=(json.dumps(dataset_record("q", "r", "a", "baseline")) + "\n").encode()
    )
    request = _request(role_arn=JUDGE_ROLE_ARN, dataset_uri=f"s3://{ARTIFACTS_BUCKET}/{key}")
    arn = aws.bedrock.create_evaluation_job(**request)["jobArn"]
    aws.advance(aws.emulator.settings.evaluation_duration + 1)
    job = aws.bedrock.get_evaluation_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and "inferenceSourceIdentifier" in job["failureMessages"][0]
    assert facts.MAX_PROMPTS_PER_JOB == 1000


def test_more_examples_than_one_job_takes_are_split_into_parts_of_at_most_a_thousand(aws, context, monkeypatch):
    _judge_role(aws)
    monkeypatch.setenv("JUDGE_ROLE_ARN", JUDGE_ROLE_ARN)
    run = aws.run(aws.profile("support-qa-vi", evaluation=MANAGED), NOVA)
    count = facts.MAX_PROMPTS_PER_JOB + 1
    results = [
        ExampleResult(Example(line=n, prompt=f"q{n}", reference="r"), Answer("r"), Answer("x"))
        for n in range(1, count + 1)
    ]
    event = _batched(aws, run, results)
    started = JudgeEvaluationStarted.model_validate(start_judge_evaluation.handler(event, context))
    assert [(job.side, job.part, job.examples) for job in started.jobs] == [
        ("candidate", 0, 1000),
        ("candidate", 1, 1),
        ("baseline", 0, 1000),
        ("baseline", 1, 1),
    ]
    assert len({job.job_name for job in started.jobs}) == 4


def test_a_gate_on_a_managed_judge_metric_nothing_scored_fails_and_says_why(aws):
    from lambdas.domain.gate import decide

    profile = aws.profile("support-qa-vi", gate={"minimums": {"judge_correctness": 0.5}}, evaluation=MANAGED)
    decision = decide(profile.gate, {"token_f1": 0.9}, {"token_f1": 0.1})
    assert decision.passed is False
    assert "managed judge scored no example" in decision.checks[0].reason


def test_stopping_a_run_s_judge_stops_only_the_jobs_still_running(aws, context, monkeypatch):
    from lambdas.domain.managed_judge import stop

    _judge_role(aws)
    _, event = _evaluated_run(aws, monkeypatch)
    started = JudgeEvaluationStarted.model_validate(start_judge_evaluation.handler(event, context))
    assert stop(aws.bedrock, started) == [job.job_arn for job in started.jobs]
    aws.advance(1)
    assert {aws.bedrock.get_evaluation_job(jobIdentifier=j.job_arn)["status"] for j in started.jobs} == {"Stopped"}
    assert stop(aws.bedrock, started) == []


def test_a_run_whose_batch_failed_for_good_starts_no_judge_job(aws, context, monkeypatch):
    _judge_role(aws)
    run, event = _evaluated_run(aws, monkeypatch)
    evaluation = event["evaluation_plan"]
    aws.s3.delete_object(Bucket=ARTIFACTS_BUCKET, Key=f"{evaluation['job']['prefix']}00000.results.jsonl")
    with pytest.raises(EvaluationFailed, match="1 of 1 evaluation batches failed for good"):
        start_judge_evaluation.handler(event, context)
    assert aws.bedrock.list_evaluation_jobs()["jobSummaries"] == []
