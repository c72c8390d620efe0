"""The authorization hook around botocore, and the registry of principals by access key."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass

from .. import state
from .engine import ADMINISTRATOR, Caller, Decision, Requirement, decide
from .operations import requirements
from .policy import Principal, UnsupportedCondition
from .table import Call
from .world import World

#: the emulator itself (deploying cdk.out, its own lifecycle work): never checked, like CloudFormation's
#: service role and AWS's internal calls
EMULATOR = "emulator"
#: the default principal of the test driver and the CLI: an administrator of the account, outside any VPC
OPERATOR = "arn:aws:iam::{account}:role/tuneforge-emulator-operator"

DECISIONS: list[dict] = []
DENIALS: list[dict] = []
UNRULED: list[dict] = []

_LOCK = threading.RLock()
_APPLIED = False
_UNCHECKED = threading.local()


class NoAuthorizationRule(RuntimeError):
    """The emulator has no row in ``local.authz.operations`` for this call: add one (with its source)."""


@dataclass(frozen=True)
class Registered:
    arn: str  # role ARN (aws:PrincipalArn) or EMULATOR
    session: str  # role session name (shows in the assumed-role ARN)
    vpc_id: str | None  # calls come from inside this VPC


_BY_KEY: dict[str, Registered] = {}


def _key_id(arn: str, session: str, vpc_id: str | None) -> str:
    digest = hashlib.sha256(f"{arn}|{session}|{vpc_id}".encode()).hexdigest()[:16].upper()
    return f"ASIAEMU{digest}"


def register_principal(arn: str, *, session: str = "emulated", vpc_id: str | None = None) -> dict[str, str]:
    """Credentials (access key, secret, session token) that make calls as ``arn``."""
    key = _key_id(arn, session, vpc_id)
    with _LOCK:
        _BY_KEY[key] = Registered(arn, session, vpc_id)
    return {
        "aws_access_key_id": key,
        "aws_secret_access_key": "emulated-secret",
        "aws_session_token": f"emulated-session-{key}",
    }


def credentials_for(arn: str, *, session: str = "emulated", vpc_id: str | None = None) -> dict[str, str]:
    """The same as environment variables (AWS_ACCESS_KEY_ID ...)."""
    creds = register_principal(arn, session=session, vpc_id=vpc_id)
    return {
        "AWS_ACCESS_KEY_ID": creds["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": creds["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": creds["aws_session_token"],
    }


def reset() -> None:
    with _LOCK:
        DECISIONS.clear()
        DENIALS.clear()
        UNRULED.clear()


@contextlib.contextmanager
def unchecked():
    """Calls made inside the block on this thread are the emulator's own (deploy, inspection)."""
    depth = getattr(_UNCHECKED, "depth", 0)
    _UNCHECKED.depth = depth + 1
    try:
        yield
    finally:
        _UNCHECKED.depth = depth


def service_principal(service: str, account: str) -> Principal:
    return Principal(arn=service, account=account, service=service)


def _mode() -> str:
    return getattr(state.current().settings, "authorization", "enforce")


def _caller_for(registered: Registered | None, world: World) -> Caller | None:
    """None: the emulator itself."""
    if registered is not None and registered.arn == EMULATOR:
        return None
    operator = OPERATOR.format(account=world.account)
    arn = registered.arn if registered is not None else operator
    session = registered.session if registered is not None else "driver"
    vpc_id = registered.vpc_id if registered is not None else None
    principal = Principal(arn=arn, account=arn.split(":")[4] or world.account)
    label = f"arn:aws:sts::{principal.account}:assumed-role/{arn.rsplit('/', 1)[-1]}/{session}"
    if arn == operator:
        return Caller(principal, [("the operator's AdministratorAccess", ADMINISTRATOR)], None, vpc_id, label)
    identity = world.identity_policies(arn)
    if identity is None:
        return Caller(principal, [], None, vpc_id, label)
    return Caller(principal, identity.documents, identity.boundary, vpc_id, label)


def _denial_message(caller_label: str, requirement: Requirement, decision: Decision) -> str:
    return f"User: {caller_label} is not authorized to perform: {requirement.action} on resource: {requirement.resource} {decision.reason}"


def authorize(caller: Caller, call: Call, reqs: list[Requirement]) -> tuple[Requirement, Decision] | None:
    """The first requirement the caller fails, with the decision; None when all pass."""
    world = call.world
    endpoint = endpoint_policy = None
    if caller.vpc_id is not None:
        endpoint = world.vpc_endpoint(caller.vpc_id, call.service)
        if endpoint is None:
            raise _NoRoute(call.service, caller.vpc_id)
        endpoint_policy = world.endpoint_policy(endpoint)
    for requirement in reqs:
        # what a service does on the caller's behalf (``via``) does not pass the caller's endpoint
        via_endpoint = endpoint if requirement.via is None else None
        try:
            decision = decide(
                world,
                caller,
                requirement,
                endpoint=via_endpoint,
                endpoint_policy=endpoint_policy if via_endpoint is not None else None,
            )
        except UnsupportedCondition as exc:
            raise NoAuthorizationRule(
                f"the emulator cannot evaluate the condition operator {exc} used in a policy for {requirement.action}"
            ) from exc
        record = {
            "principal": caller.principal.arn,
            "operation": f"{call.service}:{call.operation}",
            "action": requirement.action,
            "resource": requirement.resource,
            "allowed": decision.allowed,
            "via": requirement.via,
            "endpoint": via_endpoint.id if via_endpoint is not None else None,
        }
        with _LOCK:
            DECISIONS.append(record)
        if not decision.allowed:
            with _LOCK:
                DENIALS.append({**record, "reason": decision.reason})
            state.current().note("authz.denied", **record, reason=decision.reason)
            return requirement, decision
    return None


class _NoRoute(Exception):
    def __init__(self, service: str, vpc_id: str) -> None:
        super().__init__(f"the isolated VPC {vpc_id} has no VPC endpoint for {service} (and no route to the internet)")
        self.service = service


def _check_client_call(client, operation_name: str, api_params: dict) -> None:
    if getattr(_UNCHECKED, "depth", 0) or _mode() == "off":
        return
    credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    key = getattr(credentials, "access_key", None) if credentials is not None else None
    registered = _BY_KEY.get(key) if key else None
    region = client.meta.region_name
    from local.emulator import current_account

    world = World(current_account(), region)
    caller = _caller_for(registered, world)
    if caller is None:
        return
    service = client.meta.service_model.endpoint_prefix
    _resolve_in_vpc(client, operation_name, api_params, caller, region)
    call = Call(service, operation_name, dict(api_params), world)
    reqs = requirements(call)
    if reqs is None:
        if caller.principal.arn == OPERATOR.format(account=world.account):
            with _LOCK:
                UNRULED.append({"operation": f"{service}:{operation_name}", "principal": caller.principal.arn})
            return
        raise NoAuthorizationRule(
            f"no authorization rule for {service}:{operation_name} (called by {caller.principal.arn}); add a row to local/authz/operations.py (Bedrock: bedrock_operations.py)"
        )
    try:
        failed = authorize(caller, call, reqs)
    except _NoRoute as exc:
        from botocore.exceptions import EndpointConnectionError

        state.current().note(
            "authz.no_route", principal=caller.principal.arn, service=service, operation=operation_name
        )
        if _mode() == "enforce":
            raise EndpointConnectionError(endpoint_url=f"https://{service}.{region}.amazonaws.com ({exc})") from None
        return
    if failed is None or _mode() != "enforce":
        return
    requirement, decision = failed
    from botocore.exceptions import ClientError

    message = _denial_message(caller.label, requirement, decision)
    import uuid

    error = {
        "Error": {"Code": requirement.error, "Message": message},
        "ResponseMetadata": {
            "HTTPStatusCode": requirement.status,
            "RequestId": str(uuid.uuid4()),
            "HTTPHeaders": {},
            "RetryAttempts": 0,
        },
    }
    cls = client.exceptions.from_code(requirement.error) if hasattr(client, "exceptions") else ClientError
    raise cls(error, operation_name)


def _resolve_in_vpc(client, operation_name: str, api_params: dict, caller: Caller, region: str) -> None:
    """A caller inside a VPC first resolves the API's host name through the VPC's resolver and its DNS Firewall."""
    from local import dns_firewall

    vpc_id = caller.vpc_id
    if vpc_id is None:
        return  # outside any VPC: public DNS, no firewall

    name = dns_firewall.host_name(client.meta.service_model.service_name, region, operation_name, api_params)
    answer = dns_firewall.resolve(vpc_id, name)
    if answer.resolves:
        return
    state.current().note(
        "dns.blocked",
        principal=caller.principal.arn,
        name=name,
        operation=f"{client.meta.service_model.endpoint_prefix}:{operation_name}",
        rule=answer.rule,
    )
    if _mode() == "enforce":
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(
            endpoint_url=f"https://{name} (the DNS Firewall of {caller.vpc_id} answers NXDOMAIN, rule {answer.rule})"
        )


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    import functools

    from botocore import client as botocore_client

    original = botocore_client.BaseClient._make_api_call

    @functools.wraps(original)
    def _make_api_call(self, operation_name, api_params):
        _check_client_call(self, operation_name, api_params)
        return original(self, operation_name, api_params)

    botocore_client.BaseClient._make_api_call = _make_api_call
    _APPLIED = True


def check_service(principal: Principal, requirement: Requirement, world: World) -> Decision:
    """A service acting on its own behalf (EventBridge invoking a target, Bedrock assuming its role)."""
    caller = Caller(principal, None, None, None, principal.arn)
    decision = decide(world, caller, requirement, endpoint=None, endpoint_policy=None)
    record = {
        "principal": principal.arn,
        "operation": "service",
        "action": requirement.action,
        "resource": requirement.resource,
        "allowed": decision.allowed,
        "via": None,
        "endpoint": None,
    }
    with _LOCK:
        DECISIONS.append(record)
        if not decision.allowed:
            DENIALS.append({**record, "reason": decision.reason})
    if not decision.allowed:
        state.current().note("authz.denied", **record, reason=decision.reason)
    return decision


def check_role(
    role_arn: str,
    requirements_: list[Requirement],
    world: World,
    *,
    service: str,
    vpc_id: str | None = None,
    session: str = "service",
) -> tuple[Requirement, Decision] | None:
    """A service working with a role it was passed (Bedrock reading training data as the job's role).
    ``service`` is whose API the requirements belong to: from inside ``vpc_id`` they go through its endpoint."""
    if _mode() == "off":
        return None
    caller = _caller_for(Registered(role_arn, session, vpc_id), world)
    call = Call(service, "service-role", {}, world)
    return authorize(caller, call, requirements_) if caller is not None else None
