"""Checklist properties 13-17: Lambda functions (VPC, runtime, environment, log groups, exposure)."""

from __future__ import annotations

import functools
import re
from typing import Any

from tuneforge_audit.checklist.template import (
    Template,
    as_list,
    is_true,
    key_reference_ok,
    own_lambdas,
    props,
    render,
    resources,
    target,
)


@functools.lru_cache(maxsize=1)
def latest_python_runtime() -> str:
    """The newest Python runtime aws-cdk-lib knows, as cdk-nag's L1 rule computes it."""
    try:
        from aws_cdk import aws_lambda

        versions = [
            tuple(map(int, n.removeprefix("PYTHON_").split("_")))
            for n in dir(aws_lambda.Runtime)
            if re.fullmatch(r"PYTHON_\d+_\d+", n)
        ]
        major, minor = max(versions)
        return f"python{major}.{minor}"
    except Exception:  # pragma: no cover - only without aws-cdk-lib
        return "python3.14"


def _private_subnet(template: Template, value: Any) -> bool:
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        return bool(re.search(r"isolated|private", render(value), re.I))
    subnet = resources(template, "AWS::EC2::Subnet").get(target(value) or "")
    if subnet is None:
        return False
    tags = {t.get("Key"): t.get("Value") for t in as_list(props(subnet).get("Tags"))}
    return not is_true(props(subnet).get("MapPublicIpOnLaunch")) and tags.get("aws-cdk:subnet-type") != "Public"


def check_13_lambda_in_vpc(template: Template, stage: str) -> list[str]:
    """13. Every non-provider Lambda runs in the stack's isolated/private subnets."""
    out = []
    for lid, fn in own_lambdas(template).items():
        vpc = props(fn).get("VpcConfig") or {}
        subnets = as_list(vpc.get("SubnetIds"))
        if not subnets or not as_list(vpc.get("SecurityGroupIds")):
            out.append(f"{lid}: no VpcConfig with subnets and security groups")
            continue
        bad = [render(s) for s in subnets if not _private_subnet(template, s)]
        if bad:
            out.append(f"{lid}: subnets {bad} are not the stack's isolated or private subnets")
    return out


def check_14_lambda_runtime_settings(template: Template, stage: str) -> list[str]:
    """14. Active tracing, latest Python, explicit timeout, memory and reserved concurrency."""
    out = []
    for lid, fn in own_lambdas(template).items():
        p = props(fn)
        latest = latest_python_runtime()
        if (p.get("TracingConfig") or {}).get("Mode") != "Active":
            out.append(f"{lid}: TracingConfig.Mode is not Active")
        if p.get("PackageType") != "Image" and p.get("Runtime") != latest:
            out.append(f"{lid}: Runtime {p.get('Runtime')!r} is not {latest}")
        out += [
            f"{lid}: {name} is not set explicitly"
            for name in ("Timeout", "MemorySize", "ReservedConcurrentExecutions")
            if p.get(name) is None
        ]
    return out


_SECRET_NAME = re.compile(r"secret|password|passwd|token|credential|api_?key|private_?key|access_?key", re.I)
_SECRET_VALUE = re.compile(r"(secret|password|passwd|token|key)\s*[=:]|AKIA[0-9A-Z]{16}|-----BEGIN", re.I)
_NAME_OR_ARN = re.compile(r"^(arn:[^\s]+|[A-Za-z0-9_./:@+,=-]{0,4096})$")  # 4 KB: Lambda's limit for all variables


def _grader_settings(name: str, text: str) -> bool:
    """A reinforcement fine-tuning grader's settings (lambdas.domain.names.Env.GRADER): the profile's ``grader`` from
    config/tuneforge.yaml as JSON, which the grader function reads. Only a value that is exactly a GraderSettings
    (a strict model: a built-in grader's name or a module path under graders/, and its tolerance, pattern or JSON
    Schema) passes as configuration; the secret checks apply to it as to every variable."""
    from lambdas.domain.names import Env
    from lambdas.domain.profiles import GraderSettings

    if name != Env.GRADER:
        return False
    try:
        GraderSettings.model_validate_json(text)
    except ValueError:
        return False
    return True


def check_15_lambda_environment(template: Template, stage: str) -> list[str]:
    """15. Environment holds only names and ARNs (and a grader's validated settings), encrypted with a
    customer-managed key; traces capture no responses or errors."""
    out = []
    for lid, fn in own_lambdas(template).items():
        variables = ((props(fn).get("Environment") or {}).get("Variables")) or {}
        for name, value in variables.items():
            text = render(value)
            if (
                _SECRET_NAME.search(name)
                or _SECRET_VALUE.search(f"{text}")
                or not (_NAME_OR_ARN.match(text.replace("<", "").replace(">", "")) or _grader_settings(name, text))
            ):
                out.append(f"{lid}: environment variable {name}={text!r} looks like a secret or is not a name/ARN")
        if variables and not key_reference_ok(template, props(fn).get("KmsKeyArn")):
            out.append(f"{lid}: environment variables without KmsKeyArn of a customer-managed key")
        # Powertools' Tracer puts a handler's response and exception into the trace unless told not to.
        for setting in ("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "POWERTOOLS_TRACER_CAPTURE_ERROR"):
            if render(variables.get(setting, "")).lower() != "false":
                out.append(f"{lid}: {setting} is not false, so traces may carry what the handler returns or raises")
    return out


def check_16_lambda_log_groups(template: Template, stage: str) -> list[str]:
    """16. Logs go to an explicit, encrypted log group with retention."""
    out = []
    groups = resources(template, "AWS::Logs::LogGroup")
    for lid, fn in own_lambdas(template).items():
        group_ref = (props(fn).get("LoggingConfig") or {}).get("LogGroup")
        group = groups.get(target(group_ref) or "")
        if group is None:
            out.append(f"{lid}: LoggingConfig.LogGroup {render(group_ref)} is not an AWS::Logs::LogGroup of the stack")
            continue
        if not props(group).get("RetentionInDays"):
            out.append(f"{lid}: log group {target(group_ref)} has no RetentionInDays")
        if not key_reference_ok(template, props(group).get("KmsKeyId")):
            out.append(f"{lid}: log group {target(group_ref)} is not encrypted with a customer-managed key")
    return out


def check_17_lambda_exposure(template: Template, stage: str) -> list[str]:
    """17. No Lambda permission for Principal "*", no function URLs."""
    out = [f"{lid}: AWS::Lambda::Url exposes a function over HTTPS" for lid in resources(template, "AWS::Lambda::Url")]
    for lid, perm in resources(template, "AWS::Lambda::Permission").items():
        if props(perm).get("Principal") in ("*", {"AWS": "*"}):
            out.append(f"{lid}: Lambda permission for Principal '*'")
    return out
