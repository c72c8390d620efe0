"""What each Bedrock and bedrock-runtime operation the project calls requires (the rest:
local.authz.operations), each row citing where AWS documents it."""

from __future__ import annotations

from typing import Any

from .engine import Requirement
from .table import (
    BEDROCK_KMS,
    CUSTOM_MODEL_CREATION_KMS,
    CUSTOM_MODEL_USE_KMS,
    NOVA_KMS,
    PASS_ROLE,
    SAR,
    Call,
    row,
    via,
)


# -- Bedrock ---------------------------------------------------------------------------------------------
def _model_arn(call: Call, identifier: str) -> str:
    if identifier.startswith("arn:"):
        return identifier
    if identifier.count(".") >= 2 and identifier.split(".")[0] in (
        "us",
        "eu",
        "apac",
        "global",
        "jp",
        "au",
        "ca",
        "us-gov",
    ):
        return call.arn("bedrock", f"inference-profile/{identifier}")
    return f"arn:aws:bedrock:{call.region}::foundation-model/{identifier}"


def _tags(call: Call, *fields: str) -> dict[str, Any]:
    tags = [t for f in fields for t in (call.params.get(f) or [])]
    if not tags:
        return {}
    return {**{f"aws:RequestTag/{t['key']}": t["value"] for t in tags}, "aws:TagKeys": [t["key"] for t in tags]}


@row(
    "bedrock", "CreateModelCustomizationJob", source=SAR + "list_amazonbedrock.html; " + PASS_ROLE + "; " + BEDROCK_KMS
)
def _create_job(call: Call) -> list[Requirement]:
    p = call.params
    job = call.arn("bedrock", f"model-customization-job/{p['jobName']}")
    base = _model_arn(call, p["baseModelIdentifier"])
    tags = _tags(call, "jobTags", "customModelTags")
    out = [
        Requirement("bedrock:CreateModelCustomizationJob", base, tags),
        Requirement("bedrock:CreateModelCustomizationJob", job, tags),
        Requirement("iam:PassRole", p["roleArn"], {"iam:PassedToService": "bedrock.amazonaws.com"}, source=PASS_ROLE),
    ]
    if tags:
        out.append(Requirement("bedrock:TagResource", job, tags))
    key_arn = call.world.key_arn(p.get("customModelKmsKeyId"))
    if key_arn:
        context = {"kms:ViaService": via(call, "bedrock")}
        out += [
            Requirement(a, key_arn, context, ("kms", key_arn), via="bedrock", source=NOVA_KMS)
            for a in CUSTOM_MODEL_CREATION_KMS
        ]
    return out


@row(
    "bedrock",
    "GetModelCustomizationJob",
    "StopModelCustomizationJob",
    source=SAR
    + "list_amazonbedrock.html (model-customization-job; its condition keys include aws:ResourceTag/${TagKey}, read 2026-12-06)",
)
def _job(call: Call) -> list[Requirement]:
    identifier = call.params["jobIdentifier"]
    arn = identifier if identifier.startswith("arn:") else call.arn("bedrock", f"model-customization-job/{identifier}")
    return [Requirement(f"bedrock:{call.operation}", arn, _resource_tags(call, "model-customization-job", identifier))]


@row("bedrock", "CreateEvaluationJob", source=SAR + "list_amazonbedrock.html (evaluation-job); " + PASS_ROLE)
def _create_evaluation_job(call: Call) -> list[Requirement]:
    """The managed judge's jobs (lambdas.domain.managed_judge): the job, and the service role passed to Bedrock."""
    p = call.params
    return [
        Requirement("bedrock:CreateEvaluationJob", call.arn("bedrock", f"evaluation-job/{p['jobName']}")),
        Requirement("iam:PassRole", p["roleArn"], {"iam:PassedToService": "bedrock.amazonaws.com"}, source=PASS_ROLE),
    ]


@row("bedrock", "GetEvaluationJob", "StopEvaluationJob", source=SAR + "list_amazonbedrock.html (evaluation-job)")
def _evaluation_job(call: Call) -> list[Requirement]:
    identifier = call.params["jobIdentifier"]
    arn = identifier if identifier.startswith("arn:") else call.arn("bedrock", f"evaluation-job/{identifier}")
    return [Requirement(f"bedrock:{call.operation}", arn)]


def _custom_model_kms(call: Call, model_arn: str) -> list[Requirement]:
    from local.authz.tokens import custom_model_key

    key_arn = custom_model_key(model_arn, call.world)
    if not key_arn:
        return []
    context = {"kms:ViaService": via(call, "bedrock")}
    return [
        Requirement(a, key_arn, context, ("kms", key_arn), via="bedrock", source=NOVA_KMS) for a in CUSTOM_MODEL_USE_KMS
    ]


def _create_endpoint(call: Call, model: str, endpoint: str) -> list[Requirement]:
    """An endpoint of a model: the create action on the model and on the new endpoint, tag-on-create,
    and the custom model's key when it has one."""
    action, tags = f"bedrock:{call.operation}", _tags(call, "tags")
    out = [Requirement(action, model, tags), Requirement(action, endpoint, tags)]
    if tags:
        out.append(Requirement("bedrock:TagResource", endpoint, tags))
    return out + _custom_model_kms(call, model)


@row(
    "bedrock",
    "CreateProvisionedModelThroughput",
    source=SAR + "list_amazonbedrock.html (custom-model or foundation-model, and provisioned-model)",
)
def _create_pt(call: Call) -> list[Requirement]:
    return _create_endpoint(
        call,
        _model_arn(call, call.params["modelId"]),
        call.arn("bedrock", f"provisioned-model/{call.params['provisionedModelName']}"),
    )


@row(
    "bedrock",
    "CreateCustomModelDeployment",
    source=SAR + "list_amazonbedrock.html (custom-model and custom-model-deployment)",
)
def _create_deployment(call: Call) -> list[Requirement]:
    return _create_endpoint(
        call,
        call.params["modelArn"],
        call.arn("bedrock", f"custom-model-deployment/{call.params['modelDeploymentName']}"),
    )


def _resource_tags(call: Call, kind: str, identifier: str) -> dict[str, Any]:
    """aws:ResourceTag/<key> of an existing resource; a resource that does not exist has none."""
    from local.authz.tokens import bedrock_resource_tags

    return {
        f"aws:ResourceTag/{key}": value for key, value in bedrock_resource_tags(kind, identifier, call.world).items()
    }


def _existing(call: Call, kind: str, identifier: str) -> list[Requirement]:
    """Get or delete of one tagged Bedrock resource: the action on its ARN, with its tags as context."""
    arn = identifier if identifier.startswith("arn:") else call.arn("bedrock", f"{kind}/{identifier}")
    return [Requirement(f"bedrock:{call.operation}", arn, _resource_tags(call, kind, identifier))]


@row(
    "bedrock",
    "GetProvisionedModelThroughput",
    "DeleteProvisionedModelThroughput",
    source=SAR
    + "list_amazonbedrock.html (provisioned-model; its condition keys include aws:ResourceTag/${TagKey}, read 2026-12-04)",
)
def _pt(call: Call) -> list[Requirement]:
    return _existing(call, "provisioned-model", call.params["provisionedModelId"])


@row(
    "bedrock",
    "GetCustomModelDeployment",
    "DeleteCustomModelDeployment",
    source=SAR
    + "list_amazonbedrock.html (custom-model-deployment; its condition keys include aws:ResourceTag/${TagKey}, read 2026-12-04)",
)
def _deployment(call: Call) -> list[Requirement]:
    return _existing(call, "custom-model-deployment", call.params["customModelDeploymentIdentifier"])


@row(
    "bedrock",
    "GetCustomModel",
    "DeleteCustomModel",
    source=SAR
    + "list_amazonbedrock.html (custom-model; its condition keys include aws:ResourceTag/${TagKey}, read 2026-12-04)",
)
def _custom_model(call: Call) -> list[Requirement]:
    return _existing(call, "custom-model", call.params["modelIdentifier"])


@row("bedrock", "GetFoundationModel", source=SAR + "list_amazonbedrock.html (foundation-model)")
def _foundation_model(call: Call) -> list[Requirement]:
    return [Requirement("bedrock:GetFoundationModel", _model_arn(call, call.params["modelIdentifier"]))]


@row(
    "bedrock",
    "ListFoundationModels",
    "ListModelCustomizationJobs",
    "ListProvisionedModelThroughputs",
    "ListCustomModelDeployments",
    "ListCustomModels",
    source=SAR + "list_amazonbedrock.html (list actions have no resource type)",
)
def _bedrock_list(call: Call) -> list[Requirement]:
    return [Requirement(f"bedrock:{call.operation}", "*")]


@row("bedrock", "TagResource", "ListTagsForResource", source=SAR + "list_amazonbedrock.html")
def _bedrock_tags(call: Call) -> list[Requirement]:
    return [Requirement(f"bedrock:{call.operation}", call.params["resourceARN"], _tags(call, "tags"))]


@row(
    "bedrock-runtime",
    "Converse",
    "InvokeModel",
    source=SAR
    + "list_amazonbedrock.html (Converse is authorized as bedrock:InvokeModel on the model, inference profile, provisioned model or deployment; the last two support aws:ResourceTag/${TagKey}, read 2026-12-06); "
    + BEDROCK_KMS,
)
def _converse(call: Call) -> list[Requirement]:
    model = _model_arn(call, call.params["modelId"])
    kind = next((k for k in ("provisioned-model", "custom-model-deployment") if f":{k}/" in model), None)
    out = [Requirement("bedrock:InvokeModel", model, _resource_tags(call, kind, model) if kind else {})]
    from local.authz.tokens import invoked_custom_model

    custom = invoked_custom_model(model, call.world)
    return out + (_custom_model_kms(call, custom) if custom else [])
