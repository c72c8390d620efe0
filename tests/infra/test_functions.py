"""PipelineFunction on its own, in a bare stack: every grant lands in the function's one managed policy."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from stacks.functions import FunctionPlacement, PipelineFunction


def _stack() -> tuple[cdk.Stack, FunctionPlacement]:
    stack = cdk.Stack(cdk.App(), "Bare", env=cdk.Environment(account="111122223333", region="us-east-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    placement = FunctionPlacement(
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc),
        key=kms.Key(stack, "Key"),
        log_retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        service_prefix="tuneforge-test",
    )
    return stack, placement


def _policy_actions(template: Template) -> list[str]:
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    return [
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]


def test_a_grant_in_cdks_idiom_lands_in_the_functions_managed_policy():
    stack, placement = _stack()
    function = PipelineFunction(
        stack, "Step", placement=placement, handler="lambdas.handlers.x.handler", description="d", environment={}
    )
    s3.Bucket(stack, "Bucket").grant_read(function.function)

    template = Template.from_stack(stack)
    assert "s3:GetObject*" in _policy_actions(template)
    # No inline policy next to it, where reviewers would not look.
    assert template.find_resources("AWS::IAM::Policy") == {}


def test_a_statement_added_by_the_step_lands_in_the_policy():
    stack, placement = _stack()
    function = PipelineFunction(
        stack, "Step", placement=placement, handler="lambdas.handlers.x.handler", description="d", environment={}
    )
    reads = "arn:aws:s3:::bucket/incoming/*"
    function.add_statements(
        iam.PolicyStatement(sid="ReadIncoming", actions=["s3:GetObject"], resources=[reads]),
        wildcards={reads: "Uploads have names chosen at upload time."},
    )

    assert "s3:GetObject" in _policy_actions(Template.from_stack(stack))


def test_one_wildcard_cannot_carry_two_reasons_in_one_policy():
    stack, placement = _stack()
    function = PipelineFunction(
        stack, "Step", placement=placement, handler="lambdas.handlers.x.handler", description="d", environment={}
    )
    reads = "arn:aws:s3:::bucket/incoming/*"
    statement = iam.PolicyStatement(actions=["s3:GetObject"], resources=[reads])
    function.add_statements(statement, wildcards={reads: "One reason."})
    with pytest.raises(ValueError, match="another reason"):
        function.add_statements(statement, wildcards={reads: "Another reason."})


def test_what_the_lambda_construct_grants_while_it_is_built_is_already_in_the_policy():
    """Active tracing and the dead-letter queue make lambda.Function grant its role statements of its own; they
    are not added twice, and the policy holds each with its Sid."""
    stack, placement = _stack()
    PipelineFunction(
        stack,
        "Step",
        placement=placement,
        handler="lambdas.handlers.x.handler",
        description="d",
        environment={},
        dead_letter_queue=sqs.Queue(stack, "Dlq"),
    )
    actions = _policy_actions(Template.from_stack(stack))
    assert actions.count("xray:PutTraceSegments") == 1
    assert actions.count("sqs:SendMessage") == 1
