"""Checklist properties 8-12, 26 and 28: IAM roles and grants (Bedrock trust, PassRole, actions, scope, tags)."""

from __future__ import annotations

import fnmatch
import re

from tuneforge_audit.checklist.template import (
    Template,
    actions,
    as_list,
    condition_keys,
    grants,
    has_wildcard,
    identity_policies,
    is_true,
    principals,
    props,
    referenced_ids,
    render,
    resources,
    roles_trusting,
    statements,
    target,
)

_BEDROCK_JOB_KINDS = ("model-customization-job", "evaluation-job")


def check_08_bedrock_trust(template: Template, stage: str) -> list[str]:
    """8. The Bedrock roles trust bedrock.amazonaws.com only for this account's customization jobs, or (the managed
    judge's role) its evaluation jobs: each role's aws:SourceArn names one kind of job."""
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
                or not any(all(a.endswith(f":{kind}/*") for a in rendered) for kind in _BEDROCK_JOB_KINDS)
            ):
                out.append(
                    f"{lid}: trust aws:SourceArn is not limited to ...:model-customization-job/* or ...:evaluation-job/* (got {operator} {rendered})"
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
