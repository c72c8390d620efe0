"""Evaluation, endpoints and promotion on the offline emulator, in-process.

``local`` (moto 5.2.5 plus the project's extensions) adds what moto lacks: provisioned throughput,
custom-model deployments with lifecycles on an emulated clock, customization jobs that complete into
real custom models, a deterministic Converse stand-in and API faults. The clock is frozen here: time
moves only when a test calls ``aws.advance``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

# Powertools reads these when a handler module is imported, as Lambda sets them before import.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "tuneforge")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tuneforge-test")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from lambdas.domain.profiles import TuningProfile  # noqa: E402
from lambdas.domain.registry import RunRegistry  # noqa: E402
from lambdas.domain.runs import Dataset, RunInput, S3ObjectRef, run_id_for  # noqa: E402
from local import bedrock, converse_ext, patches, state  # noqa: E402
from local.clock import Clock  # noqa: E402
from stacks.config import load_stages  # noqa: E402
from tests.doubles import (  # noqa: E402
    FakeContext,
    create_bedrock_role,
    create_registry_tables,
    create_versioned_buckets,
    forget_handler_clients,
)
from tests.unit.evaluation.helpers import (  # noqa: E402
    ARTIFACTS_BUCKET,
    CHAMPION_PREFIX,
    DATA_BUCKET,
    NO_RETRIES,
    REGION,
    ROLE_ARN,
    ROOT,
    SAMPLES,
)


@dataclass
class Aws:
    s3: Any
    bedrock: Any
    runtime: Any
    ssm: Any
    dynamodb: Any
    registry: RunRegistry
    champions: Any
    profiles: dict[str, TuningProfile]
    emulator: Any = None
    jobs: dict[str, str] = field(default_factory=dict)

    @property
    def faults(self):
        return self.emulator.faults

    def advance(self, seconds: float) -> None:
        self.emulator.clock.advance(seconds)
        bedrock.tick_all()

    def endpoints(self) -> dict[str, list[str]]:
        """Names of the provisioned throughputs and deployments that exist now."""
        return {
            "provisioned": sorted(
                p["provisionedModelName"]
                for p in self.bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"]
            ),
            "deployments": sorted(
                d["customModelDeploymentName"]
                for d in self.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]
            ),
        }

    def profile(self, name: str, **changes: Any) -> TuningProfile:
        data = self.profiles[name].model_dump(mode="json")
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return TuningProfile.model_validate(data)

    def run(self, profile: TuningProfile, sample: str, key: str | None = None) -> RunInput:
        key = key or f"incoming/{profile.name}/{Path(sample).name}"
        version = self.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=(SAMPLES / sample).read_bytes())["VersionId"]
        obj = S3ObjectRef(bucket=DATA_BUCKET, key=key, version_id=version)
        # Uploads happen in the order of the calls, a minute apart (the champion rule orders by upload).
        self.uploads = getattr(self, "uploads", 0) + 1
        uploaded_at = datetime(2026, 11, 24, 10, tzinfo=timezone.utc) + timedelta(minutes=self.uploads)
        dataset = Dataset(trigger=obj, training=obj, uploaded_at=uploaded_at.isoformat(timespec="milliseconds"))
        run = RunInput(
            run_id=run_id_for(profile.name, obj),
            profile=profile,
            dataset=dataset,
            started_at="2026-11-24T10:00:00+00:00",
        )
        self.registry.record_start(run, epoch_seconds=1_790_000_000)
        return run

    def train(self, run: RunInput, base_model: str | None = None) -> str:
        """A completed customization job for the run; returns the custom model's ARN."""
        name = f"job-{run.run_id}"[:63]
        request: dict[str, Any] = {
            "jobName": name,
            "customModelName": name,
            "roleArn": ROLE_ARN,
            "baseModelIdentifier": base_model or run.profile.base_model,
            "customizationType": run.profile.customization_type.value,
            "trainingDataConfig": {"s3Uri": run.dataset.training.uri},
            "outputDataConfig": {"s3Uri": f"s3://{ARTIFACTS_BUCKET}/jobs/{name}/"},
        }
        if run.profile.bedrock_hyperparameters:
            request["hyperParameters"] = run.profile.bedrock_hyperparameters
        job_arn = self.bedrock.create_model_customization_job(**request)["jobArn"]
        self.advance(self.emulator.settings.job_duration + 1)
        job = self.bedrock.get_model_customization_job(jobIdentifier=job_arn)
        assert job["status"] == "Completed", job
        self.jobs[run.run_id] = job_arn
        return job["outputModelArn"]

    def put_evaluation_set(self, key: str, lines: list[Any] | str) -> None:
        body = (
            lines
            if isinstance(lines, str)
            else "".join(
                (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines
            )
        )
        self.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body.encode())

    def read(self, uri: str) -> bytes:
        bucket, key = uri.removeprefix("s3://").split("/", 1)
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.fixture
def aws(monkeypatch) -> Aws:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    env = {
        "RUNS_TABLE": "runs",
        "CHAMPIONS_TABLE": "champions",
        "ARTIFACTS_BUCKET": ARTIFACTS_BUCKET,
        "DATA_BUCKET": DATA_BUCKET,
        "CHAMPION_PARAMETER_PREFIX": CHAMPION_PREFIX,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "tuneforge",
        "POWERTOOLS_SERVICE_NAME": "tuneforge-test",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    patches.apply()
    previous = state.current()
    emulator = state.install(state.EmulatorState(clock=Clock(0)))
    converse_ext.clear_cache()
    try:
        with mock_aws():
            forget_handler_clients()
            s3 = boto3.client("s3", region_name=REGION)
            create_versioned_buckets(s3, DATA_BUCKET, ARTIFACTS_BUCKET)
            dynamodb = boto3.client("dynamodb", region_name=REGION)
            create_registry_tables(dynamodb)
            create_bedrock_role(
                boto3.client("iam", region_name=REGION), ROLE_ARN.rsplit("/", 1)[-1], DATA_BUCKET, ARTIFACTS_BUCKET
            )
            resource = boto3.resource("dynamodb", region_name=REGION)
            profiles = {
                **load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].profiles,
                PROVISIONED_ONLY: _provisioned_only(),
            }
            yield Aws(
                s3=s3,
                bedrock=boto3.client("bedrock", region_name=REGION),
                runtime=boto3.client("bedrock-runtime", region_name=REGION, config=NO_RETRIES),
                ssm=boto3.client("ssm", region_name=REGION),
                dynamodb=dynamodb,
                registry=RunRegistry(resource.Table("runs")),
                champions=resource.Table("champions"),
                profiles=dict(profiles),
                emulator=emulator,
            )
            forget_handler_clients()
    finally:
        state.install(previous)
        converse_ext.clear_cache()


# Every model customizable in us-east-1 (Nova) deploys on demand, so no bundled profile takes the
# provisioned-throughput path: this one, on a model without on-demand deployment, does. The Titan
# prompt/completion sample is valid for it.
PROVISIONED_ONLY = "provisioned-only"


def _provisioned_only() -> TuningProfile:
    return TuningProfile.model_validate(
        {
            "name": PROVISIONED_ONLY,
            "description": "Release notes on Llama 3.1 8B, whose custom models need provisioned throughput.",
            "base_model": "meta.llama3-1-8b-instruct-v1:0:128k",
            "customization_type": "FINE_TUNING",
            "start_from": "champion",
            "hyperparameters": {"epochCount": 2, "batchSize": 1, "learningRate": 0.00001},
            "evaluation": {"dataset_key": "evaluation/release-notes.jsonl", "max_examples": 50},
            "gate": {"minimums": {"rouge_l": 0.3}, "margin_over_baseline": {"rouge_l": 0.02}},
            "budget_cap_usd": 100,
        }
    )


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
