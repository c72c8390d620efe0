"""The decision: is this principal allowed this action on this resource, here and now?

Same-account evaluation (and, for a principal of another account, both the identity and the resource policy) as documented in
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html (read 2026-12-02):

1. An explicit Deny in any applicable policy (identity, permissions boundary, resource policy, VPC
   endpoint policy) denies.
2. KMS keys: the key policy must allow the principal, either by naming it (or its account's root with
   a statement that the IAM policies then must back: the key policy "delegates" to IAM) —
   https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
3. Other resources: an Allow in the identity policies (inside the permissions boundary, if one is set)
   or in the resource policy for this principal.
4. A call that goes through a VPC endpoint must also be allowed by the endpoint policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .policy import Principal, Request, evaluate, names_account_root, statement_applies, statements
from .world import World

#: the synthetic identity policy of the configurable "operator" principal (an administrator of the account)
ADMINISTRATOR = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass
class Requirement:
    """One authorization AWS performs for a call: ``action`` on ``resource`` with extra ``context``.

    ``resource_policy`` names the resource-based policy that applies (``("s3", bucket)``,
    ``("kms", key_arn)``, ``("sns", topic_arn)``, ``("sqs", queue)``, ``("lambda", function)``) or None.
    ``via`` is set for permissions a service exercises on the caller's behalf (KMS through S3): then the
    caller's VPC endpoint is not in the path. ``error`` is the error code a client sees on denial.
    """

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    resource_policy: tuple[str, str] | None = None
    via: str | None = None
    error: str = "AccessDeniedException"
    status: int = 400
    source: str = ""


@dataclass
class Caller:
    principal: Principal
    identity: Any | None  # list of (name, document) or None for service principals
    boundary: Any | None
    vpc_id: str | None  # set when the call is made from inside a VPC (a VPC Lambda)
    label: str  # how a denial names the caller ("arn:aws:sts::…:assumed-role/Role/session")


@dataclass
class Decision:
    allowed: bool
    reason: str  # "" when allowed; else "because no identity-based policy allows …" etc.


#: resource-policy kind -> (the World lookup, how a denial names the policy)
_RESOURCE_POLICIES = {
    "s3": ("bucket_policy", "the bucket policy of {}"),
    "kms": ("key_policy", "the key policy of {}"),
    "sns": ("topic_policy", "the topic policy of {}"),
    "sqs": ("queue_policy", "the queue policy of {}"),
    "lambda": ("function_policy", "the resource-based policy of {}"),
    "trust": ("trust_policy", "the trust policy of {}"),
}


def _resource_policy(world: World, ref: tuple[str, str] | None) -> tuple[Any, str]:
    if ref is None:
        return None, ""
    kind, name = ref
    if kind not in _RESOURCE_POLICIES:
        raise ValueError(f"unknown resource policy kind {kind!r}")
    lookup, label = _RESOURCE_POLICIES[kind]
    return getattr(world, lookup)(name), label.format(name)


def decide(
    world: World, caller: Caller, requirement: Requirement, *, endpoint: Any | None, endpoint_policy: Any | None
) -> Decision:
    principal = caller.principal
    context = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": principal.account,
        "aws:SecureTransport": "true",
        "aws:RequestedRegion": world.region,
        "kms:CallerAccount": principal.account if requirement.action.startswith("kms:") else None,
        **requirement.context,
    }
    context["aws:PrincipalIsAWSService"] = "true" if principal.is_service else "false"
    if principal.is_service:
        context["aws:PrincipalServiceName"] = principal.service
    if endpoint is not None:
        context["aws:SourceVpce"] = endpoint.id
        context["aws:SourceVpc"] = endpoint.vpc_id
    context = {k: v for k, v in context.items() if v is not None}
    request = Request(requirement.action, requirement.resource, principal, context)

    denies: list = []
    identity_allows: list = []
    for name, document in caller.identity or []:
        d, a = evaluate(document, request, source=name)
        denies += d
        identity_allows += a
    boundary_allows = True
    if caller.boundary is not None:
        d, a = evaluate(caller.boundary, request, source="the permissions boundary")
        denies += d
        boundary_allows = bool(a)
    resource_document, resource_name = _resource_policy(world, requirement.resource_policy)
    resource_allows: list = []
    if resource_document is not None:
        d, a = evaluate(resource_document, request, source=resource_name, resource_policy=True)
        denies += d
        resource_allows = a
    endpoint_allows = True
    if endpoint_policy is not None and endpoint is not None:
        d, a = evaluate(
            endpoint_policy, request, source=f"the VPC endpoint policy of {endpoint.id}", resource_policy=True
        )
        denies += d
        endpoint_allows = bool(a)

    if denies:
        first = denies[0]
        where = (
            "a resource-based policy"
            if first.source.startswith(
                ("the bucket", "the key", "the topic", "the queue", "the resource-based", "the trust")
            )
            else ("a VPC endpoint policy" if "endpoint" in first.source else "an identity-based policy")
        )
        return Decision(
            False, f"with an explicit deny in {where} ({first.source}, statement {first.sid or '(no Sid)'})"
        )

    if requirement.resource_policy and requirement.resource_policy[0] == "kms":
        allowed, reason = _kms_allows(
            resource_document, request, caller, identity_allows, boundary_allows, world.account
        )
    elif requirement.resource_policy and requirement.resource_policy[0] == "trust":
        allowed = bool(resource_allows)
        reason = "" if allowed else f"because {resource_name} does not allow it"
    elif principal.is_service:
        allowed = bool(resource_allows)
        reason = (
            ""
            if allowed
            else (
                f"because no resource-based policy allows the {requirement.action} action"
                if resource_document is not None
                else f"because the resource has no resource-based policy that allows {principal.service}"
            )
        )
    elif principal.account != world.account:
        allowed, reason = _cross_account(requirement, bool(identity_allows) and boundary_allows, bool(resource_allows))
    else:
        by_identity = bool(identity_allows) and boundary_allows
        allowed = by_identity or bool(resource_allows)
        if allowed:
            reason = ""
        elif identity_allows and not boundary_allows:
            reason = f"because no permissions boundary allows the {requirement.action} action"
        else:
            reason = f"because no identity-based policy allows the {requirement.action} action"
    if allowed and not endpoint_allows and endpoint is not None:
        return Decision(False, f"because no VPC endpoint policy allows the {requirement.action} action ({endpoint.id})")
    return Decision(allowed, reason)


def _cross_account(requirement: Requirement, by_identity: bool, by_resource: bool) -> tuple[bool, str]:
    """A principal of another account needs both: its own account's identity policy and the resource's policy
    naming it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html,
    read 2026-12-07). The emulator holds one account, so such a principal's identity policies are unknown here and
    only the resource's policy can be shown to refuse it."""
    if not by_resource:
        return False, (
            f"because no resource-based policy allows the {requirement.action} action "
            "(a principal of another account needs the resource's policy to allow it)"
        )
    if not by_identity:
        return False, f"because no identity-based policy allows the {requirement.action} action"
    return True, ""


def _kms_allows(
    key_policy: Any, request: Request, caller: Caller, identity_allows: list, boundary_allows: bool, account: str
) -> tuple[bool, str]:
    if key_policy is None:
        return False, "because the key has no key policy"
    delegated = False
    for statement in statements(key_policy):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        if not statement_applies(statement, request, resource_policy=False):
            continue
        spec = statement.get("Principal")
        if names_account_root(spec, account) and not caller.principal.is_service:
            delegated = True  # the key policy lets IAM policies of this account decide
            continue
        if statement_applies(statement, request, resource_policy=True):
            return True, ""
    if delegated and identity_allows and boundary_allows:
        return True, ""
    if delegated:
        return False, f"because no identity-based policy allows the {request.action} action"
    return False, f"because no resource-based policy (the key policy) allows the {request.action} action"
