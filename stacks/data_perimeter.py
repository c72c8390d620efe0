"""Bucket policies that keep data inside the network perimeter."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

DATA_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]


def restrict_to_vpc_endpoint(bucket: s3.IBucket, *, endpoint: ec2.IGatewayVpcEndpoint, exempt_principal_arns: list[str]) -> None:
    """Deny reading, writing and listing except through ``endpoint`` or by a named exempt principal."""
    conditions: dict = {"StringNotEquals": {"aws:sourceVpce": endpoint.vpc_endpoint_id}}
    if exempt_principal_arns:
        conditions["ArnNotEquals"] = {"aws:PrincipalArn": exempt_principal_arns}
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
