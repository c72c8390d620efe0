"""The managed judge on the deployed dev stage (a profile with evaluation.managed_judge): the two functions as the
stack grants them, Bedrock's evaluation jobs as the stack's service role, reaching the artifacts bucket from outside
the VPC through its perimeter, and the per-example scores the aggregate step will read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdas.domain.evaluation import Answer, Example, ExampleResult
from lambdas.domain.evaluation_batches import plan, result_record, results_key
from lambdas.domain.managed_judge import JudgeScores
from lambdas.domain.runs import Dataset, RunInput, S3ObjectRef

from .stage import DEV_STACKS, ROOT

PROFILE = "support-qa-vi"
EXAMPLES = [
    ("Thủ đô của Việt Nam là gì?", "Hà Nội là thủ đô của Việt Nam."),
    ("Đỉnh núi cao nhất Việt Nam?", "Fansipan là đỉnh núi cao nhất Việt Nam."),
]


@pytest.fixture(scope="module")
def judged_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0]
    data = stage.profiles[PROFILE].model_dump(mode="json")
    data["evaluation"]["managed_judge"] = {"evaluator_model": "amazon.nova-pro-v1:0", "metrics": ["correctness"]}
    data["gate"]["minimums"]["judge_correctness"] = 0.5  # the judge's metric, usable in the gate
    profile = type(stage.profiles[PROFILE]).model_validate(data)
    stage = stage.model_copy(update={"profiles": {**stage.profiles, PROFILE: profile}})
    outdir = tmp_path_factory.mktemp("judged-cdk.out")
    build_app([stage], context=cdk_context(), outdir=str(outdir), nag=False).synth()
    return outdir


def test_the_deployed_steps_start_the_jobs_and_read_their_scores_through_the_perimeter(judged_cdk_out, emulator):
    from local import authz

    deployed = emulator.deploy(judged_cdk_out, stacks=DEV_STACKS)
    pipeline = deployed.stack("Pipeline")
    artifacts = deployed.stack("Foundation").outputs["ArtifactsBucketName"]
    root = emulator.client("s3", principal=authz.EMULATOR)  # past every policy: the test's own hand
    functions = emulator.client("lambda")
    ssm = emulator.client("ssm", principal=authz.EMULATOR)
    profile = json.loads(ssm.get_parameter(Name=f"/tuneforge/dev/profiles/{PROFILE}")["Parameter"]["Value"])
    obj = S3ObjectRef(bucket="data", key=f"incoming/{PROFILE}/x.jsonl", version_id="v1")
    run = RunInput.model_validate(
        {
            "run_id": f"{PROFILE}-0123456789abcdef01234567",
            "profile": profile,
            "dataset": Dataset(trigger=obj, training=obj, uploaded_at="2026-12-07T10:00:00.000+00:00"),
            "started_at": "2026-12-07T10:00:00+00:00",
        }
    )
    results = [
        ExampleResult(Example(line=n, prompt=p, reference=r), Answer(r), Answer("Tôi không biết."))
        for n, (p, r) in enumerate(EXAMPLES, start=1)
    ]
    # What PrepareEvaluation and the Map's one batch leave: the manifest and the batch's results.
    evaluation = plan(
        root,
        run,
        [result.example for result in results],
        artifacts_bucket=artifacts,
        evaluation_set_uri=f"s3://{artifacts}/evaluation/set.jsonl",
        candidate_model="candidate",
        baseline_model="baseline",
        judge_model=None,
    )
    root.put_object(
        Bucket=artifacts,
        Key=results_key(evaluation.job, 0),
        Body="".join(json.dumps(result_record(r), ensure_ascii=False) + "\n" for r in results).encode(),
    )

    def invoke(step: str, payload: dict) -> dict:
        name = pipeline.physical_id(step, "AWS::Lambda::Function")
        response = functions.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        body = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, body
        return body

    event = {"run": run.model_dump(mode="json"), "evaluation_plan": evaluation.model_dump(mode="json")}
    started = invoke("StartJudgeEvaluation", event)
    assert [job["side"] for job in started["jobs"]] == ["candidate", "baseline"]
    # (This emulator's clock moves on by itself whenever nothing is working, so the jobs may have ended already;
    # tests/unit/evaluation/test_managed_judge.py holds the clock to see them running.)
    emulator.advance(emulator.settings.evaluation_duration + 1)
    done = invoke("CheckJudgeEvaluation", {**event, "judge": started})
    assert done["status"] == "done", done
    bucket, key = done["scores_uri"].removeprefix("s3://").split("/", 1)
    scores = JudgeScores.model_validate_json(root.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert all(
        sides["candidate"]["judge_correctness"] > sides["baseline"]["judge_correctness"]
        for sides in scores.examples.values()
    )


def test_a_run_with_the_managed_judge_waits_for_its_jobs_and_gates_on_its_metric(judged_cdk_out, emulator):
    """The pipeline end to end: the batches, Bedrock's evaluation jobs on their answers (polled), then Evaluate
    with the judge's metric beside the reference metrics, and the gate's minimum on it."""
    from .stage import TuneforgeStage

    stage = TuneforgeStage(emulator, judged_cdk_out)
    run = stage.run(PROFILE, "fine-tuning/nova-micro-vi-qa.jsonl", timeout=180)
    states = emulator.states_entered(run.execution["executionArn"])
    assert run.status == "SUCCEEDED", (states[-8:], run.execution.get("cause"))
    assert states.index("EvaluateBatches") < states.index("StartJudgeEvaluation") < states.index("Evaluate")
    assert "CheckJudgeEvaluation" in states and "NoManagedJudge" not in states
    evaluation = run.output["evaluation"]["value"]
    assert 0.5 <= evaluation["candidate"]["judge_correctness"] <= 1.0
    assert "judge_correctness" in evaluation["baseline"]
    assert "judge_correctness" in evaluation["summary"]  # the gate checked the judge's metric
