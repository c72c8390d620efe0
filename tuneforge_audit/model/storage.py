"""Where data rests: buckets, tables, queues, topics, state machines and parameters (encryption, retention,
notes) and the log groups."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tuneforge_audit.checklist.template import (
    as_list,
    props,
    referenced_ids,
    resources,
)
from tuneforge_audit.model.policies import FAIL, REVIEW, Names, acknowledgements_on, flag


def _days(seconds: Any) -> str:
    try:
        return f"{int(seconds) / 86400:g} days"
    except (TypeError, ValueError):
        return str(seconds)


def _lifecycle(p: dict) -> list[str]:
    out = []
    for rule in as_list((p.get("LifecycleConfiguration") or {}).get("Rules")):
        if rule.get("Status") != "Enabled":
            continue
        where = f" under {rule['Prefix']}" if rule.get("Prefix") else ""
        if rule.get("ExpirationInDays"):
            out.append(f"objects expire after {rule['ExpirationInDays']} days{where}")
        if (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"):
            out.append(
                f"noncurrent versions expire after {rule['NoncurrentVersionExpiration']['NoncurrentDays']} days{where}"
            )
    return out


def _encryption_ack(resource: dict) -> tuple[str, str] | None:
    """A nag acknowledgement or checkov comment on the resource about its encryption."""
    for rule, reason in sorted(acknowledgements_on(resource).items()):
        if re.search(r"encrypt|kms|SSE", rule, re.I) and reason:
            return f"cdk-nag {rule}", reason
    return None


# What each kind of store says about itself: (key, encryption, retention, notes).
Description = tuple[str, str, list[str], list[str]]


def _bucket(stack: str, p: dict, names: Names) -> Description:
    rule = (as_list((p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")) or [{}])[0]
    default = rule.get("ServerSideEncryptionByDefault") or {}
    algorithm = default.get("SSEAlgorithm")
    key = names.key(stack, default.get("KMSMasterKeyID"))
    if algorithm in ("aws:kms", "aws:kms:dsse"):
        encryption = f"SSE-KMS ({algorithm}){', bucket key' if rule.get('BucketKeyEnabled') else ''}" + (
            "" if key else ", AWS managed key aws/s3"
        )
    elif algorithm == "AES256":
        encryption = "SSE-S3 (S3-managed keys)"
    else:
        encryption = "none configured"
    retention = _lifecycle(p)
    retention.append(f"versioning {(p.get('VersioningConfiguration') or {}).get('Status', 'off').lower()}")
    notes = []
    if (p.get("LoggingConfiguration") or {}).get("DestinationBucketName"):
        notes.append(f"access logs to {names.text(p['LoggingConfiguration']['DestinationBucketName'])}")
    block = p.get("PublicAccessBlockConfiguration") or {}
    if not all(
        block.get(k) is True
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    ):
        notes.append("public access NOT fully blocked")
    return key, encryption, retention, notes


def _table(stack: str, p: dict, names: Names) -> Description:
    sse = p.get("SSESpecification") or {}
    key = names.key(stack, sse.get("KMSMasterKeyId"))
    if str(sse.get("SSEEnabled")).lower() == "true":
        encryption = "KMS" + ("" if key else ", AWS managed key aws/dynamodb")
    else:
        encryption = "AWS owned key (default)"
    pitr = (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    retention = ["point-in-time recovery on" if pitr else "point-in-time recovery off"]
    ttl = p.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled"):
        retention.append(f"items expire by TTL attribute {ttl.get('AttributeName')}")
    return key, encryption, retention, []


def _queue(stack: str, p: dict, names: Names) -> Description:
    key = names.key(stack, p.get("KmsMasterKeyId"))
    encryption = (
        "SSE-KMS" if key else ("SSE-SQS (SQS-managed keys)" if p.get("SqsManagedSseEnabled") else "none configured")
    )
    return key, encryption, [f"messages kept {_days(p.get('MessageRetentionPeriod', 345600))}"], []


def _topic(stack: str, p: dict, names: Names) -> Description:
    key = names.key(stack, p.get("KmsMasterKeyId"))
    return key, "SSE-KMS" if key else "none", ["not stored (delivered to subscribers)"], []


def _state_machine(stack: str, p: dict, names: Names) -> Description:
    enc = p.get("EncryptionConfiguration") or {}
    key = names.key(stack, enc.get("KmsKeyId"))
    return key, enc.get("Type", "AWS owned key (default)"), ["execution history kept 90 days by the service"], []


def _parameter(stack: str, p: dict, names: Names) -> Description:
    encryption = "none (String parameter)" if p.get("Type", "String") != "SecureString" else "SecureString"
    return "", encryption, [], [f"name {names.text(p.get('Name', ''))}"]


DESCRIBE: dict[str, Callable[[str, dict, Names], Description]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::DynamoDB::Table": _table,
    "AWS::DynamoDB::GlobalTable": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::SSM::Parameter": _parameter,
}


def _store_flags(lid: str, res: dict, cmk: bool, encryption: str, notes: list[str]) -> list[dict]:
    t = res["Type"]
    flags = []
    if t == "AWS::SSM::Parameter":
        flags.append(
            flag(
                REVIEW,
                f"{lid}: plain String parameter, not encrypted: it must hold configuration only, never data or secrets",
            )
        )
    elif not cmk:
        explained = _encryption_ack(res)
        if explained:
            flags.append(
                flag(REVIEW, f"{lid}: {encryption}, not a customer-managed key: {explained[1]} ({explained[0]})")
            )
        else:
            flags.append(
                flag(
                    FAIL,
                    f"{lid}: {t.removeprefix('AWS::')} is not encrypted with a customer-managed key ({encryption})",
                )
            )
    if "public access NOT fully blocked" in notes:
        flags.append(flag(FAIL, f"{lid}: public access is not fully blocked"))
    return flags


def data_stores(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    for lid, res in template.get("Resources", {}).items():
        t, p = res.get("Type"), props(res)
        if t not in DESCRIBE:
            continue
        key, encryption, retention, notes = DESCRIBE[t](stack, p, names)
        cmk = bool(key) and names.is_cmk(stack, _raw_key(t, p))
        out.append(
            {
                "stack": stack,
                "id": lid,
                "type": t.removeprefix("AWS::"),
                "name": names.text(
                    p.get("BucketName")
                    or p.get("TableName")
                    or p.get("QueueName")
                    or p.get("TopicName")
                    or p.get("StateMachineName")
                    or p.get("Name")
                    or ""
                ),
                "encryption": encryption,
                "key": key,
                "retention": retention,
                "deletion_policy": res.get("DeletionPolicy", "Delete"),
                "notes": notes,
                "flags": _store_flags(lid, res, cmk, encryption, notes),
            }
        )
    return out


def _raw_key(t: str, p: dict) -> Any:
    if t == "AWS::S3::Bucket":
        rule = (as_list((p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")) or [{}])[0]
        return (rule.get("ServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID")
    if t.startswith("AWS::DynamoDB::"):
        return (p.get("SSESpecification") or {}).get("KMSMasterKeyId")
    if t == "AWS::StepFunctions::StateMachine":
        return (p.get("EncryptionConfiguration") or {}).get("KmsKeyId")
    return p.get("KmsMasterKeyId")


def log_groups(stack: str, template: dict, names: Names) -> list[dict]:
    out = []
    for lid, res in resources(template, "AWS::Logs::LogGroup").items():
        p = props(res)
        key = names.key(stack, p.get("KmsKeyId"))
        flags = []
        if not names.is_cmk(stack, p.get("KmsKeyId")):
            flags.append(flag(FAIL, f"{lid}: log group is not encrypted with a customer-managed key"))
        if not p.get("RetentionInDays"):
            flags.append(flag(FAIL, f"{lid}: log group never expires (no RetentionInDays)"))
        writers = sorted(
            other
            for other, r in template.get("Resources", {}).items()
            if r.get("Type") in ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine", "AWS::EC2::FlowLog")
            and lid in referenced_ids(props(r))
        )
        out.append(
            {
                "stack": stack,
                "id": lid,
                "name": names.text(p.get("LogGroupName", "")),
                "key": key,
                "retention_days": p.get("RetentionInDays"),
                "deletion_policy": res.get("DeletionPolicy", "Delete"),
                "written_by": writers,
                "flags": flags,
            }
        )
    return out
