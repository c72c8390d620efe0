"""The network of a stack: VPCs, subnets with their routes, gateways, endpoints, security groups, NACLs."""

from __future__ import annotations

import re

from tuneforge_audit.checklist.template import (
    as_list,
    props,
    resources,
    statements,
    target,
)
from tuneforge_audit.model.policies import FAIL, REVIEW, Names, flag, statement_view

OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def _ports(rule: dict) -> str:
    protocol = str(rule.get("IpProtocol", ""))
    if protocol == "-1":
        return "all traffic"
    start, end = rule.get("FromPort"), rule.get("ToPort")
    ports = "" if start is None else (f" {start}" if start == end else f" {start}-{end}")
    return f"{protocol}{ports}"


def _peer(rule: dict, names: Names, kind: str) -> str:
    for key in ("CidrIp", "CidrIpv6"):
        if rule.get(key):
            return str(rule[key])
    for key in ("SourceSecurityGroupId", "DestinationSecurityGroupId", "SourcePrefixListId", "DestinationPrefixListId"):
        if rule.get(key):
            return ("security group " if "SecurityGroup" in key else "prefix list ") + names.text(rule[key])
    return "?"


def _vpcs(stack: str, template: dict, names: Names) -> list[dict]:
    vpcs = []
    flow_logged = {target(props(f).get("ResourceId")) for f in resources(template, "AWS::EC2::FlowLog").values()}
    restricted = {
        target(props(c).get("DefaultSecurityGroupId"))
        for c in resources(template, "Custom::VpcRestrictDefaultSG").values()
    }
    for lid, vpc in resources(template, "AWS::EC2::VPC").items():
        flags = []
        if lid not in flow_logged:
            flags.append(flag(FAIL, f"{lid}: no flow log"))
        if lid not in restricted:
            flags.append(flag(FAIL, f"{lid}: default security group not closed"))
        vpcs.append(
            {
                "stack": stack,
                "id": lid,
                "cidr": names.text(props(vpc).get("CidrBlock", "")),
                "flow_logs": lid in flow_logged,
                "default_sg_closed": lid in restricted,
                "flags": flags,
            }
        )
    return vpcs


ROUTE_TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "InstanceId",
    "NetworkInterfaceId",
    "EgressOnlyInternetGatewayId",
    "VpcEndpointId",
    "CarrierGatewayId",
    "LocalGatewayId",
)


# Keyed by str | None: a subnet association whose RouteTableId is no reference (target None) looks up None.
Tables = dict[str | None, list[str]]
RouteFlags = dict[str | None, list[dict]]


def _route_tables(template: dict, names: Names) -> tuple[Tables, RouteFlags]:
    """Route table -> its routes as "destination -> target" (gateway endpoints' prefix lists included), and
    route table -> fail flags for a default route."""
    tables: Tables = {lid: [] for lid in resources(template, "AWS::EC2::RouteTable")}
    route_flags: RouteFlags = {}
    for route in resources(template, "AWS::EC2::Route").values():
        p = props(route)
        destination = (
            p.get("DestinationCidrBlock")
            or p.get("DestinationIpv6CidrBlock")
            or names.text(p.get("DestinationPrefixListId", "?"))
        )
        via_key = next((k for k in ROUTE_TARGETS if p.get(k)), None)
        via = f"{via_key.removesuffix('Id')} {names.text(p[via_key])}" if via_key else "?"
        table = target(p.get("RouteTableId")) or names.text(p.get("RouteTableId"))
        tables.setdefault(table, []).append(f"{destination} -> {via}")
        if destination in OPEN_CIDRS:
            route_flags.setdefault(table, []).append(flag(FAIL, f"{table}: default route {destination} -> {via}"))
    for lid, ep in resources(template, "AWS::EC2::VPCEndpoint").items():
        if props(ep).get("VpcEndpointType") == "Gateway":
            for table in as_list(props(ep).get("RouteTableIds")):
                tables.setdefault(target(table) or names.text(table), []).append(
                    f"prefix list of {names.text(props(ep).get('ServiceName'))} -> VPCEndpoint {lid}"
                )
    return tables, route_flags


def _subnets(stack: str, template: dict, names: Names) -> list[dict]:
    tables, route_flags = _route_tables(template, names)
    associations = {
        target(props(a).get("SubnetId")): target(props(a).get("RouteTableId"))
        for a in resources(template, "AWS::EC2::SubnetRouteTableAssociation").values()
    }
    subnets = []
    for lid, subnet in resources(template, "AWS::EC2::Subnet").items():
        p = props(subnet)
        tags = {t.get("Key"): t.get("Value") for t in as_list(p.get("Tags"))}
        table = associations.get(lid, "")
        flags = list(route_flags.get(table, []))
        if p.get("MapPublicIpOnLaunch") is True:
            flags.append(flag(FAIL, f"{lid}: MapPublicIpOnLaunch is true"))
        subnets.append(
            {
                "stack": stack,
                "id": lid,
                "cidr": names.text(p.get("CidrBlock", "")),
                "az": names.text(p.get("AvailabilityZone", "")),
                "type": tags.get("aws-cdk:subnet-type", ""),
                "public_ip_on_launch": p.get("MapPublicIpOnLaunch") is True,
                "route_table": table,
                "routes": ["local"] + sorted(tables.get(table, [])),
                "flags": flags,
            }
        )
    return subnets


def _gateways(stack: str, template: dict) -> list[dict]:
    return [
        {
            "stack": stack,
            "id": lid,
            "type": res["Type"].removeprefix("AWS::EC2::"),
            "flags": [flag(FAIL, f"{lid}: {res['Type']} connects the VPC beyond its endpoints")],
        }
        for lid, res in resources(
            template,
            "AWS::EC2::InternetGateway",
            "AWS::EC2::NatGateway",
            "AWS::EC2::EgressOnlyInternetGateway",
            "AWS::EC2::TransitGatewayAttachment",
            "AWS::EC2::VPCPeeringConnection",
            "AWS::EC2::VPNGateway",
        ).items()
    ]


def _endpoint_statement_flags(lid: str, view: dict) -> list[dict]:
    if view["effect"] != "Allow" or ("*" not in view["actions"] and "*" not in view["resources"]):
        return []
    if view["conditions"]:
        return [
            flag(
                REVIEW,
                f"{lid}: endpoint policy allows {','.join(view['actions'])} on {','.join(view['resources'])} when {' and '.join(view['conditions'])}",
            )
        ]
    if "*" in view.get("principals", ["*"]):
        return [flag(FAIL, f"{lid}: endpoint policy allows any principal any action")]
    return []


def _endpoints(stack: str, template: dict, names: Names) -> list[dict]:
    endpoints = []
    for lid, ep in resources(template, "AWS::EC2::VPCEndpoint").items():
        p = props(ep)
        document = p.get("PolicyDocument")
        flags = [] if document else [flag(FAIL, f"{lid}: no endpoint policy (full access for any principal)")]
        views = [statement_view(s, names) for s in statements(document)]
        for view in views:
            flags += _endpoint_statement_flags(lid, view)
        endpoints.append(
            {
                "stack": stack,
                "id": lid,
                "service": names.text(p.get("ServiceName", "")),
                "type": p.get("VpcEndpointType", "Gateway"),
                "private_dns": p.get("PrivateDnsEnabled") is True,
                "security_groups": sorted(names.text(g) for g in as_list(p.get("SecurityGroupIds"))),
                "subnets": len(as_list(p.get("SubnetIds"))),
                "route_tables": len(as_list(p.get("RouteTableIds"))),
                "policy": views,
                "flags": flags,
            }
        )
    return endpoints


def _group_rules(template: dict, names: Names, kind: str) -> list[tuple[str, str, dict]]:
    """(rule id, owning group, rule) of every ``kind`` ("Ingress" / "Egress") rule: inline ones first."""
    rules: list[tuple[str, str, dict]] = []
    for lid, sg in resources(template, "AWS::EC2::SecurityGroup").items():
        rules += [
            (f"{lid}[{kind.lower()} {i}]", lid, rule)
            for i, rule in enumerate(as_list(props(sg).get(f"SecurityGroup{kind}")))
        ]
    rules += [
        (lid, target(props(rule).get("GroupId")) or names.text(props(rule).get("GroupId")), props(rule))
        for lid, rule in resources(template, f"AWS::EC2::SecurityGroup{kind}").items()
    ]
    return rules


def _rule_view(rule_id: str, rule: dict, names: Names, kind: str) -> dict:
    peer = _peer(rule, names, kind)
    flags = []
    if rule.get("CidrIp") == "255.255.255.255/32" and str(rule.get("IpProtocol")) == "icmp":
        description = f"{rule.get('Description', '')} (CDK's placeholder for no egress)".strip()
    else:
        description = rule.get("Description", "")
        if kind == "Ingress" and peer in OPEN_CIDRS:
            flags.append(flag(FAIL, f"{rule_id}: ingress {_ports(rule)} from {peer} (anywhere)"))
        elif kind == "Egress" and peer in OPEN_CIDRS:
            flags.append(flag(REVIEW, f"{rule_id}: egress {_ports(rule)} to {peer} (anywhere the routes lead)"))
    return {
        "id": rule_id,
        "direction": kind.lower(),
        "protocol_ports": _ports(rule),
        "peer": peer,
        "description": description,
        "flags": flags,
    }


def _security_groups(stack: str, template: dict, names: Names) -> list[dict]:
    groups = [
        {"stack": stack, "id": lid, "description": props(sg).get("GroupDescription", ""), "rules": [], "flags": []}
        for lid, sg in resources(template, "AWS::EC2::SecurityGroup").items()
    ]
    by_id = {g["id"]: g for g in groups}
    for kind in ("Ingress", "Egress"):
        for rule_id, owner, rule in _group_rules(template, names, kind):
            group = by_id.get(owner)
            if group is None:
                group = {
                    "stack": stack,
                    "id": owner,
                    "description": "(group of another stack)",
                    "rules": [],
                    "flags": [],
                }
                by_id[owner] = group
                groups.append(group)
            group["rules"].append(_rule_view(rule_id, rule, names, kind))
    for group in groups:
        if not str(group["description"]).strip() or re.fullmatch(r"[\w.:-]+(/[\w.:-]+)+", str(group["description"])):
            group["flags"].append(flag(FAIL, f"{group['id']}: security group has no description of its own"))
    return groups


def _nacl_entries(stack: str, template: dict) -> list[dict]:
    return [
        {
            "stack": stack,
            "id": lid,
            "rule": f"{'egress' if props(e).get('Egress') else 'ingress'} {props(e).get('RuleAction')} {props(e).get('CidrBlock') or props(e).get('Ipv6CidrBlock')} protocol {props(e).get('Protocol')}",
        }
        for lid, e in resources(template, "AWS::EC2::NetworkAclEntry").items()
    ]


def network(stack: str, template: dict, names: Names) -> dict:
    return {
        "vpcs": _vpcs(stack, template, names),
        "subnets": _subnets(stack, template, names),
        "gateways": _gateways(stack, template),
        "endpoints": _endpoints(stack, template, names),
        "security_groups": _security_groups(stack, template, names),
        "network_acl_entries": _nacl_entries(stack, template),
    }
