"""Bucket policies that keep data inside the network perimeter."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

DATA_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]


def restrict_to_vpc_endpoint(bucket: s3.IBucket, *, endpoint: ec2.IGatewayVpcEndpoint, exempt_principal_arns: list[str], limited_principals: dict[str, list[str]] | None = None) -> None:
    """Deny reading, writing and listing except through ``endpoint`` or by a named exempt principal.

    ``limited_principals`` (role ARN -> actions) are exempt for those actions only: outside the endpoint the
    bucket denies them every other action, whatever their own policies grant."""
    limited = limited_principals or {}
    exempt = [*exempt_principal_arns, *limited]
    conditions: dict = {"StringNotEquals": {"aws:sourceVpce": endpoint.vpc_endpoint_id}}
    if exempt:
        conditions["ArnNotEquals"] = {"aws:PrincipalArn": exempt}
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyDataAccessOutsideTheVpcEndpoint",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=DATA_ACTIONS,
            resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
            conditions=conditions,
        )
    )
    for index, (principal_arn, allowed) in enumerate(sorted(limited.items())):
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"LimitedPrincipal{index}OnlyOutsideTheVpcEndpoint",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                not_actions=allowed,
                resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
                conditions={"StringNotEquals": {"aws:sourceVpce": endpoint.vpc_endpoint_id}, "ArnEquals": {"aws:PrincipalArn": principal_arn}},
            )
        )
