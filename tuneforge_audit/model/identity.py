"""Who may do what: IAM roles with their policies, KMS keys with their key policies, and the resource
policies (bucket, queue, topic, Lambda permission, function URL) through which others may call in."""

from __future__ import annotations

import re

from tuneforge_audit.checklist.template import (
    as_list,
    props,
    referenced_ids,
    resources,
    statements,
    target,
)
from tuneforge_audit.model.policies import FAIL, REVIEW, Names, flag, statement_view, wildcards


def _role_users(stack: str, template: dict, role: str, names: Names, templates: dict[str, dict]) -> list[str]:
    """Resources (any stack) that name the role outside IAM: the functions, machines, rules, flow logs that use it."""
    users = []
    for other, t in templates.items():
        for lid, res in t.get("Resources", {}).items():
            if res.get("Type", "").startswith("AWS::IAM::"):
                continue
            refs = referenced_ids(names.resolve(props(res)))
            wanted = role if other == stack else f"{stack}:{role}"
            if wanted in refs:
                users.append(f"{res['Type'].removeprefix('AWS::')} {other + ':' if other != stack else ''}{lid}")
    return sorted(users)


def roles(stack: str, template: dict, names: Names, templates: dict[str, dict]) -> list[dict]:
    rs = resources(template, "AWS::IAM::Role")
    managed = resources(template, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
    out = []
    for lid, role in rs.items():
        p = props(role)
        trust = [statement_view(s, names) for s in statements(p.get("AssumeRolePolicyDocument"))]
        trust_flags = []
        for view in trust:
            if view["effect"] == "Allow" and "*" in view.get("principals", []) and not view["conditions"]:
                trust_flags.append(flag(FAIL, f"{lid}: trust policy lets any principal assume the role"))
            external = [
                pr
                for pr in view.get("principals", [])
                if re.search(r"arn:[^:]*:iam::\d{12}:", pr) and not view["conditions"]
            ]
            if external:
                trust_flags.append(flag(REVIEW, f"{lid}: trusts accounts {external} without conditions"))
        policies = []
        for i, inline in enumerate(as_list(p.get("Policies"))):
            policies.append(
                ("inline", inline.get("PolicyName", f"inline {i}"), inline.get("PolicyDocument") or {}, role)
            )
        attached_ids = {target(a) for a in as_list(p.get("ManagedPolicyArns"))}
        for plid, policy in managed.items():
            if lid in {target(r) for r in as_list(props(policy).get("Roles"))} or plid in attached_ids:
                kind = (
                    "customer-managed" if policy["Type"] == "AWS::IAM::ManagedPolicy" else "inline (AWS::IAM::Policy)"
                )
                policies.append((kind, plid, props(policy).get("PolicyDocument") or {}, policy))
        aws_managed = []
        for arn in as_list(p.get("ManagedPolicyArns")):
            if target(arn) in managed:
                continue
            text = names.text(arn)
            aws_managed.append(
                {
                    "arn": text,
                    "flags": [flag(REVIEW, f"{lid}: managed policy {text} (its statements are not in the template)")],
                }
            )
        policy_views = []
        for kind, name, document, holder in policies:
            views = [statement_view(s, names) for s in statements(document)]
            for i, view in enumerate(views):
                view["wildcards"] = wildcards(
                    view,
                    holder,
                    f"{lid} {name}" + (f" {view['sid']}" if view["sid"] else ""),
                    others=views[:i] + views[i + 1 :],
                )
            policy_views.append({"name": name, "kind": kind, "statements": views})
        boundary = p.get("PermissionsBoundary")
        out.append(
            {
                "stack": stack,
                "id": lid,
                "name": names.text(p["RoleName"]) if p.get("RoleName") else "",
                "description": p.get("Description", ""),
                "assumed_by": sorted({pr for v in trust if v["effect"] == "Allow" for pr in v.get("principals", [])}),
                "trust": trust,
                "permissions_boundary": names.text(boundary) if boundary else "",
                "aws_managed_policies": aws_managed,
                "policies": policy_views,
                "used_by": _role_users(stack, template, lid, names, templates),
                "flags": trust_flags,
            }
        )
    return out


def keys(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    for lid, res in resources(template, "AWS::KMS::Key").items():
        p = props(res)
        views, flags = [], []
        for s in statements(p.get("KeyPolicy")):
            view = statement_view(s, names)
            view["flags"] = []
            if view["effect"] == "Allow" and "*" in view.get("principals", []):
                view["flags"].append(
                    flag(
                        FAIL if not view["conditions"] else REVIEW,
                        f"{lid}: key policy statement {view['sid']!r} allows Principal '*'"
                        + (f" when {' and '.join(view['conditions'])}" if view["conditions"] else ""),
                    )
                )
            if (
                view["effect"] == "Allow"
                and any(a in ("kms:*", "*") for a in view["actions"])
                and all(re.search(r":root$", pr) for pr in view.get("principals", []))
                and view.get("principals")
            ):
                view["flags"].append(
                    flag(
                        REVIEW,
                        f"{lid}: kms:* for the account root: key use is delegated to this account's IAM policies",
                    )
                )
            views.append(view)
        if p.get("EnableKeyRotation") is not True:
            flags.append(flag(FAIL, f"{lid}: key rotation is off"))
        out.append(
            {
                "stack": stack,
                "id": lid,
                "description": p.get("Description", ""),
                "rotation": p.get("EnableKeyRotation") is True,
                "deletion_policy": res.get("DeletionPolicy", "Delete"),
                "pending_window_days": p.get("PendingWindowInDays", 30),
                "statements": views,
                "flags": flags,
            }
        )
    return out


EXEMPTIONS = "tuneforge_exemptions"  # stacks/data_perimeter.py
EXEMPTING = ("ArnNotEquals", "ArnNotLike", "StringNotEquals", "StringNotLike")


def exemptions(document: list[dict], holder: dict, names: Names, lid: str) -> list[dict]:
    """Principals a Deny statement leaves out (``aws:PrincipalArn`` under a negated operator), each with the
    reason written for it in the policy's metadata: a flag to read, or a failure when there is none."""
    written = {
        (str(e.get("sid", "")), names.text(e.get("principal"))): str(e.get("reason") or "").strip()
        for e in ((holder.get("Metadata") or {}).get(EXEMPTIONS) or [])
        if isinstance(e, dict)
    }
    out = []
    for statement in document:
        if statement.get("Effect") != "Deny":
            continue
        sid = statement.get("Sid", "")
        for operator in EXEMPTING:
            for key, value in ((statement.get("Condition") or {}).get(operator) or {}).items():
                if key.lower() != "aws:principalarn":
                    continue
                for principal in as_list(value):
                    who = names.text(principal)
                    reason = written.get((sid, who), "")
                    message = f"{lid} {sid}: {who} is exempt from this deny" + (
                        f": {reason}" if reason else " with no reason on record"
                    )
                    out.append(
                        {
                            "sid": sid,
                            "principal": who,
                            "reason": reason,
                            "flags": [flag(REVIEW if reason else FAIL, message)],
                        }
                    )
    return out


def resource_policies(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    holders = {"AWS::S3::BucketPolicy": "Bucket", "AWS::SQS::QueuePolicy": "Queues", "AWS::SNS::TopicPolicy": "Topics"}
    for lid, res in resources(template, *holders).items():
        p = props(res)
        on = ", ".join(names.text(v) for v in as_list(p.get(holders[res["Type"]])))
        views = [statement_view(s, names) for s in statements(p.get("PolicyDocument"))]
        flags = [
            flag(FAIL, f"{lid}: allows Principal '*' {','.join(v['actions'])} with no condition")
            for v in views
            if v["effect"] == "Allow" and "*" in v.get("principals", []) and not v["conditions"]
        ]
        exempt = exemptions(statements(p.get("PolicyDocument")), res, names, lid)
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": res["Type"].removeprefix("AWS::"),
                "on": on,
                "statements": views,
                "exemptions": exempt,
                "flags": flags,
            }
        )
    for lid, res in resources(template, "AWS::Lambda::Permission").items():
        p = props(res)
        view = {
            "sid": "",
            "effect": "Allow",
            "principals": [names.text(p.get("Principal"))],
            "actions": [str(p.get("Action"))],
            "resources": [names.text(p.get("FunctionName"))],
            "conditions": [
                c
                for c in (
                    f"SourceArn = {names.text(p['SourceArn'])}" if p.get("SourceArn") else "",
                    f"SourceAccount = {names.text(p['SourceAccount'])}" if p.get("SourceAccount") else "",
                )
                if c
            ],
        }
        flags = (
            [flag(FAIL, f"{lid}: any principal may invoke {view['resources'][0]}")]
            if view["principals"] == ["*"]
            else []
        )
        if not view["conditions"] and view["principals"] != ["*"] and view["principals"][0].endswith(".amazonaws.com"):
            flags.append(flag(FAIL, f"{lid}: {view['principals'][0]} may invoke {view['resources'][0]} for any source"))
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": "Lambda::Permission",
                "on": view["resources"][0],
                "statements": [view],
                "flags": flags,
            }
        )
    for lid, res in resources(template, "AWS::Lambda::Url").items():
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": "Lambda::Url",
                "on": names.text(props(res).get("TargetFunctionArn")),
                "statements": [],
                "flags": [flag(FAIL, f"{lid}: function URL (auth {props(res).get('AuthType')})")],
            }
        )
    return out
