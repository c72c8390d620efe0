"""Route 53 Resolver DNS Firewall and query logging, as the isolated VPC's resolver applies them.

moto's CloudFormation has no Route53Resolver resources, so a deployed stage's firewall would silently be
absent offline and every name would resolve. Here the five resource types the stage uses are CloudFormation
models of their own, kept in the emulator state, and every AWS call a caller inside a VPC makes first resolves
the host name the SDK would send it to in AWS (botocore's own endpoint rule set for the call, with the emulated
Region, not the emulator's endpoint URL). A name the VPC's firewall blocks fails the call as a client sees an
unresolvable host: ``EndpointConnectionError``. Each query of a VPC with query logging is journalled as
``dns.query`` (name, action, the rule that decided), what the query log would hold.

Matching, from https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-dns-firewall-rule-actions.html
and the rule-group pages (read 2026-12-06): rule groups of a VPC in association priority order, the rules of a
group in rule priority order, the first rule whose domain list matches decides (ALERT only logs and goes on);
a name no rule matches resolves. ``*`` matches every name, ``*.example.com`` the names below example.com.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.common_models import CloudFormationModel

from . import state

_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


@dataclass
class Resolver:
    domain_lists: dict[str, list[str]] = field(default_factory=dict)
    rule_groups: dict[str, list[dict]] = field(default_factory=dict)
    #: association id -> (vpc id, rule group id, priority)
    associations: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    query_log_configs: dict[str, str] = field(default_factory=dict)
    #: association id -> (vpc id, query log config id)
    query_logging: dict[str, tuple[str, str]] = field(default_factory=dict)


def resolver() -> Resolver:
    st = state.current()
    if st.resolver is None:
        st.resolver = Resolver()
    return st.resolver


def _matches(domain: str, name: str) -> bool:
    domain, name = domain.lower().rstrip("."), name.lower().rstrip(".")
    if domain == "*":
        return True
    if domain.startswith("*."):
        return name.endswith(domain[1:])
    return name == domain


@dataclass(frozen=True)
class Answer:
    resolves: bool
    action: str  # "ALLOW", "BLOCK" or "" (no rule matched)
    rule: str  # "<rule group id> priority <n>", or ""


def _decision(r: Resolver, vpc_id: str, name: str) -> Answer:
    for _priority, group in sorted(
        (priority, group) for vpc, group, priority in r.associations.values() if vpc == vpc_id
    ):
        for rule in sorted(r.rule_groups.get(group, []), key=lambda rule: int(rule["Priority"])):
            if rule["Action"] != "ALERT" and any(
                _matches(domain, name) for domain in r.domain_lists.get(rule.get("FirewallDomainListId", ""), [])
            ):
                return Answer(rule["Action"] == "ALLOW", rule["Action"], f"{group} priority {rule['Priority']}")
    return Answer(True, "", "")


def resolve(vpc_id: str, name: str) -> Answer:
    r = resolver()
    answer = _decision(r, vpc_id, name)
    if any(vpc == vpc_id for vpc, _config in r.query_logging.values()):
        state.current().note("dns.query", vpc=vpc_id, name=name, action=answer.action or "NONE", rule=answer.rule)
    return answer


def host_name(service_name: str, region: str, operation_name: str, params: dict) -> str:
    """The host the SDK would call in AWS for this operation, from botocore's endpoint rule set."""
    from urllib.parse import urlsplit

    import botocore.session
    from botocore.config import Config

    with _CLIENTS_LOCK:
        client = _CLIENTS.get((service_name, region))
        if client is None:
            client = botocore.session.get_session().create_client(
                service_name,
                region_name=region,
                aws_access_key_id="ASIAEMULATOR",
                aws_secret_access_key="emulated",
                aws_session_token="emulated",
                # In server mode the functions' environment names the emulator (AWS_ENDPOINT_URL); the question
                # is which AWS host the call would reach, so a configured endpoint URL must not answer it.
                config=Config(ignore_configured_endpoint_urls=True),
            )
            _CLIENTS[(service_name, region)] = client
    operation = client.meta.service_model.operation_model(operation_name)
    endpoint = client._ruleset_resolver.construct_endpoint(
        operation_model=operation, call_args=params, request_context={}
    )
    return urlsplit(endpoint.url).hostname or ""


# ---------------------------------------------------------------- CloudFormation models


class _Model:
    """What the five models share; each is a direct subclass of CloudFormationModel, which is how moto finds them."""

    TYPE = ""
    ATTRIBUTES: tuple[str, ...] = ("Id", "Arn")

    def __init__(self, region: str, account: str) -> None:
        self.id = f"rslvr-{self.TYPE.rsplit('::', 1)[-1].lower()[:8]}-{uuid.uuid4().hex[:17]}"
        self.arn = f"arn:aws:route53resolver:{region}:{account}:{self.TYPE.rsplit('::', 1)[-1].lower()}/{self.id}"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return {"Id": self.id, "Arn": self.arn}[attribute_name]

    @property
    def physical_resource_id(self) -> str:
        return self.id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        model = cls(region_name, account_id)
        model.record(cloudformation_json.get("Properties") or {})
        return model

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        r = resolver()
        for table in (r.domain_lists, r.rule_groups, r.associations, r.query_log_configs, r.query_logging):
            table.pop(resource_name, None)

    def record(self, properties: dict) -> None:
        raise NotImplementedError


class FirewallDomainList(_Model, CloudFormationModel):
    TYPE = "AWS::Route53Resolver::FirewallDomainList"

    def record(self, properties: dict) -> None:
        resolver().domain_lists[self.id] = [str(d) for d in properties.get("Domains") or []]


class FirewallRuleGroup(_Model, CloudFormationModel):
    TYPE = "AWS::Route53Resolver::FirewallRuleGroup"

    def record(self, properties: dict) -> None:
        resolver().rule_groups[self.id] = [dict(rule) for rule in properties.get("FirewallRules") or []]


class FirewallRuleGroupAssociation(_Model, CloudFormationModel):
    TYPE = "AWS::Route53Resolver::FirewallRuleGroupAssociation"

    def record(self, properties: dict) -> None:
        priority = int(properties["Priority"])
        if not 100 <= priority <= 9900:
            raise ValueError(f"FirewallRuleGroupAssociation Priority {priority} is outside 100..9900")
        resolver().associations[self.id] = (properties["VpcId"], properties["FirewallRuleGroupId"], priority)


class ResolverQueryLoggingConfig(_Model, CloudFormationModel):
    TYPE = "AWS::Route53Resolver::ResolverQueryLoggingConfig"

    def record(self, properties: dict) -> None:
        resolver().query_log_configs[self.id] = str(properties.get("DestinationArn") or "")


class ResolverQueryLoggingConfigAssociation(_Model, CloudFormationModel):
    TYPE = "AWS::Route53Resolver::ResolverQueryLoggingConfigAssociation"
    ATTRIBUTES = ("Id",)

    def record(self, properties: dict) -> None:
        resolver().query_logging[self.id] = (properties["ResourceId"], properties["ResolverQueryLogConfigId"])


_APPLIED = False


def apply() -> None:
    """Make moto's CloudFormation know the models above (its type map is built once, from the subclasses)."""
    global _APPLIED
    if _APPLIED:
        return
    from moto.cloudformation import parsing

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    _APPLIED = True
