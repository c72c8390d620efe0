"""What each API operation the project calls requires: (action, resource, context), one row per
operation, each citing where AWS documents it (read 2026-12-02).

An operation with no row is refused by the emulator (``NoAuthorizationRule``): authorization fails
closed, so a new call in a handler cannot slip through unchecked.

Service Authorization Reference pages, by service prefix (actions, their resource types, condition keys):
https://docs.aws.amazon.com/service-authorization/latest/reference/list_<service>.html, e.g.
list_amazons3.html, list_amazondynamodb.html, list_awsstepfunctions.html, list_amazonsns.html,
list_amazonsqs.html, list_awslambda.html, list_awssystemsmanager.html, list_amazonbedrock.html,
list_awskeymanagementservice.html, list_awsidentityandaccessmanagementiam.html.
"""

from __future__ import annotations

from typing import Any

from . import bedrock_operations  # noqa: F401  (registers the Bedrock rows)
from .engine import Requirement
from .table import (
    DDB_KMS,
    OPERATIONS,
    S3_BUCKET_KEY,
    S3_KMS,
    SAR,
    SFN_KMS,
    SNS_KMS,
    SQS_KMS,
    Call,
    row,
    via,
)
from .world import World


# -- helpers ------------------------------------------------------------------------------------------
def _s3_kms(call: Call, bucket: str, key: str, actions: list[str], key_arn: str | None) -> list[Requirement]:
    if not key_arn:
        return []
    bucket_key = _bucket_key_enabled(call.world, bucket)
    context_arn = f"arn:aws:s3:::{bucket}" if bucket_key else f"arn:aws:s3:::{bucket}/{key}"
    return [
        Requirement(
            action,
            key_arn,
            {
                "kms:ViaService": via(call, "s3"),
                "kms:EncryptionContext:aws:s3:arn": context_arn,
                "kms:EncryptionContextKeys": ["aws:s3:arn"],
            },
            ("kms", key_arn),
            via="s3",
            error="AccessDenied",
            status=403,
            source=f"{S3_KMS}; {S3_BUCKET_KEY}",
        )
        for action in actions
    ]


def _bucket_key_enabled(world: World, bucket: str) -> bool:
    b = world.bucket(bucket)
    encryption = getattr(b, "encryption", None) or {}
    rules = encryption.get("Rule")
    rules = rules if isinstance(rules, list) else [rules]
    return any(str((r or {}).get("BucketKeyEnabled", "")).lower() == "true" for r in rules)


def _s3(action: str, bucket: str, key: str | None = None, context: dict | None = None) -> Requirement:
    resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
    return Requirement(
        action,
        resource,
        context or {},
        ("s3", bucket),
        error="AccessDenied",
        status=403,
        source=SAR + "list_amazons3.html",
    )


# -- S3 -------------------------------------------------------------------------------------------------
@row("s3", "PutObject", "CreateMultipartUpload", source=SAR + "list_amazons3.html; " + S3_KMS)
def _put_object(call: Call) -> list[Requirement]:
    bucket, key = call.params["Bucket"], call.params["Key"]
    key_arn = call.world.key_arn(call.params.get("SSEKMSKeyId")) or (
        call.world.bucket_key(bucket) if call.params.get("ServerSideEncryption") in (None, "aws:kms") else None
    )
    return [_s3("s3:PutObject", bucket, key)] + _s3_kms(call, bucket, key, ["kms:GenerateDataKey"], key_arn)


@row(
    "s3",
    "UploadPart",
    "CompleteMultipartUpload",
    source=SAR + "list_amazons3.html; " + S3_KMS + " (a multipart upload with SSE-KMS needs kms:Decrypt as well)",
)
def _upload_part(call: Call) -> list[Requirement]:
    bucket, key = call.params["Bucket"], call.params["Key"]
    return [_s3("s3:PutObject", bucket, key)] + _s3_kms(
        call, bucket, key, ["kms:Decrypt"], call.world.bucket_key(bucket)
    )


@row("s3", "AbortMultipartUpload", source=SAR + "list_amazons3.html")
def _abort_multipart(call: Call) -> list[Requirement]:
    return [_s3("s3:AbortMultipartUpload", call.params["Bucket"], call.params["Key"])]


@row(
    "s3",
    "GetObject",
    source=SAR + "list_amazons3.html (GetObject; GetObjectVersion when a versionId is given); " + S3_KMS,
)
def _get_object(call: Call) -> list[Requirement]:
    bucket, key, version = call.params["Bucket"], call.params["Key"], call.params.get("VersionId")
    action = "s3:GetObjectVersion" if version else "s3:GetObject"
    return [_s3(action, bucket, key)] + _s3_kms(
        call, bucket, key, ["kms:Decrypt"], call.world.object_key(bucket, key, version)
    )


@row("s3", "HeadObject", source=SAR + "list_amazons3.html (HeadObject is authorized as GetObject / GetObjectVersion)")
def _head_object(call: Call) -> list[Requirement]:
    version = call.params.get("VersionId")
    return [_s3("s3:GetObjectVersion" if version else "s3:GetObject", call.params["Bucket"], call.params["Key"])]


@row("s3", "ListObjectsV2", "ListObjects", source=SAR + "list_amazons3.html (ListBucket; condition key s3:prefix)")
def _list_objects(call: Call) -> list[Requirement]:
    context = {"s3:prefix": call.params["Prefix"]} if "Prefix" in call.params else {}
    return [_s3("s3:ListBucket", call.params["Bucket"], context=context)]


@row("s3", "ListObjectVersions", source=SAR + "list_amazons3.html (ListBucketVersions; condition key s3:prefix)")
def _list_versions(call: Call) -> list[Requirement]:
    context = {"s3:prefix": call.params["Prefix"]} if "Prefix" in call.params else {}
    return [_s3("s3:ListBucketVersions", call.params["Bucket"], context=context)]


@row("s3", "DeleteObject", source=SAR + "list_amazons3.html (DeleteObject; DeleteObjectVersion with a versionId)")
def _delete_object(call: Call) -> list[Requirement]:
    version = call.params.get("VersionId")
    return [_s3("s3:DeleteObjectVersion" if version else "s3:DeleteObject", call.params["Bucket"], call.params["Key"])]


@row(
    "s3",
    "CopyObject",
    "UploadPartCopy",
    source=SAR
    + "list_amazons3.html (UploadPartCopy is authorized as a read of the source and PutObject on the target); "
    + S3_KMS,
)
def _copy_object(call: Call) -> list[Requirement]:
    source = call.params["CopySource"]
    if isinstance(source, str):
        from urllib.parse import unquote

        path, _, query = source.lstrip("/").partition("?versionId=")
        src_bucket, _, src_key = unquote(path).partition("/")
        src_version = query or None
    else:
        src_bucket, src_key, src_version = source["Bucket"], source["Key"], source.get("VersionId")
    out = [_s3("s3:GetObjectVersion" if src_version else "s3:GetObject", src_bucket, src_key)]
    out += _s3_kms(call, src_bucket, src_key, ["kms:Decrypt"], call.world.object_key(src_bucket, src_key, src_version))
    return out + _put_object(call)


@row("s3", "PutBucketNotificationConfiguration", source=SAR + "list_amazons3.html (PutBucketNotification)")
def _put_notification(call: Call) -> list[Requirement]:
    return [_s3("s3:PutBucketNotification", call.params["Bucket"])]


@row("s3", "GetBucketNotificationConfiguration", source=SAR + "list_amazons3.html (GetBucketNotification)")
def _get_notification(call: Call) -> list[Requirement]:
    return [_s3("s3:GetBucketNotification", call.params["Bucket"])]


@row("s3", "ListBuckets", source=SAR + "list_amazons3.html (ListAllMyBuckets)")
def _list_buckets(call: Call) -> list[Requirement]:
    return [Requirement("s3:ListAllMyBuckets", "*", error="AccessDenied", status=403)]


# -- DynamoDB --------------------------------------------------------------------------------------------
_DDB_ACTIONS = {
    "GetItem": "dynamodb:GetItem",
    "PutItem": "dynamodb:PutItem",
    "UpdateItem": "dynamodb:UpdateItem",
    "DeleteItem": "dynamodb:DeleteItem",
    "Query": "dynamodb:Query",
    "Scan": "dynamodb:Scan",
    "DescribeTable": "dynamodb:DescribeTable",
}


def _table_kms(call: Call, table: str, actions: list[str]) -> list[Requirement]:
    key_arn = call.world.table_key(table)
    if not key_arn:
        return []
    context = {
        "kms:ViaService": via(call, "dynamodb"),
        "kms:EncryptionContext:aws:dynamodb:tableName": table,
        "kms:EncryptionContext:aws:dynamodb:subscriberId": call.account,
    }
    return [
        Requirement(
            a, key_arn, context, ("kms", key_arn), via="dynamodb", error="AccessDeniedException", source=DDB_KMS
        )
        for a in actions
    ]


@row(
    "dynamodb",
    *_DDB_ACTIONS,
    source=SAR + "list_amazondynamodb.html (index ARNs for Query/Scan on an index); " + DDB_KMS,
)
def _dynamodb(call: Call) -> list[Requirement]:
    table = call.params["TableName"]
    resource = call.arn("dynamodb", f"table/{table}")
    if call.params.get("IndexName"):
        resource += f"/index/{call.params['IndexName']}"
    out = [Requirement(_DDB_ACTIONS[call.operation], resource, source=SAR + "list_amazondynamodb.html")]
    if call.operation != "DescribeTable":
        out += _table_kms(call, table, ["kms:Decrypt"])
    return out


# -- Lambda ----------------------------------------------------------------------------------------------
@row(
    "lambda",
    "Invoke",
    source=SAR + "list_awslambda.html (InvokeFunction on the function, qualified when a qualifier is given)",
)
def _invoke(call: Call) -> list[Requirement]:
    name = call.params["FunctionName"]
    fn = call.world.function(name)
    arn = (
        fn.function_arn
        if fn is not None
        else (name if name.startswith("arn:") else call.arn("lambda", f"function:{name}"))
    )
    if call.params.get("Qualifier"):
        arn = f"{arn}:{call.params['Qualifier']}"
    return [Requirement("lambda:InvokeFunction", arn, {}, ("lambda", name), error="AccessDeniedException", status=403)]


# -- Step Functions --------------------------------------------------------------------------------------
def _machine_kms(call: Call, machine_arn: str, actions: list[str]) -> list[Requirement]:
    key_arn = call.world.state_machine_key(machine_arn)
    if not key_arn:
        return []
    context = {"kms:ViaService": via(call, "states"), "kms:EncryptionContext:aws:states:stateMachineArn": machine_arn}
    return [
        Requirement(
            a, key_arn, context, ("kms", key_arn), via="states", error="KmsAccessDeniedException", source=SFN_KMS
        )
        for a in actions
    ]


def _token_machine(call: Call) -> str | None:
    """The state machine a task token belongs to (the emulator's tokens are looked up in moto)."""
    from local.authz.tokens import machine_of_token

    return machine_of_token(call.params.get("taskToken", ""), call.world)


@row(
    "states",
    "StartExecution",
    source=SAR
    + "list_awsstepfunctions.html; "
    + SFN_KMS
    + " (StartExecution needs kms:GenerateDataKey on a CMK-encrypted state machine)",
)
def _start_execution(call: Call) -> list[Requirement]:
    machine = call.params["stateMachineArn"]
    return [Requirement("states:StartExecution", machine)] + _machine_kms(call, machine, ["kms:GenerateDataKey"])


@row(
    "states",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    source=SAR
    + "list_awsstepfunctions.html; "
    + SFN_KMS
    + " (callbacks carrying output or error need kms:GenerateDataKey)",
)
def _task_token(call: Call) -> list[Requirement]:
    machine = _token_machine(call) or "*"
    action = f"states:{call.operation}"
    out = [Requirement(action, machine)]
    carries_data = (
        call.operation == "SendTaskSuccess"
        or call.params.get("error") is not None
        or call.params.get("cause") is not None
    )
    if machine != "*" and carries_data:
        out += _machine_kms(call, machine, ["kms:GenerateDataKey"])
    return out


@row(
    "states",
    "DescribeExecution",
    "GetExecutionHistory",
    "StopExecution",
    source=SAR
    + "list_awsstepfunctions.html (execution resource); "
    + SFN_KMS
    + " (reading encrypted history needs kms:Decrypt)",
)
def _execution(call: Call) -> list[Requirement]:
    execution = call.params["executionArn"]
    out = [Requirement(f"states:{call.operation}", execution)]
    if call.operation != "StopExecution":
        out += _machine_kms(call, call.world.execution_state_machine(execution), ["kms:Decrypt"])
    return out


@row(
    "states",
    "ListExecutions",
    "DescribeStateMachine",
    source=SAR + "list_awsstepfunctions.html (stateMachine resource; ListExecutions also mapRun)",
)
def _machine(call: Call) -> list[Requirement]:
    # ListExecutions names either the state machine or one of its Map Runs (the child executions of a Map state).
    return [Requirement(f"states:{call.operation}", call.params.get("stateMachineArn") or call.params["mapRunArn"])]


@row("states", "ListMapRuns", source=SAR + "list_awsstepfunctions.html (execution resource)")
def _map_runs(call: Call) -> list[Requirement]:
    return [Requirement("states:ListMapRuns", call.params["executionArn"])]


@row("states", "ListStateMachines", source=SAR + "list_awsstepfunctions.html (no resource type)")
def _list_machines(call: Call) -> list[Requirement]:
    return [Requirement("states:ListStateMachines", "*")]


# -- SNS / SQS -------------------------------------------------------------------------------------------
@row("sns", "Publish", source=SAR + "list_amazonsns.html; " + SNS_KMS)
def _publish(call: Call) -> list[Requirement]:
    topic: Any = call.params.get("TopicArn") or call.params.get("TargetArn")  # request JSON, as sent
    out = [Requirement("sns:Publish", topic, {}, ("sns", topic), error="AuthorizationError", status=403)]
    key_arn = call.world.topic_key(topic)
    if key_arn:
        context = {"kms:ViaService": via(call, "sns"), "kms:EncryptionContext:aws:sns:topicArn": topic}
        out += [
            Requirement(a, key_arn, context, ("kms", key_arn), via="sns", error="KMSAccessDenied", source=SNS_KMS)
            for a in ("kms:GenerateDataKey", "kms:Decrypt")
        ]
    return out


@row(
    "sns",
    "Subscribe",
    "CreateTopic",
    "ListSubscriptionsByTopic",
    "GetTopicAttributes",
    source=SAR + "list_amazonsns.html",
)
def _sns_admin(call: Call) -> list[Requirement]:
    topic = call.params.get("TopicArn") or call.arn("sns", call.params.get("Name", "*"))
    return [
        Requirement(
            f"sns:{call.operation}",
            topic,
            {},
            ("sns", topic) if call.operation != "CreateTopic" else None,
            error="AuthorizationError",
            status=403,
        )
    ]


_SQS_KMS_ACTIONS = {"SendMessage": ["kms:GenerateDataKey", "kms:Decrypt"], "ReceiveMessage": ["kms:Decrypt"]}


@row(
    "sqs",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "GetQueueAttributes",
    "GetQueueUrl",
    source=SAR + "list_amazonsqs.html; " + SQS_KMS,
)
def _sqs(call: Call) -> list[Requirement]:
    queue = call.params.get("QueueUrl") or call.params.get("QueueName", "")
    name = queue.rstrip("/").rsplit("/", 1)[-1]
    arn = call.arn("sqs", name)
    out = [Requirement(f"sqs:{call.operation}", arn, {}, ("sqs", name), error="AccessDenied", status=403)]
    key_arn = call.world.queue_key(name)
    if key_arn:
        context = {"kms:ViaService": via(call, "sqs"), "kms:EncryptionContext:aws:sqs:arn": arn}
        out += [
            Requirement(
                a, key_arn, context, ("kms", key_arn), via="sqs", error="KMS.AccessDeniedException", source=SQS_KMS
            )
            for a in _SQS_KMS_ACTIONS.get(call.operation, [])
        ]
    return out


@row("sqs", "CreateQueue", source=SAR + "list_amazonsqs.html")
def _create_queue(call: Call) -> list[Requirement]:
    return [Requirement("sqs:CreateQueue", call.arn("sqs", call.params["QueueName"]))]


# -- SSM -------------------------------------------------------------------------------------------------
@row(
    "ssm",
    "GetParameter",
    "PutParameter",
    "GetParameters",
    "DeleteParameter",
    source=SAR + "list_awssystemsmanager.html (parameter/<name without its leading slash>)",
)
def _ssm(call: Call) -> list[Requirement]:
    names = call.params.get("Names") or [call.params["Name"]]
    return [
        Requirement(
            f"ssm:{call.operation if call.operation != 'GetParameters' else 'GetParameters'}",
            call.arn("ssm", "parameter/" + n.lstrip("/")),
        )
        for n in names
    ]


# -- CloudFormation (the CLI finds a stage through its stacks' outputs) ------------------------------------
@row("cloudformation", "DescribeStacks", source=SAR + "list_awscloudformation.html (stack: arn:…:stack/<name>/<id>)")
def _describe_stacks(call: Call) -> list[Requirement]:
    name = call.params.get("StackName")
    if not name:
        return [Requirement("cloudformation:DescribeStacks", "*")]
    if name.startswith("arn:"):
        return [Requirement("cloudformation:DescribeStacks", name)]
    stack = next((st for st in call.world.backend("cloudformation").stacks.values() if st.name == name), None)
    return [
        Requirement(
            "cloudformation:DescribeStacks",
            stack.stack_id if stack is not None else call.arn("cloudformation", f"stack/{name}/*"),
        )
    ]


# -- identity and deployment plumbing --------------------------------------------------------------------
@row(
    "sts",
    "GetCallerIdentity",
    source="https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html (no permission is required)",
)
def _whoami(call: Call) -> list[Requirement]:
    return []


def requirements(call: Call) -> list[Requirement] | None:
    found = OPERATIONS.get((call.service, call.operation))
    return None if found is None else found.rule(call)
