"""Checklist properties 6, 7 and 29: KMS keys and who may use them."""

from __future__ import annotations

import re

from tuneforge_audit.checklist.template import (
    RETAINING_STAGES,
    Template,
    actions,
    condition_keys,
    denies,
    identity_policies,
    principals,
    props,
    render,
    resources,
    roles_trusting,
    statements,
)


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


def _key_statement_problems(lid: str, s: dict, bedrock_roles: set[str]) -> list[str]:
    """Check 07 on one Allow statement of key ``lid``'s policy."""
    out = []
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
    return out


def _unconditioned_service_trust(template: Template) -> list[str]:
    """Roles that a service (but Lambda) may assume for any account."""
    out = []
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
    return out


def _bedrock_role_kms_outside_bedrock(template: Template, bedrock_roles: set[str]) -> list[str]:
    """KMS grants of the roles Bedrock assumes that are not restricted to calls through Bedrock."""
    out = []
    for where, attached, document in identity_policies(template):
        if not attached & bedrock_roles:
            continue
        for s in statements(document):
            if s.get("Effect") == "Allow" and any(a.lower().startswith("kms:") or a == "*" for a in actions(s)):
                problem = _via_bedrock(s)
                if problem:
                    out.append(f"{where}: Bedrock role's KMS statement {s.get('Sid', '')!r} {problem}")
    return out


def check_07_kms_service_conditions(template: Template, stage: str) -> list[str]:
    """7. Bedrock uses keys only via kms:ViaService; CloudWatch Logs only with its encryption context;
    every other service principal on a key, and every service a role trusts (but Lambda, whose execution
    roles only iam:PassRole holders can attach, check 09), is tied to this account (confused deputy)."""
    bedrock_roles = roles_trusting(template, "bedrock.amazonaws.com")
    out = [
        problem
        for lid, key in resources(template, "AWS::KMS::Key").items()
        for s in statements(props(key).get("KeyPolicy"))
        if s.get("Effect") == "Allow"
        for problem in _key_statement_problems(lid, s, bedrock_roles)
    ]
    return out + _unconditioned_service_trust(template) + _bedrock_role_kms_outside_bedrock(template, bedrock_roles)
