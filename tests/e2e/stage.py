"""What the e2e tests and their fixtures share: the sample data, the fixture app as deployed, and
tuneforge's dev stage deployed into an emulated account (conftest.py builds these as fixtures; tests
import the types and constants from here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEV_STACKS = "Tuneforge-dev-*"

GOOD_DATA = "\n".join(
    [
        '{"prompt": "What is the capital of France?", "completion": "Paris"}',
        '{"prompt": "How many legs does a spider have?", "completion": "Eight"}',
        '{"prompt": "Thủ đô của Việt Nam là gì?", "completion": "Hà Nội"}',
    ]
)


@dataclass
class Deployed:
    aws: object  # local.Emulator
    result: object  # local.DeployResult

    @property
    def outputs(self) -> dict[str, str]:
        return self.result.stack("Pipeline").outputs

    @property
    def bucket(self) -> str:
        return self.outputs["BucketName"]

    @property
    def state_machine(self) -> str:
        return self.outputs["StateMachineArn"]

    def function(self, logical_prefix: str) -> str:
        return self.result.stack("Pipeline").physical_id(logical_prefix, "AWS::Lambda::Function")

    def upload_and_wait(self, key: str, body: str, timeout: float = 30.0) -> dict:
        before = len(self.aws.executions(self.state_machine))
        self.aws.upload(self.bucket, key, body)
        executions = self.aws.wait_for_executions(self.state_machine, count=before + 1, timeout=timeout)
        return self.aws.wait_for_execution(executions[-1]["executionArn"], timeout=timeout)


@dataclass
class RunResult:
    execution: dict  # describe_execution
    run_id: str
    item: dict | None  # the registry item
    notifications: list[dict]  # messages the run published on the notification topic

    @property
    def status(self) -> str:
        return self.execution["status"]

    @property
    def output(self) -> dict:
        return json.loads(self.execution.get("output") or "{}")


class TuneforgeStage:
    """The dev stage deployed into an emulated account, with a queue subscribed to its notification topic."""

    def __init__(self, aws, cdk_out: Path) -> None:
        import boto3

        self.aws = aws
        # Scheduled rules fire on their own as emulated time passes, as in AWS: the fallback check's
        # heartbeats keep WaitForJob alive (its heartbeat timeout, 45 min, is shorter than a 1-hour job).
        aws.settings.auto_schedule = True
        self.result = aws.deploy(cdk_out, stacks=DEV_STACKS)
        self.outputs = {**self.result.stack("Foundation").outputs, **self.result.stack("Pipeline").outputs}
        self.data_bucket = self.outputs["DataBucketName"]
        self.artifacts_bucket = self.outputs["ArtifactsBucketName"]
        self.state_machine = self.outputs["StateMachineArn"]
        # Data owners upload as the stage's uploader role, from outside the VPC, as they would in AWS.
        self.data_owner = aws.acting_as(self.outputs["DataUploaderRoleArn"])
        evaluation = ROOT / "samples" / "evaluation"
        for evaluation_file in sorted(path for path in evaluation.rglob("*") if path.is_file()):  # sets and images
            key = f"evaluation/{evaluation_file.relative_to(evaluation).as_posix()}"
            self.data_owner.upload(self.data_bucket, key, evaluation_file.read_bytes())
        sqs, sns = aws.client("sqs"), aws.client("sns")
        self.queue_url = sqs.create_queue(QueueName="notifications-e2e")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=self.outputs["NotificationTopicArn"],
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        dynamodb = boto3.resource("dynamodb", region_name=aws.region)
        from lambdas.domain.registry import RunRegistry

        self.registry = RunRegistry(dynamodb.Table(self.outputs["RunsTableName"]))
        self.champions = dynamodb.Table(self.outputs["ChampionsTableName"])
        self._messages: list[dict] = []

    # -- acting ---------------------------------------------------------------------------------
    def deploy_profile(self, name: str, **changes) -> dict:
        """Change a profile as a deployment of a changed config/tuneforge.yaml would: its SSM parameter
        and the fingerprint Validate checks a run's profile against. Returns the new profile."""
        from lambdas.domain.profiles import TuningProfile, parse_fingerprints

        ssm, functions = self.inspect("ssm"), self.inspect("lambda")
        parameter = f"/tuneforge/dev/profiles/{name}"
        profile = TuningProfile.model_validate(
            {**json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"]), **changes}
        )
        ssm.put_parameter(Name=parameter, Value=profile.model_dump_json(), Overwrite=True)
        validate = self.result.stack("Pipeline").physical_id("Validate", "AWS::Lambda::Function")
        variables = functions.get_function_configuration(FunctionName=validate)["Environment"]["Variables"]
        fingerprints = {**parse_fingerprints(variables["PROFILE_FINGERPRINTS"]), name: profile.fingerprint()}
        variable = ",".join(f"{n}={f}" for n, f in fingerprints.items())
        functions.update_function_configuration(
            FunctionName=validate, Environment={"Variables": {**variables, "PROFILE_FINGERPRINTS": variable}}
        )
        return json.loads(profile.model_dump_json())

    def upload(self, profile: str, sample: str, name: str | None = None) -> dict:
        path = ROOT / "samples" / sample
        return self.data_owner.upload(self.data_bucket, f"incoming/{profile}/{name or path.name}", path.read_bytes())

    def started(self, count: int = 1, timeout: float = 30.0) -> dict:
        """The ``count``-th execution, once it exists."""
        return self.aws.wait_for_executions(self.state_machine, count=count, timeout=timeout)[count - 1]

    # Wall-clock bounds on the emulator's work, not on emulated time: generous, so a busy machine (the whole suite
    # on two shared cores) only slows a run down; a run that hangs still fails, after WALL_TIMEOUT seconds.
    WALL_TIMEOUT = 300.0

    def finish(self, execution_arn: str, timeout: float = WALL_TIMEOUT) -> RunResult:
        execution = self.aws.wait_for_execution(execution_arn, timeout=timeout)
        self.aws.wait_idle(timeout=10)
        run_id = execution["name"]
        return RunResult(
            execution, run_id, self.registry.get(run_id), [m for m in self.messages() if m.get("run_id") == run_id]
        )

    def run(self, profile: str, sample: str, name: str | None = None, timeout: float = WALL_TIMEOUT) -> RunResult:
        before = len(self.aws.executions(self.state_machine))
        self.upload(profile, sample, name)
        return self.finish(self.started(before + 1)["executionArn"], timeout=timeout)

    # -- reading --------------------------------------------------------------------------------
    def inspect(self, service: str):
        """A client that looks as the emulator itself, past every policy (what a test asserts on, not
        what anyone in the account could read: the buckets' perimeter refuses the operator)."""
        from local import authz

        return self.aws.client(service, principal=authz.EMULATOR)

    def messages(self) -> list[dict]:
        """Every message published on the notification topic so far (read from the subscribed queue)."""
        sqs = self.aws.client("sqs")
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not batch:
                return list(self._messages)
            for message in batch:
                self._messages.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def endpoint_arns(self) -> list[str]:
        """ARNs of the provisioned throughputs and custom-model deployments that exist now."""
        found = self.aws.endpoints()
        return [p["provisionedModelArn"] for p in found["provisioned"]] + [
            d["customModelDeploymentArn"] for d in found["deployments"]
        ]

    def leftover_endpoints(self, *runs: RunResult) -> list[str]:
        """Endpoints that exist now and are not a promoted endpoint recorded by one of ``runs``."""
        promoted = {
            e.get("arn")
            for run in runs
            for e in ((run.item or {}).get("endpoints") or [])
            if e.get("promoted") and not e.get("deleted_at")
        }
        return [arn for arn in self.endpoint_arns() if arn not in promoted]

    def champion(self, profile: str) -> dict | None:
        return self.champions.get_item(Key={"profile": profile}, ConsistentRead=True).get("Item")

    def jobs(self) -> list[dict]:
        return self.aws.client("bedrock").list_model_customization_jobs()["modelCustomizationJobSummaries"]
