"""One canonical line per security-relevant fact, by topic: what ``diff.diff_models`` compares."""

from __future__ import annotations

from tuneforge_audit.model.policies import statement_facts


def _role_facts(model: dict, f: dict[str, set[str]]) -> None:
    for role in model["roles"]:
        where = f"{role['stack']}/{role['id']}"
        f["roles"].add(where)
        for view in role["trust"]:
            f["trust"].update(statement_facts(f"{where} trust", view))
        if role["permissions_boundary"]:
            f["permissions"].add(f"{where}: permissions boundary {role['permissions_boundary']}")
        for managed in role["aws_managed_policies"]:
            f["permissions"].add(f"{where}: managed policy {managed['arn']}")
        for policy in role["policies"]:
            for view in policy["statements"]:
                f["permissions"].update(statement_facts(where, view))


def _storage_facts(model: dict, f: dict[str, set[str]]) -> None:
    for store in model["data_stores"]:
        f["encryption"].add(
            f"{store['stack']}/{store['id']} ({store['type']}): {store['encryption']}{' with ' + store['key'] if store['key'] else ''}"
        )
        f["retention"].add(
            f"{store['stack']}/{store['id']} ({store['type']}): {'; '.join(store['retention']) or '-'}; DeletionPolicy {store['deletion_policy']}"
        )
    for group in model["log_groups"]:
        f["encryption"].add(
            f"{group['stack']}/{group['id']} (Logs::LogGroup): {'KMS with ' + group['key'] if group['key'] else 'CloudWatch Logs service key'}"
        )
        f["retention"].add(
            f"{group['stack']}/{group['id']} (Logs::LogGroup): {group['retention_days'] or 'never expires'} days; DeletionPolicy {group['deletion_policy']}"
        )
    for key in model["keys"]:
        where = f"{key['stack']}/{key['id']}"
        f["keys"].add(f"{where}: rotation {'on' if key['rotation'] else 'off'}")
        for view in key["statements"]:
            f["keys"].update(statement_facts(f"{where} key policy", view))


def _network_facts(net: dict) -> set[str]:
    out: set[str] = set()
    for subnet in net["subnets"]:
        out.add(
            f"{subnet['stack']} subnet {subnet['id']} {subnet['cidr']} {subnet['type']}{' public IPs' if subnet['public_ip_on_launch'] else ''}"
        )
        out.update(f"{subnet['stack']} subnet {subnet['id']} route {route}" for route in subnet["routes"])
    for gateway in net["gateways"]:
        out.add(f"{gateway['stack']} {gateway['type']} {gateway['id']}")
    for ep in net["endpoints"]:
        where = f"{ep['stack']} endpoint {ep['service']} ({ep['type']}{', private DNS' if ep['private_dns'] else ''})"
        out.add(where)
        for view in ep["policy"]:
            out.update(statement_facts(f"{where} policy", view))
    for group in net["security_groups"]:
        for rule in group["rules"]:
            preposition = "from" if rule["direction"] == "ingress" else "to"
            out.add(
                f"{group['stack']}/{group['id']} {rule['direction']} {rule['protocol_ports']} {preposition} {rule['peer']}"
            )
    return out


def _exposure_facts(model: dict, f: dict[str, set[str]]) -> None:
    for policy in model["resource_policies"]:
        for view in policy["statements"]:
            f["resource policies"].update(
                statement_facts(f"{policy['stack']}/{policy['id']} ({policy['type']} on {policy['on']})", view)
            )
    for stack, lid, rule in model["acknowledged_resources"]:
        f["suppressions"].add(f"{stack}/{lid} nag {rule}")
    for skip in model["checkov_skips"]:
        f["suppressions"].add(f"{skip['stack']} checkov {skip['check']} on {skip['id']}")


FACT_TOPICS = (
    "roles",
    "trust",
    "permissions",
    "encryption",
    "retention",
    "keys",
    "network",
    "resource policies",
    "suppressions",
)


def facts(model: dict) -> dict[str, list[str]]:
    f: dict[str, set[str]] = {k: set() for k in FACT_TOPICS}
    _role_facts(model, f)
    _storage_facts(model, f)
    f["network"] = _network_facts(model["network"])
    _exposure_facts(model, f)
    return {k: sorted(v) for k, v in f.items()}
