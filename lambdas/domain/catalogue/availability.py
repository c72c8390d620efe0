"""Where and until when a model can be used: lifecycle, customization Regions, on-demand deployment of
custom models and how a base model is invoked, each with the page it was read on."""

from __future__ import annotations

from datetime import date

from lambdas.domain.catalogue.schema import (
    InvocationRoute,
    Lifecycle,
    LifecycleStatus,
    OnDemandDeployment,
    Regions,
    Source,
)

# --- Lifecycle ------------------------------------------------------------------------------------
# From the model cards (one page per model) and the lifecycle pages. Where a card was found only in a
# machine translation or a stored mirror, the URL is the page we read and the note says so. "Unknown"
# means no lifecycle statement was found: GetFoundationModel's modelLifecycle decides at run time.
_READ = "2026-12-04"
_LIFECYCLE_PAGE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle.md", _READ)
MODEL_CARDS_AMAZON = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-cards-amazon.md", _READ)


def active_lifecycle(source: Source, note: str = "") -> Lifecycle:
    return Lifecycle(LifecycleStatus.ACTIVE, source, note=note)


def legacy_lifecycle(end_of_life: str, source: Source, note: str = "") -> Lifecycle:
    return Lifecycle(LifecycleStatus.LEGACY, source, date.fromisoformat(end_of_life), note)


def unknown_lifecycle(note: str) -> Lifecycle:
    return Lifecycle(LifecycleStatus.UNKNOWN, _LIFECYCLE_PAGE, note=note)


NOVA1_LIFECYCLE = active_lifecycle(
    MODEL_CARDS_AMAZON,
    "listed among the models available in Amazon Bedrock with no Legacy or EOL date; Nova Lite's card "
    "(https://docs.aws.eu/bedrock/latest/userguide/model-card-amazon-nova-lite.html) says Active",
)
NOVA_PREMIER_LIFECYCLE = legacy_lifecycle(
    "2026-09-14",
    Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-amazon-nova-premier.html", _READ),
)
HAIKU_LIFECYCLE = legacy_lifecycle(
    "2026-09-10",
    Source("https://docs.aws.amazon.com/zh_tw/bedrock/latest/userguide/model-card-anthropic-claude-3-haiku.md", _READ),
    "EOL in most Regions, us-west-2 (its only customization Region) included; still available in ca-central-1, "
    "eu-central-2 and sa-east-1, Legacy in ap-northeast-2 (read in the card's zh_tw translation)",
)
LLAMA_32_90B_LIFECYCLE = legacy_lifecycle(
    "2026-07-07",
    Source(
        "https://docs.aws.amazon.com/zh_tw/bedrock/latest/userguide/model-card-meta-llama-3-2-90b-instruct.md", _READ
    ),
    "read in the card's zh_tw translation",
)
LLAMA_32_SMALL_LIFECYCLE = unknown_lifecycle(
    "no card found for this size; the 90B card says EOL 2026-07-07 and shared/bedrock-reference.md (a secondary "
    "source) gives the same date for every Llama 3.2 size",
)
LLAMA_31_405B_LIFECYCLE = legacy_lifecycle(
    "2026-07-07",
    Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-meta-llama-3-1-405b-instruct.md", _READ),
    "read in a stored mirror (docs---aws.amazon.com.rproxy.govskope.us): 'Model EOL date: Legacy: July 7, 2026'",
)
LLAMA_31_70B_LIFECYCLE = active_lifecycle(
    Source(
        "https://docs.aws.amazon.com/zh_cn/bedrock/latest/userguide/model-card-meta-llama-3-1-70b-instruct.md", _READ
    ),
    "the card (zh_cn translation) says Active, EOL no sooner than 2025-07-23",
)
NO_CARD = "no model card or lifecycle entry found in the AWS pages we read"

# --- Customization Regions --------------------------------------------------------------------------
# AWS's current fine-tuning table ("Supported models and Regions for fine-tuning", custom-model-fine-tuning):
# Nova 2 Lite, Nova Lite/Micro/Pro in us-east-1; Claude 3 Haiku and Llama 3.1/3.2 in us-west-2. It no longer
# lists Titan Text Express, Lite or Premier, nor Cohere Command or Command Light; Bedrock's current pages list
# no model for continued pre-training (the Nova 2 guide: CPT only on SageMaker HyperPod).
_FT_TABLE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-fine-tuning.md", _READ)
NOT_LISTED = Regions(frozenset(), _FT_TABLE, "not in AWS's current customization table")
US_EAST_1 = Regions(frozenset({"us-east-1"}), _FT_TABLE)
US_WEST_2 = Regions(frozenset({"us-west-2"}), _FT_TABLE)
# The rows after Llama 3.2 3B were cut off in the stored copy of the current table. Llama 3.2 90B is us-west-2
# in the table version of custom-model-supported.html; Llama 3.3 70B in an earlier copy of the same table.
US_WEST_2_LATE_ROWS = Regions(
    frozenset({"us-west-2"}),
    _FT_TABLE,
    "row not visible in the stored copy of the current table; earlier versions list us-west-2",
)
# The distillation pairing table (prequisites-model-distillation) was not readable in the stored copy. A
# distilled student is a custom model, so it can only be made where the student can be customized: its
# fine-tuning Regions are used, a necessary condition rather than a published list.
_DISTILLATION_TABLE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/prequisites-model-distillation.html", _READ
)


def student_regions(fine_tuning: Regions) -> Regions:
    return Regions(
        fine_tuning.regions,
        _DISTILLATION_TABLE,
        "derived from the student's fine-tuning Regions; the pairing table was not readable",
    )


# Reinforcement fine-tuning's table ("Models supported for reinforcement fine-tuning", read 2026-12-07) lists
# Nova 2 Lite (amazon.nova-2-lite-v1:0:256k) in us-east-1, and two open-weight models in us-west-2:
# openai.gpt-oss-20b and qwen.qwen3-32b. The open-weight ones are customized through Bedrock's
# OpenAI-compatible fine-tuning API (rft-prepare-data-open-weight: files uploaded "with the purpose
# fine-tune"), not documented for CreateModelCustomizationJob, so the catalogue does not list them yet.
RFT_TABLE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/reinforcement-fine-tuning.html", "2026-12-07")
RFT_US_EAST_1 = Regions(frozenset({"us-east-1"}), RFT_TABLE)


# --- On-demand deployment of custom models ------------------------------------------------------------
# "You must use the US East (N. Virginia) or US West (Oregon) region" and "You must customize the model on
# or after 7/16/2025"; base models Nova Lite, Micro and Pro. (Another stored copy of the page lists US East
# only; the Nova guide's custom-fine-tune-odi says "trained after July 16, 2025".)
NOVA_ON_DEMAND = OnDemandDeployment(
    regions=frozenset({"us-east-1", "us-west-2"}),
    customized_on_or_after=date(2025, 7, 16),
    source=Source("https://docs.aws.amazon.com/bedrock/latest/userguide/deploy-custom-model-on-demand.md", _READ),
)

# --- Invocation -----------------------------------------------------------------------------------
# Some models answer only through a cross-Region (geographic) inference profile, "us.<model id>". The IAM
# policy must allow the profile and the model in every Region it routes to (prequisites-model-distillation);
# the Regions depend on the source Region (inference-profiles-support), and a "us" profile stays in the
# United States area (the CDK's CrossRegionInferenceProfileRegion.US).
INFERENCE_PROFILES = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html", _READ
)
# The Active-model table marks Nova's us-east-2 and us-west-2 with "*": reachable there only through CRIS.
_NOVA1_ROUTE_SOURCE = Source("https://docs.aws.amazon.com/ja_jp/bedrock/latest/userguide/model-lifecycle.html", _READ)
NOVA2_ROUTE_SOURCE = Source("https://docs.aws.amazon.com/nova/latest/nova2-userguide/on-demand-inference.md", _READ)
# "Llama 3.2 Instruct and Llama 3.3 Instruct models use geofencing" (model-parameters-meta). That they are
# invoked through "us." profiles comes from the review and third-party model tables: no AWS page we
# read says so in as many words.
_LLAMA_ROUTE_SOURCE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html", _READ)
# Nova Premier: "Regions supporting foundation model: N/A", inference profile us-east-1, us-east-2, us-west-2.
NOVA_PREMIER_ROUTE_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/batch-inference-supported.html", _READ
)
_MODEL_IDS = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/model-ids.html", _READ)


def direct_route(
    on_demand_id: str, note: str = "in-Region availability was not re-read for this model"
) -> InvocationRoute:
    return InvocationRoute(on_demand_id, _MODEL_IDS, note=note)


def nova1_route(on_demand_id: str) -> InvocationRoute:
    return InvocationRoute(on_demand_id, _NOVA1_ROUTE_SOURCE, in_region=frozenset({"us-east-1"}), profile_prefix="us")


def llama_profile_route(on_demand_id: str) -> InvocationRoute:
    return InvocationRoute(
        on_demand_id,
        _LLAMA_ROUTE_SOURCE,
        in_region=frozenset(),
        profile_prefix="us",
        note="profile requirement from secondary sources",
    )
