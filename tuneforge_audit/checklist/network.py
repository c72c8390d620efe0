"""Checklist properties 21, 22, 23 and 27: VPC baseline, endpoints, security groups, DNS egress."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tuneforge_audit.checklist.template import (
    Template,
    as_list,
    condition_keys,
    key_reference_ok,
    own_lambdas,
    props,
    referenced_ids,
    render,
    resources,
    statements,
    target,
)


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
    for handler in set(lambdas) & {
        target(props(c).get("ServiceToken")) for c in resources(template, "Custom::VpcRestrictDefaultSG").values()
    }:
        group = groups.get(target((props(lambdas[handler]).get("LoggingConfig") or {}).get("LogGroup")) or "")
        if (
            group is None
            or not props(group).get("RetentionInDays")
            or not key_reference_ok(template, props(group).get("KmsKeyId"))
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
                as_list(props(groups.get(group or "", {})).get("FirewallRules")),
                key=lambda r: int(r.get("Priority", 0)),
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
