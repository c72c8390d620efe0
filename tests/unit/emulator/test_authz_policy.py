"""The emulator's IAM policy evaluation (local.authz), against the rules of
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html (read 2026-12-03)."""

from __future__ import annotations

import pytest

from local.authz.engine import Caller, Requirement, decide
from local.authz.policy import Principal, Request, UnsupportedCondition, evaluate

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
BUCKET = "data"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


class Policies:
    """The resource-based policies of a tiny account (what local.authz.world reads from moto)."""

    account, region = ACCOUNT, "us-east-1"

    def __init__(self, bucket=None, key=None, function=None):
        self._bucket, self._key, self._function = bucket, key, function

    def bucket_policy(self, name):
        return self._bucket

    def key_policy(self, arn):
        return self._key

    def function_policy(self, name):
        return self._function


def caller(*statements, boundary=None, vpc_id=None) -> Caller:
    return Caller(
        Principal(ROLE, ACCOUNT), [("inline policy p", doc(*statements))] if statements else [], boundary, vpc_id, ROLE
    )


def request(action, resource="*", **context) -> Request:
    return Request(action, resource, Principal(ROLE, ACCOUNT), context)


def test_an_explicit_deny_anywhere_wins_over_an_allow():
    world = Policies(
        bucket=doc(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
                "Sid": "NoReads",
            }
        )
    )
    decision = decide(
        world,
        caller(allow("s3:*")),
        Requirement("s3:GetObject", f"arn:aws:s3:::{BUCKET}/k", resource_policy=("s3", BUCKET)),
        endpoint=None,
        endpoint_policy=None,
    )
    assert (
        not decision.allowed
        and "explicit deny in a resource-based policy" in decision.reason
        and "NoReads" in decision.reason
    )


def test_no_allow_is_an_implicit_deny_and_an_allow_in_either_policy_suffices_in_one_account():
    req = Requirement("s3:GetObject", f"arn:aws:s3:::{BUCKET}/k", resource_policy=("s3", BUCKET))
    assert not decide(Policies(), caller(), req, endpoint=None, endpoint_policy=None).allowed
    assert decide(
        Policies(), caller(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*")), req, endpoint=None, endpoint_policy=None
    ).allowed
    by_bucket = Policies(
        bucket=doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": ROLE},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        )
    )
    assert decide(by_bucket, caller(), req, endpoint=None, endpoint_policy=None).allowed


def test_a_permissions_boundary_limits_what_identity_policies_allow():
    req = Requirement("s3:PutObject", f"arn:aws:s3:::{BUCKET}/k")
    bounded = caller(allow("s3:*"), boundary=doc(allow("s3:GetObject")))
    decision = decide(Policies(), bounded, req, endpoint=None, endpoint_policy=None)
    assert not decision.allowed and "permissions boundary" in decision.reason


def test_kms_key_policies_must_allow_directly_or_delegate_to_the_account():
    req = Requirement("kms:Decrypt", KEY, resource_policy=("kms", KEY))
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    assert decide(
        Policies(key=doc(root)), caller(allow("kms:Decrypt", KEY)), req, endpoint=None, endpoint_policy=None
    ).allowed
    # no delegation: the caller's IAM policy alone is worth nothing
    denied = decide(Policies(key=doc()), caller(allow("kms:Decrypt", KEY)), req, endpoint=None, endpoint_policy=None)
    assert not denied.allowed and "key policy" in denied.reason
    # delegation without an IAM grant is not enough either
    assert not decide(Policies(key=doc(root)), caller(), req, endpoint=None, endpoint_policy=None).allowed


def test_via_service_and_encryption_context_conditions_bind_key_use():
    statement = allow(
        "kms:GenerateDataKey",
        KEY,
        Condition={
            "StringEquals": {
                "kms:ViaService": "states.us-east-1.amazonaws.com",
                "kms:EncryptionContext:aws:states:stateMachineArn": "arn:sm",
            }
        },
    )
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    world = Policies(key=doc(root))
    good = Requirement(
        "kms:GenerateDataKey",
        KEY,
        {
            "kms:ViaService": "states.us-east-1.amazonaws.com",
            "kms:EncryptionContext:aws:states:stateMachineArn": "arn:sm",
        },
        ("kms", KEY),
    )
    other_machine = Requirement(
        "kms:GenerateDataKey",
        KEY,
        {
            "kms:ViaService": "states.us-east-1.amazonaws.com",
            "kms:EncryptionContext:aws:states:stateMachineArn": "arn:other",
        },
        ("kms", KEY),
    )
    direct = Requirement("kms:GenerateDataKey", KEY, {}, ("kms", KEY))
    assert decide(world, caller(statement), good, endpoint=None, endpoint_policy=None).allowed
    assert not decide(world, caller(statement), other_machine, endpoint=None, endpoint_policy=None).allowed
    assert not decide(world, caller(statement), direct, endpoint=None, endpoint_policy=None).allowed


def test_a_vpc_endpoint_policy_must_allow_calls_that_go_through_it():
    class Endpoint:
        id, vpc_id = "vpce-1", "vpc-1"

    req = Requirement("states:StartExecution", "arn:sm")
    narrow = doc({"Effect": "Allow", "Principal": "*", "Action": "states:DescribeExecution", "Resource": "*"})
    decision = decide(
        Policies(), caller(allow("states:StartExecution")), req, endpoint=Endpoint(), endpoint_policy=narrow
    )
    assert not decision.allowed and "no VPC endpoint policy allows" in decision.reason
    assert decide(
        Policies(),
        caller(allow("states:StartExecution")),
        req,
        endpoint=Endpoint(),
        endpoint_policy=doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
    ).allowed


def test_a_service_principal_needs_the_resource_policy():
    events = Principal("events.amazonaws.com", ACCOUNT, service="events.amazonaws.com")
    permission = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:fn",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/uploads"}},
        }
    )
    req = lambda rule: Requirement(
        "lambda:InvokeFunction",
        "arn:fn",
        {"aws:SourceArn": f"arn:aws:events:us-east-1:123456789012:rule/{rule}"},
        ("lambda", "fn"),
    )
    service = Caller(events, None, None, None, "events.amazonaws.com")
    assert decide(Policies(function=permission), service, req("uploads"), endpoint=None, endpoint_policy=None).allowed
    assert not decide(Policies(function=permission), service, req("other"), endpoint=None, endpoint_policy=None).allowed
    assert not decide(Policies(), service, req("uploads"), endpoint=None, endpoint_policy=None).allowed


@pytest.mark.parametrize(
    "condition,context,applies",
    [
        ({"StringNotEquals": {"aws:sourceVpce": "vpce-1"}}, {}, True),  # a negated operator matches a missing key
        (
            {"StringNotEquals": {"aws:sourceVpce": "vpce-1"}},
            {"aws:SourceVpce": "vpce-1"},
            False,
        ),  # keys are case-insensitive
        ({"StringEqualsIfExists": {"aws:sourceVpce": "vpce-1"}}, {}, True),
        ({"StringEquals": {"aws:sourceVpce": "vpce-1"}}, {}, False),
        ({"ArnNotEquals": {"aws:PrincipalArn": [ROLE]}}, {"aws:PrincipalArn": ROLE}, False),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:bedrock:*:123456789012:model-customization-job/*"}},
            {"aws:SourceArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/m/1"},
            True,
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"Null": {"aws:RequestTag/team": "true"}}, {}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a"]}, True),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["a", "c"]}, False),
        ({"ForAnyValue:StringLike": {"aws:TagKeys": ["x*"]}}, {"aws:TagKeys": ["a", "xy"]}, True),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "5"}, True),
    ],
)
def test_condition_operators(condition, context, applies):
    statement = allow("s3:GetObject", Condition=condition)
    _, allows = evaluate(
        doc(statement),
        request("s3:GetObject", **{})
        if not context
        else Request("s3:GetObject", "*", Principal(ROLE, ACCOUNT), context),
        source="p",
    )
    assert bool(allows) is applies


def test_not_action_and_not_resource():
    statement = {"Effect": "Deny", "NotAction": "s3:PutObject", "NotResource": "arn:aws:s3:::data/public/*"}
    denies_get, _ = evaluate(doc(statement), request("s3:GetObject", "arn:aws:s3:::data/k"), source="p")
    denies_put, _ = evaluate(doc(statement), request("s3:PutObject", "arn:aws:s3:::data/k"), source="p")
    denies_public, _ = evaluate(doc(statement), request("s3:GetObject", "arn:aws:s3:::data/public/k"), source="p")
    assert denies_get and not denies_put and not denies_public


def test_an_operator_the_emulator_cannot_evaluate_is_refused_not_ignored():
    with pytest.raises(UnsupportedCondition):
        evaluate(
            doc(allow("s3:GetObject", Condition={"StringEqualsSometimes": {"aws:x": "a"}})),
            request("s3:GetObject"),
            source="p",
        )
