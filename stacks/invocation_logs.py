"""Distillation from invocation logs (lambdas/domain/invocation_logs.py): what Bedrock's service role may read, the
S3 endpoint it reads through, and the schedules that start such runs.

The service role reads each log location a profile names with ``s3:GetObject`` on its objects and
``s3:ListBucket`` on its bucket, as AWS's "Invocation log access" policy has it, and ``kms:Decrypt`` through S3
with the key a profile names for an SSE-KMS bucket
(https://docs.aws.amazon.com/bedrock/latest/userguide/rft-access-security.html, read 2026-12-07). Objects are
limited to the profile's prefix; the listing is the bucket's, as AWS's policy grants it (Bedrock's listing
requests are not documented, so a prefix condition could fail a job AWS would run). A job in the VPC reads
S3 through the stage's gateway endpoint, whose policy otherwise reaches only the app's own buckets: one
statement lets the service role, and no other principal, read the log locations through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from lambdas.domain.invocation_logs import InvocationLogsSettings
from lambdas.domain.logs_runs import SCHEDULED_LOGS_RUN
from lambdas.domain.profiles import TuningProfile
from stacks.nag import acknowledge_wildcard


def _objects(partition: str, settings: InvocationLogsSettings) -> str:
    return f"arn:{partition}:s3:::{settings.bucket}/{settings.prefix}*"


def _buckets(partition: str, locations: list[InvocationLogsSettings]) -> list[str]:
    return sorted({f"arn:{partition}:s3:::{settings.bucket}" for settings in locations})


def log_locations(profiles: Iterable[TuningProfile]) -> list[InvocationLogsSettings]:
    """The log settings of every profile that learns from logs, by location (two profiles may share one location
    and name different keys: the statements deduplicate resources, not settings)."""
    return sorted(
        (p.invocation_logs for p in profiles if p.invocation_logs), key=lambda s: (s.s3_uri, s.kms_key_arn or "")
    )


def invocation_log_statements(scope: Construct, locations: list[InvocationLogsSettings]) -> list[iam.PolicyStatement]:
    """The service role's statements for the log locations; none when no profile learns from logs."""
    if not locations:
        return []
    stack = Stack.of(scope)
    statements = [
        iam.PolicyStatement(
            sid="ReadInvocationLogs",
            actions=["s3:GetObject"],
            resources=sorted({_objects(stack.partition, settings) for settings in locations}),
        ),
        iam.PolicyStatement(
            sid="ListInvocationLogs", actions=["s3:ListBucket"], resources=_buckets(stack.partition, locations)
        ),
    ]
    keys = sorted({settings.kms_key_arn for settings in locations if settings.kms_key_arn})
    if keys:
        statements.append(
            iam.PolicyStatement(
                sid="DecryptInvocationLogs",
                actions=["kms:Decrypt"],
                resources=keys,
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
    return statements


def acknowledge_log_prefixes(policy: iam.Policy, locations: list[InvocationLogsSettings]) -> None:
    partition = Stack.of(policy).partition
    for settings in {_objects(partition, s): s for s in locations}.values():
        acknowledge_wildcard(
            policy,
            f"Bedrock model invocation logging writes one object per delivery under {settings.prefix or 'the bucket root'}AWSLogs/<account>/BedrockModelInvocationLogs/<region>/<date>/, "
            "names known only when written; the role may only read them (s3:GetObject), only under the prefix the deployed profile names.",
            _objects(partition, settings),
        )


def allow_through_endpoint(
    endpoint: ec2.GatewayVpcEndpoint, role: iam.IRole, locations: list[InvocationLogsSettings]
) -> None:
    """Bedrock's jobs read the logs from the stage's VPC: the endpoint lets the service role, only, read them."""
    if not locations:
        return
    partition = Stack.of(endpoint).partition
    endpoint.add_to_policy(
        iam.PolicyStatement(
            sid="BedrockJobsReadInvocationLogs",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject", "s3:ListBucket"],
            resources=sorted({_objects(partition, s) for s in locations}) + _buckets(partition, locations),
            conditions={"ArnEquals": {"aws:PrincipalArn": role.role_arn}},
        )
    )


class LogsRunSchedules(Construct):
    """One EventBridge rule per profile with ``invocation_logs.schedule``: it invokes StartRun with the profile's name
    and the firing's time (StartRun reads the rest from the deployed profile). A rule's Lambda permission is
    limited to that rule's ARN, so no role is needed; undeliverable firings go to the dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        profiles: Iterable[TuningProfile],
        start_run: lambda_.IFunction,
        target: Callable[[lambda_.IFunction, events.RuleTargetInput], targets.LambdaFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        for profile in sorted(profiles, key=lambda p: p.name):
            schedule = profile.invocation_logs.schedule if profile.invocation_logs else None
            if not schedule:
                continue
            payload = events.RuleTargetInput.from_object(
                {SCHEDULED_LOGS_RUN: {"profile": profile.name, "scheduled_at": events.EventField.time}}
            )
            self.rules[profile.name] = events.Rule(
                self,
                "".join(part.capitalize() for part in profile.name.split("-")),
                description=f"Starts a run of {profile.name} from the account's invocation logs ({schedule})",
                schedule=events.Schedule.expression(schedule),
                targets=[target(start_run, payload)],
            )
