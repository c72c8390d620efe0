"""Checklist property 24: SNS topics, SQS queues and DynamoDB tables."""

from __future__ import annotations

from tuneforge_audit.checklist.template import (
    RETAINING_STAGES,
    Template,
    as_list,
    condition_keys,
    denies_everyone,
    is_false,
    is_true,
    key_reference_ok,
    props,
    render,
    resources,
    statements,
    target,
)


def check_24_topics_queues_tables(template: Template, stage: str) -> list[str]:
    """24. Topics and queues under the CMK with TLS-only topic policies; tables with PITR, CMK, and TTL for idempotency."""
    out = []
    topic_statements: dict[str, list[dict]] = {}
    for policy in resources(template, "AWS::SNS::TopicPolicy").values():
        for topic in as_list(props(policy).get("Topics")):
            topic_statements.setdefault(target(topic) or "", []).extend(statements(props(policy).get("PolicyDocument")))
    for lid, topic in resources(template, "AWS::SNS::Topic").items():
        if not key_reference_ok(template, props(topic).get("KmsMasterKeyId")):
            out.append(f"{lid}: topic is not encrypted with a customer-managed key")
        tls = any(
            denies_everyone(s)
            and condition_keys(s).get("aws:securetransport", ("", []))[0] == "Bool"
            and all(is_false(v) for v in condition_keys(s)["aws:securetransport"][1])
            for s in topic_statements.get(lid, [])
        )
        if not tls:
            out.append(f"{lid}: no topic policy denying aws:SecureTransport=false")
    for lid, queue in resources(template, "AWS::SQS::Queue").items():
        if not key_reference_ok(template, props(queue).get("KmsMasterKeyId")):
            out.append(f"{lid}: queue is not encrypted with a customer-managed key")
    for lid, table in resources(template, "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable").items():
        p = props(table)
        pitr = (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
        if table["Type"] == "AWS::DynamoDB::GlobalTable":
            pitr = (
                all(
                    ((r.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"))
                    for r in as_list(p.get("Replicas"))
                )
                or None
            )
        if pitr is not True:
            out.append(f"{lid}: point-in-time recovery is not enabled")
        sse = p.get("SSESpecification") or {}
        if (
            not is_true(sse.get("SSEEnabled"))
            or sse.get("SSEType") != "KMS"
            or (table["Type"] == "AWS::DynamoDB::Table" and not key_reference_ok(template, sse.get("KMSMasterKeyId")))
        ):
            out.append(f"{lid}: not encrypted with a customer-managed key")
        if "idempot" in f"{lid} {render(p.get('TableName', ''))}".lower() and not (
            p.get("TimeToLiveSpecification") or {}
        ).get("Enabled"):
            out.append(f"{lid}: idempotency table without TTL")
        if stage in RETAINING_STAGES and table.get("DeletionPolicy") != "Retain":
            out.append(f"{lid}: DeletionPolicy is {table.get('DeletionPolicy')!r}; stage {stage} must retain tables")
    return out
