"""Template helpers the checklist checks share: resources by type, references, policy statements.

Pure functions over one synthesized CloudFormation template (a dict).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

Template = dict[str, Any]
Check = Callable[[Template, str], list[str]]

RETAINING_STAGES = {"prod"}  # stages whose data must survive `cdk destroy`; others may use removal_policy: destroy


# ---------------------------------------------------------------- template helpers


def resources(template: Template, *types: str) -> dict[str, dict]:
    return {lid: res for lid, res in template.get("Resources", {}).items() if not types or res.get("Type") in types}


def props(resource: dict) -> dict:
    return resource.get("Properties") or {}


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def target(value: Any) -> str | None:
    """The logical id a ``Ref`` / ``Fn::GetAtt`` points at, else None."""
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return att[0] if isinstance(att, list) else str(att).split(".")[0]
    return None


def referenced_ids(value: Any) -> set[str]:
    """Every logical id referenced anywhere inside ``value`` (Ref, GetAtt, Sub's ${X})."""
    found: set[str] = set()
    if isinstance(value, dict):
        tgt = target(value)
        if tgt:
            found.add(tgt)
        if "Fn::Sub" in value:
            text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
            found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", str(text))}
        for child in value.values():
            found |= referenced_ids(child)
    elif isinstance(value, list):
        for child in value:
            found |= referenced_ids(child)
    return found


def render(value: Any) -> str:
    """A readable string for an ARN-like value: intrinsics become <Id> / <Id.Attr> / <import:Name>."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return json.dumps(value)
    if isinstance(value, list):
        return ",".join(render(v) for v in value)
    if isinstance(value, dict):
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return f"<{'.'.join(att) if isinstance(att, list) else att}>"
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(render(p) for p in parts)
        if "Fn::Sub" in value:
            text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
            return re.sub(r"\$\{([^}]+)\}", r"<\1>", text)
        if "Fn::ImportValue" in value:
            return f"<import:{render(value['Fn::ImportValue'])}>"
        if "Fn::Select" in value:
            return f"<select:{render(value['Fn::Select'])}>"
    return json.dumps(value, sort_keys=True)


def statements(document: Any) -> list[dict]:
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def actions(statement: dict) -> list[str]:
    return [a for a in as_list(statement.get("Action")) if isinstance(a, str)]


def grants(statement: dict, action: str) -> bool:
    """Whether an Allow statement's Action list covers ``action`` (wildcards in the statement count)."""
    return statement.get("Effect") == "Allow" and any(
        fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions(statement)
    )


def principals(statement: dict) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [render(p) for values in principal.values() for p in as_list(values)]
    return []


def condition_keys(statement: dict) -> dict[str, tuple[str, list]]:
    """Condition key (lower case) -> (operator, values)."""
    out: dict[str, tuple[str, list]] = {}
    for operator, block in (statement.get("Condition") or {}).items():
        if isinstance(block, dict):
            for key, value in block.items():
                out[key.lower()] = (operator, as_list(value))
    return out


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def has_wildcard(value: Any) -> bool:
    return "*" in render(value)


# ----------------------------------------------------------------- identity policies


def identity_policies(template: Template) -> Iterator[tuple[str, set[str], dict]]:
    """(where, attached role logical ids, policy document) for every identity policy in the template."""
    for lid, role in resources(template, "AWS::IAM::Role").items():
        for policy in as_list(props(role).get("Policies")):
            yield f"{lid}/{policy.get('PolicyName', '?')}", {lid}, policy.get("PolicyDocument") or {}
    for lid, policy in resources(template, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").items():
        attached = {t for t in (target(r) for r in as_list(props(policy).get("Roles"))) if t}
        yield lid, attached, props(policy).get("PolicyDocument") or {}
    for lid, holder in resources(template, "AWS::IAM::User", "AWS::IAM::Group").items():
        for policy in as_list(props(holder).get("Policies")):
            yield f"{lid}/{policy.get('PolicyName', '?')}", set(), policy.get("PolicyDocument") or {}


def roles_trusting(template: Template, service: str) -> set[str]:
    return {
        lid
        for lid, role in resources(template, "AWS::IAM::Role").items()
        if any(service in principals(s) for s in statements(props(role).get("AssumeRolePolicyDocument")))
    }


# ----------------------------------------------------------------- CDK's own provider Lambdas


# CDK's singleton provider functions (log retention, bucket notifications, AwsCustomResource) have fixed
# UUID-based construct ids, so their logical ids start with these.
_CDK_SINGLETON_PREFIXES = (
    "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a",
    "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",
    "AWS679f53fac002430cb0b5b8a9c7b5b06c",
)


def cdk_provider_lambdas(template: Template) -> set[str]:
    """Lambdas that aws-cdk-lib itself creates to back custom resources, exempt from checks 13-17.

    Identified structurally, never by a name we chose:
    1. the function is the ``ServiceToken`` of a ``Custom::*`` or ``AWS::CloudFormation::CustomResource``
       resource (e.g. ``Custom::VpcRestrictDefaultSG`` -> its Node.js handler): only CloudFormation invokes it;
    2. or its ``aws:cdk:path`` metadata (when path metadata is on) contains ``Custom::`` (CDK's
       ``CustomResourceProvider`` puts its handler at ``<Stack>/Custom::<Type>CustomResourceProvider/Handler``)
       or ``/Provider/framework-`` (the provider framework of ``custom_resources.Provider``);
    3. or its logical id is one of CDK's fixed singleton provider ids (log retention, bucket notifications,
       AwsCustomResource), which the synthesized template carries even without path metadata.
    A user Lambda that is the ``on_event`` handler behind a ``Provider`` framework is *not* exempt: the
    framework function is the ServiceToken, the user handler is not.
    """
    lambdas = resources(template, "AWS::Lambda::Function")
    exempt: set[str] = set()
    for res in template.get("Resources", {}).values():
        if res.get("Type", "").startswith("Custom::") or res.get("Type") == "AWS::CloudFormation::CustomResource":
            tgt = target(props(res).get("ServiceToken"))
            if tgt in lambdas:
                exempt.add(tgt)
    for lid, fn in lambdas.items():
        path = str((fn.get("Metadata") or {}).get("aws:cdk:path", ""))
        if "Custom::" in path or "/Provider/framework-" in path or lid.startswith(_CDK_SINGLETON_PREFIXES):
            exempt.add(lid)
    return exempt


def own_lambdas(template: Template) -> dict[str, dict]:
    exempt = cdk_provider_lambdas(template)
    return {lid: fn for lid, fn in resources(template, "AWS::Lambda::Function").items() if lid not in exempt}


# ----------------------------------------------------------------- used by several themes


def key_reference_ok(template: Template, value: Any) -> bool:
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        return True  # a CDK export of the foundation stack's key
    return target(value) in resources(template, "AWS::KMS::Key")


def denies_everyone(statement: dict) -> bool:
    return statement.get("Effect") == "Deny" and principals(statement) in (["*"],)


def denies(statement: dict, action: str) -> bool:
    """Whether a Deny statement's Action list covers ``action`` (wildcards in the statement count)."""
    return statement.get("Effect") == "Deny" and any(
        fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions(statement)
    )
