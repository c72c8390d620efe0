"""What every pipeline step shares: where it runs, what it may name, and how the state machine invokes it.

A step is one construct (``stacks/steps/<step>.py``, named as its handler ``lambdas/handlers/<step>.py``) that
is the function, holds its grants with the reasons a reviewer reads, and builds its state-machine task. The
step subclasses PipelineFunction, so its resources keep the construct paths (and logical ids) they had.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from lambdas.domain.names import Env, state_machine_name
from stacks.config import StageConfig
from stacks.foundation_stack import FoundationStack
from stacks.functions import DEFAULT_TIMEOUT, FunctionPlacement, PipelineFunction
from stacks.grader_functions import GraderFunctions
from stacks.profiles import ProfileParameters
from stacks.stage_tags import made_for_this_stage
from stacks.storage import Storage

# Error names the handlers raise (lambdas/handlers/_aws.py translates AWS error codes into these).
TRANSIENT_ERRORS = [
    "ThrottlingException",
    "TooManyRequestsException",
    "InternalServerException",
    "ServiceUnavailableException",
    "TransientError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# Bedrock refuses a new job while the account runs its quota of concurrent jobs: wait for one to end.
QUOTA_ERRORS = ["ServiceQuotaExceededException"]

# What the state machine hands every step: the execution input (the run) and its execution ARN.
RUN = {"run.$": "$$.Execution.Input", "execution_arn.$": "$$.Execution.Id"}
RUN_ID = sfn.JsonPath.string_at("$$.Execution.Input.run_id")
# From the end of training on, the steps also get what WaitForJob returned.
TRAINED_RUN = {"run.$": "$$.Execution.Input", "training.$": "$.training"}

WHY_JOBS = "Customization job ARNs end in an id Bedrock generates when the job is created, so they cannot be named in advance; the statement is limited to this account and region and to the job actions this function calls."
WHY_ENDPOINTS = "Evaluation and production endpoints get Bedrock-generated ids when a run creates them, so they cannot be named in advance; the statement stays in this account and region and covers only the endpoint actions this function calls."
WHY_MODELS = "The models a run deploys and evaluates are custom models whose ids Bedrock generates at the end of training; the statement stays in this account and region."


class BedrockArns:
    """ARN patterns of the Bedrock resources runs create in this stack's account and Region."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    def _all(self, resource: str) -> str:
        return self._stack.format_arn(service="bedrock", resource=resource, resource_name="*")

    @property
    def jobs(self) -> str:
        return self._all("model-customization-job")

    @property
    def custom_models(self) -> str:
        return self._all("custom-model")

    @property
    def provisioned_models(self) -> str:
        return self._all("provisioned-model")

    @property
    def deployments(self) -> str:
        return self._all("custom-model-deployment")

    def foundation_model(self, model_id: str) -> str:
        return self._stack.format_arn(
            service="bedrock", account="", resource="foundation-model", resource_name=model_id
        )

    def endpoint_deletes(self, *, sid_prefix: str, conditions: dict[str, Any]) -> list[iam.PolicyStatement]:
        """Deleting throughputs and deployments, one statement per action, so each tag condition sits only on the
        resource type its action takes (``<sid_prefix>Throughputs``, ``<sid_prefix>Deployments``)."""
        return [
            iam.PolicyStatement(
                sid=f"{sid_prefix}Throughputs",
                actions=["bedrock:DeleteProvisionedModelThroughput"],
                resources=[self.provisioned_models],
                conditions=conditions,
            ),
            iam.PolicyStatement(
                sid=f"{sid_prefix}Deployments",
                actions=["bedrock:DeleteCustomModelDeployment"],
                resources=[self.deployments],
                conditions=conditions,
            ),
        ]

    def grant_job_read(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(sid="ReadJobs", actions=["bedrock:GetModelCustomizationJob"], resources=[self.jobs]),
            wildcards={self.jobs: WHY_JOBS},
        )


class Retraining:
    """The retraining state machine by name: the steps are built before it, and some of them start, complete
    or describe its executions."""

    def __init__(self, stack: Stack, stage: StageConfig, key: kms.IKey) -> None:
        self.name = state_machine_name(stage.name)
        self.arn = stack.format_arn(
            service="states", resource="stateMachine", resource_name=self.name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        self.executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self._region = stack.region
        self._key_arn = key.key_arn

    def grant_start(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(sid="StartExecution", actions=["states:StartExecution"], resources=[self.arn]),
            self._execution_key(),
        )

    def grant_task_completion(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(
                sid="CompleteWaitingTask",
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                resources=[self.arn],
            ),
            self._execution_key(),
        )

    def grant_describe_executions(self, fn: PipelineFunction) -> None:
        fn.add_statements(
            iam.PolicyStatement(
                sid="ConfirmAbnormalEnds", actions=["states:DescribeExecution"], resources=[self.executions]
            ),
            iam.PolicyStatement(
                sid="ReadExecutionData",
                actions=["kms:Decrypt"],
                resources=[self._key_arn],
                conditions=self._bound_to_this_state_machine(),
            ),
            wildcards={
                self.executions: "Executions are named by their run id when an upload starts them; cleanup may only describe, read-only, the executions of this stage's one state machine."
            },
        )

    def _execution_key(self) -> iam.PolicyStatement:
        # The state machine is encrypted with the stage key: starting an execution and completing a task with
        # output need kms:GenerateDataKey in the caller's name, bound to this state machine by the encryption
        # context (https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html, read 2026-12-03).
        return iam.PolicyStatement(
            sid="EncryptExecutionData",
            actions=["kms:GenerateDataKey"],
            resources=[self._key_arn],
            conditions=self._bound_to_this_state_machine(),
        )

    def _bound_to_this_state_machine(self) -> dict[str, Any]:
        return {
            "StringEquals": {
                "kms:ViaService": f"states.{self._region}.amazonaws.com",
                "kms:EncryptionContext:aws:states:stateMachineArn": self.arn,
            }
        }


@dataclass(frozen=True)
class StepContext:
    """Everything a step may refer to; built once by the pipeline stack."""

    stage: StageConfig
    foundation: FoundationStack
    placement: FunctionPlacement
    bedrock: BedrockArns
    retraining: Retraining
    profiles: ProfileParameters
    topic: sns.ITopic
    dead_letters: sqs.IQueue
    # The reinforcement fine-tuning profiles' graders (none for a stage without such a profile).
    graders: GraderFunctions

    @property
    def storage(self) -> Storage:
        return self.foundation.storage

    @property
    def region(self) -> str:
        return Stack.of(self.foundation).region

    def grant_publish(self, fn: PipelineFunction, *, sid: str) -> None:
        """Publish to the stage's notification topic, which is encrypted with the stage key: SNS uses the key on
        the publisher's behalf, so a publisher needs kms:GenerateDataKey* and kms:Decrypt on it, here only through
        SNS (Amazon SNS Developer Guide, key management: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html,
        read 2026-12-07)."""
        fn.add_statements(
            iam.PolicyStatement(sid=sid, actions=["sns:Publish"], resources=[self.topic.topic_arn]),
            iam.PolicyStatement(
                sid="EncryptNotifications",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self.storage.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sns.{self.region}.amazonaws.com"}},
            ),
        )

    @property
    def this_stages_resources(self) -> dict[str, Any]:
        """The tag condition that keeps a statement to resources made for this stage's profiles."""
        return made_for_this_stage(self.stage)

    @property
    def run_environment(self) -> dict[str, str]:
        """The registry every step reads or writes."""
        return {
            Env.RUNS_TABLE: self.storage.runs_table.table_name,
            Env.CHAMPIONS_TABLE: self.storage.champions_table.table_name,
        }

    @property
    def job_environment(self) -> dict[str, str]:
        """What a customization job request is built from (StartJob sends it, Validate checks it)."""
        network = self.foundation.network
        return {
            Env.ARTIFACTS_BUCKET: self.storage.artifacts_bucket_name,
            Env.BEDROCK_ROLE_ARN: self.foundation.bedrock_role.role.role_arn,
            Env.SUBNET_IDS: ",".join(subnet.subnet_id for subnet in network.subnets.subnets),
            Env.JOB_SECURITY_GROUP_IDS: network.job_security_group.security_group_id,
            Env.KMS_KEY_ARN: self.storage.key.key_arn,
            **self.graders.environment,
        }


class PipelineStep(PipelineFunction):
    """One step's function, run from ``lambdas/handlers/<HANDLER>.py`` with the run registry's environment.

    A step says what it is in class attributes and what it needs in two methods: ``environment`` (beyond the
    registry's) and ``grant`` (its permissions, through the constructs that own the resources).
    """

    HANDLER: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    # Steps the state machine invokes (its role may call them); the others run on events.
    INVOKED_BY_STATE_MACHINE: ClassVar[bool] = True
    # Event targets are invoked asynchronously: what fails for good goes to the stage's dead-letter queue.
    INVOKED_ASYNCHRONOUSLY: ClassVar[bool] = False
    TIMEOUT: ClassVar[Duration] = DEFAULT_TIMEOUT
    MEMORY_MB: ClassVar[int] = 512

    def __init__(self, scope: Construct, construct_id: str, *, context: StepContext) -> None:
        super().__init__(
            scope,
            construct_id,
            placement=context.placement,
            handler=f"lambdas.handlers.{self.HANDLER}.handler",
            description=self.DESCRIPTION,
            environment={**context.run_environment, **self.environment(context)},
            timeout=self.TIMEOUT,
            memory_size=self.MEMORY_MB,
            dead_letter_queue=context.dead_letters if self.INVOKED_ASYNCHRONOUSLY else None,
        )
        self.context = context
        self.grant(context)

    def environment(self, context: StepContext) -> Mapping[str, str]:
        return {}

    def grant(self, context: StepContext) -> None:
        """What the step's handler calls, granted through the constructs that own the resources."""


def lambda_task(
    scope: Construct,
    state_name: str,
    function: lambda_.IFunction,
    payload: Mapping[str, Any],
    *,
    result_path: str,
    selector: Mapping[str, Any] | None = None,
    quota_retry: bool = False,
) -> tasks.LambdaInvoke:
    """A synchronous invocation whose Payload lands under ``result_path`` (as ``.value`` unless a selector says
    otherwise), retried on transient errors, and on Bedrock's job quota when ``quota_retry``."""
    task = tasks.LambdaInvoke(
        scope,
        state_name,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        result_selector=dict(selector or {"value.$": "$.Payload"}),
        result_path=result_path,
        retry_on_service_exceptions=False,
    )
    retry_transient_errors(task)
    if quota_retry:
        task.add_retry(
            errors=QUOTA_ERRORS,
            interval=Duration.minutes(5),
            backoff_rate=1.5,
            max_attempts=12,
            max_delay=Duration.minutes(30),
        )
    return task


def retry_transient_errors(task: sfn.TaskStateBase) -> None:
    task.add_retry(
        errors=TRANSIENT_ERRORS,
        interval=Duration.seconds(5),
        backoff_rate=2,
        max_attempts=6,
        jitter_strategy=sfn.JitterType.FULL,
    )
