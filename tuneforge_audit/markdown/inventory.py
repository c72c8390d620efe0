"""The sections on what the stacks hold: IAM roles, data stores, log groups, KMS keys, network exposure and
resource policies."""

from __future__ import annotations

from tuneforge_audit.markdown.cells import MARK, by_stack, code, esc, marks, table
from tuneforge_audit.model import FAIL, REVIEW


def _statement_rows(statements: list[dict], with_principals: bool = False) -> list[list]:
    rows = []
    for s in statements:
        flagged = {w["value"]: marks(w["flags"]) for w in s.get("wildcards", [])}
        acts = [f"{flagged.get(a, '')} {a}".strip() for a in s.get("actions", [])] + [
            f"NOT {a}" for a in s.get("not_actions", [])
        ]
        res = [f"{flagged.get(r, '')} {r}".strip() for r in s.get("resources", [])] + [
            f"NOT {r}" for r in s.get("not_resources", [])
        ]
        row = [s.get("sid") or "–", s["effect"]]
        if with_principals:
            row.append(s.get("principals", []) or "–")
        rows.append([*row, acts, res, s.get("conditions") or "–"])
    return rows


def iam_roles(model: dict) -> list[str]:
    lines = [
        "## IAM roles",
        "",
        "Every role: who may assume it (trust policy with conditions), every action on every resource per statement, "
        "permissions boundary, and each wildcard with the reason on record (nag acknowledgement of that finding, else the checkov skip comment on that policy).",
        "",
    ]
    for stack, items in by_stack(model["roles"]).items():
        lines += [f"### {stack}", ""]
        lines += table(
            ["Role", "Assumed by", "Used by", "Boundary", "Policies", "Wildcards"],
            [
                [
                    f"{marks(r['flags'] + [f for p in r['policies'] for s in p['statements'] for w in s['wildcards'] for f in w['flags']])} {code(r['id'])}".strip(),
                    r["assumed_by"],
                    r["used_by"] or "–",
                    r["permissions_boundary"] or "none",
                    [f"{p['name']} ({p['kind']})" for p in r["policies"]]
                    + [m["arn"] for m in r["aws_managed_policies"]],
                    sum(len(s["wildcards"]) for p in r["policies"] for s in p["statements"]),
                ]
                for r in items
            ],
        )
        for r in items:
            lines += [f"#### {marks(r['flags'])} `{r['id']}`".replace("####  ", "#### "), ""]
            if r["description"]:
                lines += [f"_{r['description']}_", ""]
            lines += [
                f"- Permissions boundary: {esc(r['permissions_boundary'] or 'none')}",
                f"- Used by: {esc(', '.join(r['used_by']) or '–')}",
            ]
            lines += [
                f"- {MARK[REVIEW]} AWS managed policy `{m['arn']}` (its statements are not in the template)"
                for m in r["aws_managed_policies"]
            ]
            lines += [f"- {MARK[f['level']]} {esc(f['message'])}" for f in r["flags"]] + [""]
            lines += ["Trust policy:", ""] + table(
                ["Sid", "Effect", "Principals", "Actions", "Resources", "Conditions"],
                _statement_rows(r["trust"], with_principals=True),
            )
            for p in r["policies"]:
                lines += [f"Policy `{p['name']}` ({p['kind']}):", ""] + table(
                    ["Sid", "Effect", "Actions", "Resources", "Conditions"], _statement_rows(p["statements"])
                )
                found = [(s, w) for s in p["statements"] for w in s["wildcards"]]
                if found:
                    lines += table(
                        ["", "Sid", "Wildcard", "Reason on record", "Source"],
                        [
                            [
                                marks(w["flags"]),
                                s.get("sid") or "–",
                                f"{w['kind']} {w['value']}",
                                w["reason"] or "**no reason on record**",
                                w["source"] or "–",
                            ]
                            for s, w in found
                        ],
                    )
    return lines


def stores(model: dict) -> list[str]:
    lines = [
        "## Data stores",
        "",
        "Buckets, tables, queues, topics, state machines (execution data) and parameters: encryption key and retention.",
        "",
    ]
    lines += table(
        ["", "Stack", "Store", "Type", "Name", "Encryption", "Key", "Retention", "DeletionPolicy", "Notes"],
        [
            [
                marks(d["flags"]),
                d["stack"],
                code(d["id"]),
                d["type"],
                d["name"] or "–",
                d["encryption"],
                d["key"] or "–",
                d["retention"] or "–",
                d["deletion_policy"],
                d["notes"] + [f"{MARK[f['level']]} {f['message']}" for f in d["flags"]] or "–",
            ]
            for d in model["data_stores"]
        ],
    )
    return lines


def logs(model: dict) -> list[str]:
    lines = ["## Log groups", ""]
    lines += table(
        ["", "Stack", "Log group", "Key", "Retention (days)", "DeletionPolicy", "Written by", "Flags"],
        [
            [
                marks(g["flags"]),
                g["stack"],
                code(g["id"]),
                g["key"] or "CloudWatch Logs service key",
                g["retention_days"] or "never expires",
                g["deletion_policy"],
                g["written_by"] or "–",
                [f"{MARK[f['level']]} {f['message']}" for f in g["flags"]] or "–",
            ]
            for g in model["log_groups"]
        ],
    )
    return lines


def kms(model: dict) -> list[str]:
    lines = ["## KMS keys", ""]
    for k in model["keys"]:
        all_flags = k["flags"] + [f for s in k["statements"] for f in s["flags"]]
        lines += [
            f"### {marks(all_flags)} `{k['stack']}:{k['id']}`".replace("###  ", "### "),
            "",
            f"{k['description'] or '–'}. Rotation {'on' if k['rotation'] else '**off**'}; DeletionPolicy {k['deletion_policy']}; pending window {k['pending_window_days']} days.",
            "",
        ]
        lines += [f"- {MARK[f['level']]} {esc(f['message'])}" for f in all_flags] + ([""] if all_flags else [])
        lines += table(
            ["Sid", "Effect", "Principals", "Actions", "Resources", "Conditions"],
            _statement_rows(k["statements"], with_principals=True),
        )
    return lines


def net(model: dict) -> list[str]:
    n = model["network"]
    lines = ["## Network exposure", "", "### VPCs", ""]
    lines += table(
        ["", "Stack", "VPC", "CIDR", "Flow logs", "Default SG closed"],
        [
            [marks(v["flags"]), v["stack"], code(v["id"]), v["cidr"], v["flow_logs"], v["default_sg_closed"]]
            for v in n["vpcs"]
        ],
    )
    lines += ["### Subnets and routes", ""]
    lines += table(
        ["", "Stack", "Subnet", "CIDR", "AZ", "Type", "Public IP on launch", "Routes"],
        [
            [
                marks(s["flags"]),
                s["stack"],
                code(s["id"]),
                s["cidr"],
                s["az"],
                s["type"] or "–",
                s["public_ip_on_launch"],
                s["routes"],
            ]
            for s in n["subnets"]
        ],
    )
    lines += ["### Gateways", ""]
    lines += (
        table(
            ["", "Stack", "Gateway", "Type"],
            [[marks(g["flags"]), g["stack"], code(g["id"]), g["type"]] for g in n["gateways"]],
        )
        if n["gateways"]
        else [
            "None: no internet, NAT, transit or peering gateway; the subnets reach AWS only through the endpoints below.",
            "",
        ]
    )
    lines += ["### VPC endpoints", ""]
    lines += table(
        [
            "",
            "Stack",
            "Endpoint",
            "Service",
            "Type",
            "Private DNS",
            "Security groups",
            "Policy (effect principals actions on resources when conditions)",
        ],
        [
            [
                marks(e["flags"]),
                e["stack"],
                code(e["id"]),
                e["service"],
                e["type"],
                e["private_dns"] if e["type"] == "Interface" else "–",
                e["security_groups"] or "–",
                [
                    f"{s['effect']} {','.join(s.get('principals', []))} {','.join(s['actions'])} on {', '.join(s['resources'])}"
                    + (f" when {' and '.join(s['conditions'])}" if s["conditions"] else "")
                    for s in e["policy"]
                ]
                or f"{MARK[FAIL]} no policy",
            ]
            for e in n["endpoints"]
        ],
    )
    lines += ["### Security-group rules", ""]
    lines += table(
        ["", "Stack", "Group", "Direction", "Protocol / ports", "Peer", "Rule", "Description"],
        [
            [
                marks(r["flags"] + g["flags"]),
                g["stack"],
                code(g["id"]),
                r["direction"],
                r["protocol_ports"],
                r["peer"],
                code(r["id"]),
                r["description"] or "–",
            ]
            for g in n["security_groups"]
            for r in g["rules"]
            or [
                {"id": "", "direction": "–", "protocol_ports": "–", "peer": "–", "description": "no rules", "flags": []}
            ]
        ],
    )
    flagged = [f for g in n["security_groups"] for f in g["flags"] + [f for r in g["rules"] for f in r["flags"]]]
    lines += [f"- {MARK[f['level']]} {esc(f['message'])}" for f in flagged] + ([""] if flagged else [])
    if n["network_acl_entries"]:
        lines += ["### Network ACL entries", ""] + table(
            ["Stack", "Entry", "Rule"], [[e["stack"], code(e["id"]), e["rule"]] for e in n["network_acl_entries"]]
        )
    return lines


def resource_policies(model: dict) -> list[str]:
    lines = [
        "## Resource policies",
        "",
        "Who else may reach a resource: bucket, queue and topic policies, Lambda invoke permissions, function URLs.",
        "",
    ]
    rows = []
    for p in model["resource_policies"]:
        for s in p["statements"] or [
            {"sid": "", "effect": "–", "principals": [], "actions": [], "resources": [], "conditions": []}
        ]:
            rows.append(
                [
                    marks(
                        p["flags"]
                        + [f for e in p.get("exemptions", []) if e["sid"] == s.get("sid") for f in e["flags"]]
                    ),
                    p["stack"],
                    f"{code(p['id'])} ({p['type']})",
                    s.get("sid") or "–",
                    s["effect"],
                    s.get("principals") or "–",
                    s["actions"] or "–",
                    s["resources"] or "–",
                    s["conditions"] or "–",
                ]
            )
    lines += table(["", "Stack", "Policy", "Sid", "Effect", "Principals", "Actions", "Resources", "Conditions"], rows)
    exempt = [(p, e) for p in model["resource_policies"] for e in p.get("exemptions", [])]
    lines += [
        f"### Exemptions from denies ({len(exempt)})",
        "",
        "Principals a Deny statement leaves out (a negated `aws:PrincipalArn` condition), each with the reason written for it.",
        "",
    ]
    lines += table(
        ["", "Stack", "Policy", "Deny", "Exempt principal", "Reason on record"],
        [
            [
                marks(e["flags"]),
                p["stack"],
                code(p["id"]),
                e["sid"],
                e["principal"],
                e["reason"] or "**no reason on record**",
            ]
            for p, e in exempt
        ],
    )
    return lines
