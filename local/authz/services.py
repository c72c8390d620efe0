"""What AWS services do on their own behalf or with a role they were passed, checked like any other call:
EventBridge invoking a rule's Lambda target, and Amazon Bedrock assuming a customization job's service
role, then reading its data, writing its output, using its key and placing its network interfaces.

The facts (read 2026-12-03):
- EventBridge needs the function's resource-based policy to allow ``lambda:InvokeFunction`` by
  ``events.amazonaws.com`` (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions).
- Bedrock assumes ``roleArn`` as ``bedrock.amazonaws.com``; the trust policy may bind it with
  ``aws:SourceAccount`` and ``aws:SourceArn`` = the job ARN (https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-iam-role.html).
- As that role it reads the training and validation data and writes the output
  (https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-iam-role.html), uses the
  custom-model key (PermissionsModelCustomization in
  https://docs.aws.amazon.com/nova/latest/userguide/customize-fine-tune-encrypt.html), and, for a job with
  a vpcConfig, creates tagged network interfaces in its subnets and reaches S3 through the VPC
  (https://docs.aws.amazon.com/bedrock/latest/userguide/vpc-model-customization.html).
"""

from __future__ import annotations

from .engine import Requirement
from .operations import requirements
from .table import CUSTOM_MODEL_CREATION_KMS, NOVA_KMS, SAR, Call
from .world import World

EVENTS_SOURCE = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions"
)
BEDROCK_ROLE_SOURCE = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-iam-role.html"
BEDROCK_VPC_SOURCE = "https://docs.aws.amazon.com/bedrock/latest/userguide/vpc-model-customization.html"


def events_may_invoke(function_arn: str, rule_arn: str, world: World) -> str | None:
    """None when the function's resource-based policy lets this rule invoke it; else the reason."""
    from . import hook

    if hook._mode() == "off":
        return None
    name = function_arn.split(":")[6]
    principal = hook.service_principal("events.amazonaws.com", world.account)
    requirement = Requirement(
        "lambda:InvokeFunction",
        function_arn,
        {"aws:SourceArn": rule_arn, "aws:SourceAccount": world.account},
        ("lambda", name),
        source=EVENTS_SOURCE,
    )
    decision = hook.check_service(principal, requirement, world)
    return (
        None
        if decision.allowed
        else f"events.amazonaws.com is not authorized to perform: lambda:InvokeFunction on resource: {function_arn} {decision.reason}"
    )


def bedrock_may_assume(role_arn: str, job_arn: str, world: World) -> str | None:
    from . import hook

    if hook._mode() == "off":
        return None
    principal = hook.service_principal("bedrock.amazonaws.com", world.account)
    requirement = Requirement(
        "sts:AssumeRole",
        role_arn,
        {"aws:SourceAccount": world.account, "aws:SourceArn": job_arn},
        ("trust", role_arn),
        source=BEDROCK_ROLE_SOURCE,
    )
    decision = hook.check_service(principal, requirement, world)
    return None if decision.allowed else f"Amazon Bedrock cannot assume the role {role_arn} {decision.reason}"


def bedrock_job_access(
    job,
    world: World,
    *,
    data_objects: list[tuple[str, str]],
    output_object: tuple[str, str] | None,
    teacher_model: str | None,
) -> str | None:
    """None when the job's service role may do what the job does; else the message its failure carries."""
    from . import hook

    if hook._mode() == "off":
        return None
    role = job.role_arn
    vpc_id = None
    subnets = (job.vpc_config or {}).get("subnetIds") or []
    if subnets:
        vpc_id = world.subnet_vpc(subnets[0])
    data_requirements: list[Requirement] = []
    for bucket, key in data_objects:
        data_requirements += requirements(Call("s3", "GetObject", {"Bucket": bucket, "Key": key}, world)) or []
    if output_object:
        data_requirements += (
            requirements(Call("s3", "PutObject", {"Bucket": output_object[0], "Key": output_object[1]}, world)) or []
        )
    failed = (
        hook.check_role(role, data_requirements, world, service="s3", vpc_id=vpc_id, session="bedrock-job")
        if data_requirements
        else None
    )
    if failed is None:
        other: list[Requirement] = []
        key_arn = world.key_arn(getattr(job, "custom_model_kms_key_id", None))
        if key_arn:
            context = {"kms:ViaService": f"bedrock.{world.region}.amazonaws.com"}
            other += [
                Requirement(a, key_arn, context, ("kms", key_arn), via="bedrock", source=NOVA_KMS)
                for a in CUSTOM_MODEL_CREATION_KMS
            ]
        if subnets:
            tags = {
                "aws:RequestTag/BedrockManaged": "true",
                "aws:RequestTag/BedrockModelCustomizationJobArn": job.job_arn,
                "aws:TagKeys": ["BedrockManaged", "BedrockModelCustomizationJobArn"],
            }
            ec2 = f"arn:aws:ec2:{world.region}:{world.account}"
            other.append(
                Requirement(
                    "ec2:CreateNetworkInterface",
                    f"{ec2}:network-interface/*",
                    tags,
                    via="bedrock",
                    source=BEDROCK_VPC_SOURCE,
                )
            )
            other += [
                Requirement(
                    "ec2:CreateNetworkInterface", f"{ec2}:subnet/{s}", tags, via="bedrock", source=BEDROCK_VPC_SOURCE
                )
                for s in subnets
            ]
            other += [
                Requirement(
                    "ec2:CreateNetworkInterface",
                    f"{ec2}:security-group/{g}",
                    tags,
                    via="bedrock",
                    source=BEDROCK_VPC_SOURCE,
                )
                for g in (job.vpc_config or {}).get("securityGroupIds") or []
            ]
            other.append(
                Requirement(
                    "ec2:CreateTags",
                    f"{ec2}:network-interface/*",
                    {**tags, "ec2:CreateAction": "CreateNetworkInterface"},
                    via="bedrock",
                    source=BEDROCK_VPC_SOURCE,
                )
            )
        if teacher_model:
            other.append(
                Requirement(
                    "bedrock:InvokeModel",
                    f"arn:aws:bedrock:{world.region}::foundation-model/{teacher_model}",
                    via="bedrock",
                    source=SAR + "list_amazonbedrock.html",
                )
            )
        failed = hook.check_role(role, other, world, service="bedrock", session="bedrock-job") if other else None
    if failed is None:
        return None
    requirement, decision = failed
    return f"Amazon Bedrock, as {role}, is not authorized to perform: {requirement.action} on resource: {requirement.resource} {decision.reason}"


def bedrock_evaluation_access(
    role_arn: str,
    world: World,
    *,
    data_objects: list[tuple[str, str]],
    output_object: tuple[str, str],
    evaluator_resources: list[str],
) -> str | None:
    """None when an evaluation job's service role may read its dataset, write its results and invoke its evaluator
    (https://docs.aws.amazon.com/bedrock/latest/userguide/judge-service-roles.html); else the job's failure message.
    The job has no VPC configuration, so S3 sees it from outside the stage's VPC."""
    from . import hook

    if hook._mode() == "off":
        return None
    s3_requirements: list[Requirement] = []
    for bucket, key in data_objects:
        s3_requirements += requirements(Call("s3", "GetObject", {"Bucket": bucket, "Key": key}, world)) or []
    s3_requirements += (
        requirements(Call("s3", "PutObject", {"Bucket": output_object[0], "Key": output_object[1]}, world)) or []
    )
    failed = hook.check_role(role_arn, s3_requirements, world, service="s3", session="bedrock-evaluation")
    if failed is None:
        invoke = [
            Requirement("bedrock:InvokeModel", resource, via="bedrock", source=SAR + "list_amazonbedrock.html")
            for resource in evaluator_resources
        ]
        failed = hook.check_role(role_arn, invoke, world, service="bedrock", session="bedrock-evaluation")
    if failed is None:
        return None
    requirement, decision = failed
    return f"Amazon Bedrock, as {role_arn}, is not authorized to perform: {requirement.action} on resource: {requirement.resource} {decision.reason}"


RFT_GRADER_SOURCE = "https://docs.aws.amazon.com/bedrock/latest/userguide/rft-access-security.html (the service role needs lambda:InvokeFunction on the reward function)"


def bedrock_may_invoke_grader(role_arn: str, function_arn: str, job_arn: str, world: World) -> str | None:
    """None when a reinforcement fine-tuning job, as its service role, may invoke its grader; else the job's failure
    message. Bedrock invokes the reward function as the service role (read 2026-12-07), so the role's identity
    policies and the function's resource-based policy are evaluated as for any caller of the account (and, were the
    role of another account, both would have to allow it). The job's ARN and account travel as aws:SourceArn and
    aws:SourceAccount, which a resource policy naming bedrock.amazonaws.com conditions on."""
    from . import hook

    if hook._mode() == "off":
        return None
    requirement = Requirement(
        "lambda:InvokeFunction",
        function_arn,
        {"aws:SourceAccount": world.account, "aws:SourceArn": job_arn},
        ("lambda", function_arn),
        source=RFT_GRADER_SOURCE,
    )
    failed = hook.check_role(role_arn, [requirement], world, service="lambda", session="bedrock-job")
    if failed is None:
        return None
    _, decision = failed
    return f"Amazon Bedrock, as {role_arn}, is not authorized to perform: lambda:InvokeFunction on resource: {function_arn} {decision.reason}"


EVENTS_SQS_SOURCE = (
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions"
)
EVENTS_ROLE_SOURCE = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html (targets such as Step Functions are invoked with the target's RoleArn)"


def events_may_deliver(target: dict, rule_arn: str, world: World) -> str | None:
    """None when EventBridge may deliver to ``target``; else the reason it may not (the event is then not
    delivered, as in AWS: it is retried and ends in the rule target's dead-letter queue, if any)."""
    from . import hook

    if hook._mode() == "off":
        return None
    arn = target["Arn"]
    service = arn.split(":")[2]
    if service == "lambda":
        return events_may_invoke(arn, rule_arn, world)
    principal = hook.service_principal("events.amazonaws.com", world.account)
    if service == "sqs":
        name = arn.split(":")[5]
        requirement = Requirement(
            "sqs:SendMessage",
            arn,
            {"aws:SourceArn": rule_arn, "aws:SourceAccount": world.account},
            ("sqs", name),
            source=EVENTS_SQS_SOURCE,
        )
        decision = hook.check_service(principal, requirement, world)
        if not decision.allowed:
            return f"events.amazonaws.com is not authorized to perform: sqs:SendMessage on resource: {arn} {decision.reason}"
        key_arn = world.queue_key(name)
        if key_arn:
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                decision = hook.check_service(
                    principal,
                    Requirement(
                        action,
                        key_arn,
                        {"kms:ViaService": f"sqs.{world.region}.amazonaws.com"},
                        ("kms", key_arn),
                        via="sqs",
                        source=EVENTS_SQS_SOURCE,
                    ),
                    world,
                )
                if not decision.allowed:
                    return f"events.amazonaws.com is not authorized to perform: {action} on resource: {key_arn} {decision.reason}"
        return None
    if service == "states":
        role = target.get("RoleArn")
        if not role:
            return f"the target {arn} has no RoleArn: EventBridge starts Step Functions executions only with a role"
        trust = hook.check_service(
            principal,
            Requirement(
                "sts:AssumeRole",
                role,
                {"aws:SourceArn": rule_arn, "aws:SourceAccount": world.account},
                ("trust", role),
                source=EVENTS_ROLE_SOURCE,
            ),
            world,
        )
        if not trust.allowed:
            return f"EventBridge cannot assume the role {role} {trust.reason}"
        failed = hook.check_role(
            role,
            requirements(Call("states", "StartExecution", {"stateMachineArn": arn}, world)) or [],
            world,
            service="states",
            session="events",
        )
        if failed is not None:
            requirement, decision = failed
            return f"EventBridge, as {role}, is not authorized to perform: {requirement.action} on resource: {requirement.resource} {decision.reason}"
    return None
