"""Template assertions for /work/shared/security-checklist.md, one function per property.

Every check is a pure function ``check(template, stage) -> list[str]`` over one synthesized CloudFormation
template (a dict) and the stage name it belongs to. It returns one human-readable line per violation; an
empty list means compliant. Checks look at resource *types*, never at logical ids we happen to use today, so
they keep holding as stacks grow: a property about a resource type the template does not contain passes
vacuously, and bites as soon as such a resource appears.

Cross-stack references (``Fn::ImportValue``) are accepted where the checklist says "in the stack" and the
value is a CDK-generated export of the foundation stack (subnets, keys, roles); a literal id or ARN that
cannot be traced is not.

One module per theme (``buckets``, ``keys``, ``iam``, ``lambdas``, ``workflow``, ``network``,
``topics_queues_tables``) over the helpers in ``template``; ``CHECKS`` below is the one registry, in checklist
order, that the gates' tests, the audit report and ``run_all`` iterate.
"""

from __future__ import annotations

from collections.abc import Iterable

from tuneforge_audit.checklist.buckets import (
    check_01_bucket_encryption,
    check_02_bucket_public_access,
    check_03_bucket_tls_only,
    check_04_bucket_vpce_perimeter,
    check_05_bucket_durability,
)
from tuneforge_audit.checklist.iam import (
    check_08_bedrock_trust,
    check_09_pass_role,
    check_10_bedrock_actions,
    check_11_managed_policies_and_star_resources,
    check_12_bedrock_role_scope,
    check_26_model_deletes_by_tag,
    check_28_bedrock_changes_by_tag,
)
from tuneforge_audit.checklist.keys import (
    check_06_kms_keys,
    check_07_kms_service_conditions,
    check_29_key_decrypts_data_for_the_stage_only,
)
from tuneforge_audit.checklist.lambdas import (
    check_13_lambda_in_vpc,
    check_14_lambda_runtime_settings,
    check_15_lambda_environment,
    check_16_lambda_log_groups,
    check_17_lambda_exposure,
)
from tuneforge_audit.checklist.network import (
    check_21_vpc_baseline,
    check_22_vpc_endpoints,
    check_23_security_groups,
    check_27_dns_egress,
)
from tuneforge_audit.checklist.template import Check, Template
from tuneforge_audit.checklist.topics_queues_tables import check_24_topics_queues_tables
from tuneforge_audit.checklist.workflow import (
    check_18_state_machine_settings,
    check_19_state_machine_definition,
    check_20_s3_event_rules,
)

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
