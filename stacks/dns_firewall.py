"""DNS egress control for the isolated VPC: Route 53 Resolver DNS Firewall and query logging.

The subnets have no route to the internet, but the Amazon-provided resolver answers any name, so a
function (or a customization job's worker) could still leak data in DNS queries. The firewall answers only
the names of the AWS APIs the stage reaches (``stacks/vpc_services.resolved_names``) and refuses every other
name with NXDOMAIN; every query, answered or refused, is logged to a KMS-encrypted log group.

Facts, read 2026-12-06:
* rule-group association priority "between 100 and 9900", lowest first; MutationProtection ENABLED forbids
  changing or removing the association:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-route53resolver-firewallrulegroupassociation.html
* a rule's Action ALLOW | BLOCK | ALERT, BlockResponse NODATA | NXDOMAIN | OVERRIDE, domain names with an optional
  leading ``*.`` wildcard:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-route53resolver-firewallrulegroup-firewallrule.html
* Resolver query logs are vended logs delivered by ``delivery.logs.amazonaws.com``; the log group's resource
  policy AWS would create grants it logs:CreateLogStream and logs:PutLogEvents with aws:SourceAccount and
  aws:SourceArn conditions, written here instead so it is reviewed with the stack:
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-CWL.html
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53resolver as resolver
from constructs import Construct

from stacks.config import StageConfig

ALLOW_PRIORITY = 100
BLOCK_PRIORITY = 200
ASSOCIATION_PRIORITY = 200  # inside 100..9900, leaving room for a platform team's own groups on either side


class DnsFirewall(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: StageConfig,
        vpc: ec2.IVpc,
        key: kms.IKey,
        allowed_names: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        allowed = resolver.CfnFirewallDomainList(
            self, "AllowedNames", name=f"tuneforge-{stage.name}-aws-apis", domains=allowed_names
        )
        everything = resolver.CfnFirewallDomainList(
            self, "EveryOtherName", name=f"tuneforge-{stage.name}-everything", domains=["*"]
        )
        self.rule_group = resolver.CfnFirewallRuleGroup(
            self,
            "Rules",
            name=f"tuneforge-{stage.name}-egress",
            firewall_rules=[
                resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                    action="ALLOW", priority=ALLOW_PRIORITY, firewall_domain_list_id=allowed.attr_id
                ),
                resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                    action="BLOCK",
                    block_response="NXDOMAIN",
                    priority=BLOCK_PRIORITY,
                    firewall_domain_list_id=everything.attr_id,
                ),
            ],
        )
        resolver.CfnFirewallRuleGroupAssociation(
            self,
            "Association",
            firewall_rule_group_id=self.rule_group.attr_id,
            vpc_id=vpc.vpc_id,
            priority=ASSOCIATION_PRIORITY,
            name=f"tuneforge-{stage.name}-egress",
            # A retained stage's filter cannot be switched off without first changing this stack; a dev stage
            # must still be deletable with the stack.
            mutation_protection="ENABLED" if stage.removal_policy == "retain" else "DISABLED",
        )

        self.query_log_group = logs.LogGroup(self, "QueryLogs", encryption_key=key, retention=stage.log_retention)
        # The log group's Arn attribute ends in ":*"; the destination and the policy name the group itself.
        group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.query_log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        query_logging = resolver.CfnResolverQueryLoggingConfig(
            self, "QueryLogging", name=f"tuneforge-{stage.name}-dns", destination_arn=group_arn
        )
        resolver.CfnResolverQueryLoggingConfigAssociation(
            self, "QueryLoggingAssociation", resolver_query_log_config_id=query_logging.attr_id, resource_id=vpc.vpc_id
        )
        delivery = logs.ResourcePolicy(
            self,
            "QueryLogDelivery",
            resource_policy_name=f"tuneforge-{stage.name}-dns-query-logs",
            policy_statements=[
                iam.PolicyStatement(
                    sid="ResolverQueryLogDeliveryForThisAccount",
                    principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{group_arn}:log-stream:*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"},
                    },
                )
            ],
        )
        # Delivery starts once the configuration exists; the policy must be there first or AWS writes its own.
        query_logging.node.add_dependency(delivery)
