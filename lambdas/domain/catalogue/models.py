"""The catalogue itself: every customizable base model and every distillation teacher, assembled from
the facts beside this module."""

from __future__ import annotations

from typing import Mapping

from lambdas.domain.catalogue.availability import (
    HAIKU_LIFECYCLE,
    LLAMA_31_70B_LIFECYCLE,
    LLAMA_31_405B_LIFECYCLE,
    LLAMA_32_90B_LIFECYCLE,
    LLAMA_32_SMALL_LIFECYCLE,
    MODEL_CARDS_AMAZON,
    NO_CARD,
    NOT_LISTED,
    NOVA1_LIFECYCLE,
    NOVA2_ROUTE_SOURCE,
    NOVA_ON_DEMAND,
    NOVA_PREMIER_LIFECYCLE,
    NOVA_PREMIER_ROUTE_SOURCE,
    RFT_US_EAST_1,
    US_EAST_1,
    US_WEST_2,
    US_WEST_2_LATE_ROWS,
    active_lifecycle,
    direct_route,
    llama_profile_route,
    nova1_route,
    student_regions,
    unknown_lifecycle,
)
from lambdas.domain.catalogue.hyperparameters import (
    COHERE_HP_SOURCE,
    HAIKU_HP,
    LLAMA_31_HP_SOURCE,
    LLAMA_32_HP_SOURCE,
    LLAMA_HP,
    NOVA_HP,
    NOVA_HP_SOURCE,
    RFT_HP,
    RFT_HP_SOURCE,
    TITAN_EXPRESS_LITE_HP,
    TITAN_PREMIER_HP,
    cohere_hyperparameters,
)
from lambdas.domain.catalogue.limits import (
    COHERE_FT,
    HAIKU_FT,
    HAIKU_TOKENS,
    LLAMA_31_FT,
    LLAMA_33_FT,
    LLAMA_90B_TOKENS,
    LLAMA_IMAGES,
    LLAMA_TOKENS,
    NOVA2_FT,
    NOVA2_RFT,
    NOVA2_TOKENS,
    NOVA_MEDIA,
    NOVA_TOKENS,
    TITAN_EXPRESS_TOKENS,
    TITAN_LITE_TOKENS,
    TITAN_PREMIER_TOKENS,
    distillation_limits,
    llama_32_ft_limits,
    nova_ft_limits,
    titan_cpt_limits,
    titan_ft_limits,
)
from lambdas.domain.catalogue.prices import PRICES
from lambdas.domain.catalogue.schema import (
    NO_MEDIA,
    UNPRICED,
    CustomizationType,
    DatasetFormat,
    DatasetLimits,
    HyperParameterSpec,
    InvocationRoute,
    Lifecycle,
    ModelSpec,
    OnDemandDeployment,
    PriceInputs,
    Regions,
    Source,
    TeacherSpec,
)

_FT = CustomizationType.FINE_TUNING
_CPT = CustomizationType.CONTINUED_PRE_TRAINING
_DIST = CustomizationType.DISTILLATION
_RFT = CustomizationType.REINFORCEMENT_FINE_TUNING


def _model(
    model_id: str,
    name: str,
    provider: str,
    formats: dict[CustomizationType, DatasetFormat],
    hp: Mapping[str, HyperParameterSpec],
    *,
    lifecycle: Lifecycle,
    invocation: InvocationRoute,
    regions: dict[CustomizationType, Regions] | None = None,
    on_demand: OnDemandDeployment | None = None,
    hp_source: Source | None = None,
    notes: tuple[str, ...] = (),
    limits: dict[CustomizationType, DatasetLimits] | None = None,
    prices: PriceInputs | None = None,
    hp_by_type: dict[CustomizationType, Mapping[str, HyperParameterSpec]] | None = None,
) -> ModelSpec:
    return ModelSpec(
        model_id,
        name,
        provider,
        frozenset(formats),
        formats,
        hp,
        lifecycle,
        invocation,
        regions or {},
        on_demand,
        hp_source,
        notes,
        limits or {},
        prices if prices is not None else PRICES.get(model_id, UNPRICED),
        hp_by_type or {},
    )


_TITAN_FORMATS = {_FT: DatasetFormat.PROMPT_COMPLETION, _CPT: DatasetFormat.CONTINUED_PRE_TRAINING}
_NOVA_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}
_LLAMA_32_FORMATS = {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS}


_LLAMA_31_REGIONS = {_FT: US_WEST_2, _DIST: student_regions(US_WEST_2)}
_LLAMA_32_REGIONS = {_FT: US_WEST_2, _DIST: student_regions(US_WEST_2)}

MODELS: dict[str, ModelSpec] = {
    spec.model_id: spec
    for spec in (
        _model(
            "amazon.titan-text-express-v1:0:8k",
            "Titan Text G1 - Express",
            "amazon",
            _TITAN_FORMATS,
            TITAN_EXPRESS_LITE_HP,
            lifecycle=unknown_lifecycle(NO_CARD),
            invocation=direct_route("amazon.titan-text-express-v1"),
            regions={_FT: NOT_LISTED, _CPT: NOT_LISTED},
            limits={_FT: titan_ft_limits(TITAN_EXPRESS_TOKENS), _CPT: titan_cpt_limits(TITAN_EXPRESS_TOKENS)},
        ),
        _model(
            "amazon.titan-text-lite-v1:0:4k",
            "Titan Text G1 - Lite",
            "amazon",
            _TITAN_FORMATS,
            TITAN_EXPRESS_LITE_HP,
            lifecycle=unknown_lifecycle(NO_CARD),
            invocation=direct_route("amazon.titan-text-lite-v1"),
            regions={_FT: NOT_LISTED, _CPT: NOT_LISTED},
            limits={_FT: titan_ft_limits(TITAN_LITE_TOKENS), _CPT: titan_cpt_limits(TITAN_LITE_TOKENS)},
        ),
        _model(
            "amazon.titan-text-premier-v1:0:32k",
            "Titan Text G1 - Premier",
            "amazon",
            {_FT: DatasetFormat.PROMPT_COMPLETION},
            TITAN_PREMIER_HP,
            lifecycle=unknown_lifecycle(NO_CARD),
            invocation=direct_route("amazon.titan-text-premier-v1:0"),
            regions={_FT: NOT_LISTED},
            limits={_FT: titan_ft_limits(TITAN_PREMIER_TOKENS)},
        ),
        _model(
            "amazon.nova-micro-v1:0:128k",
            "Nova Micro",
            "amazon",
            _NOVA_FORMATS,
            NOVA_HP,
            lifecycle=NOVA1_LIFECYCLE,
            invocation=nova1_route("amazon.nova-micro-v1:0"),
            regions={_FT: US_EAST_1, _DIST: student_regions(US_EAST_1)},
            on_demand=NOVA_ON_DEMAND,
            hp_source=NOVA_HP_SOURCE,
            limits={_FT: nova_ft_limits(NO_MEDIA), _DIST: distillation_limits(False, NOVA_TOKENS)},
        ),
        _model(
            "amazon.nova-lite-v1:0:300k",
            "Nova Lite",
            "amazon",
            _NOVA_FORMATS,
            NOVA_HP,
            lifecycle=NOVA1_LIFECYCLE,
            invocation=nova1_route("amazon.nova-lite-v1:0"),
            regions={_FT: US_EAST_1, _DIST: student_regions(US_EAST_1)},
            on_demand=NOVA_ON_DEMAND,
            hp_source=NOVA_HP_SOURCE,
            limits={_FT: nova_ft_limits(NOVA_MEDIA), _DIST: distillation_limits(False, NOVA_TOKENS)},
        ),
        _model(
            "amazon.nova-pro-v1:0:300k",
            "Nova Pro",
            "amazon",
            _NOVA_FORMATS,
            NOVA_HP,
            lifecycle=NOVA1_LIFECYCLE,
            invocation=nova1_route("amazon.nova-pro-v1:0"),
            regions={_FT: US_EAST_1, _DIST: student_regions(US_EAST_1)},
            on_demand=NOVA_ON_DEMAND,
            hp_source=NOVA_HP_SOURCE,
            limits={_FT: nova_ft_limits(NOVA_MEDIA), _DIST: distillation_limits(False, NOVA_TOKENS)},
        ),
        # Nova 2 Lite: fine-tuning (us-east-1, the fine-tuning table in availability.py) and, per the Nova 2
        # guide's platform table (https://docs.aws.amazon.com/nova/latest/nova2-userguide/customization.html),
        # distillation on Bedrock; reinforcement fine-tuning per its own table (RFT_TABLE in availability.py).
        # AWS publishes no Bedrock hyperparameter table for it in the pages we read, so none is accepted and
        # Bedrock applies its defaults; it is not among the base models of on-demand deployment.
        _model(
            "amazon.nova-2-lite-v1:0:256k",
            "Nova 2 Lite",
            "amazon",
            {**_NOVA_FORMATS, _RFT: DatasetFormat.RFT_PROMPTS},
            {},
            lifecycle=active_lifecycle(
                MODEL_CARDS_AMAZON, "listed among the models available in Amazon Bedrock with no Legacy or EOL date"
            ),
            invocation=InvocationRoute(
                "amazon.nova-2-lite-v1:0",
                NOVA2_ROUTE_SOURCE,
                in_region=frozenset(),
                profile_prefix="us",
                note="AWS's examples invoke it as us.amazon.nova-2-lite-v1:0 (or global.); no in-Region id is documented",
            ),
            regions={_FT: US_EAST_1, _DIST: student_regions(US_EAST_1), _RFT: RFT_US_EAST_1},
            notes=(
                "no hyperparameter ranges are published for Nova 2 Lite on Bedrock in the pages we read; the job uses Bedrock's defaults",
                f"reinforcement fine-tuning takes the RFT hyperparameters ({RFT_HP_SOURCE}), with no published defaults",
                "no RFT price figure is recorded: an estimate leaves its training cost unknown",
            ),
            limits={_FT: NOVA2_FT, _DIST: distillation_limits(False, NOVA2_TOKENS), _RFT: NOVA2_RFT},
            hp_by_type={_RFT: RFT_HP},
        ),
        _model(
            "anthropic.claude-3-haiku-20240307-v1:0:200k",
            "Claude 3 Haiku",
            "anthropic",
            {_FT: DatasetFormat.CLAUDE_MESSAGES, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            HAIKU_HP,
            lifecycle=HAIKU_LIFECYCLE,
            invocation=direct_route("anthropic.claude-3-haiku-20240307-v1:0"),
            regions={_FT: US_WEST_2, _DIST: student_regions(US_WEST_2)},
            limits={_FT: HAIKU_FT, _DIST: distillation_limits(True, HAIKU_TOKENS)},
        ),
        _model(
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "Llama 3.1 8B Instruct",
            "meta",
            {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            LLAMA_HP,
            lifecycle=unknown_lifecycle(NO_CARD),
            invocation=direct_route("meta.llama3-1-8b-instruct-v1:0"),
            regions=_LLAMA_31_REGIONS,
            hp_source=LLAMA_31_HP_SOURCE,
            limits={_FT: LLAMA_31_FT, _DIST: distillation_limits(True, LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-1-70b-instruct-v1:0:128k",
            "Llama 3.1 70B Instruct",
            "meta",
            {_FT: DatasetFormat.PROMPT_COMPLETION, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            LLAMA_HP,
            lifecycle=LLAMA_31_70B_LIFECYCLE,
            invocation=direct_route("meta.llama3-1-70b-instruct-v1:0"),
            regions=_LLAMA_31_REGIONS,
            hp_source=LLAMA_31_HP_SOURCE,
            limits={_FT: LLAMA_31_FT, _DIST: distillation_limits(True, LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-1b-instruct-v1:0:128k",
            "Llama 3.2 1B Instruct",
            "meta",
            _LLAMA_32_FORMATS,
            LLAMA_HP,
            lifecycle=LLAMA_32_SMALL_LIFECYCLE,
            invocation=llama_profile_route("meta.llama3-2-1b-instruct-v1:0"),
            regions=_LLAMA_32_REGIONS,
            hp_source=LLAMA_32_HP_SOURCE,
            limits={_FT: llama_32_ft_limits(LLAMA_TOKENS, NO_MEDIA), _DIST: distillation_limits(True, LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-3b-instruct-v1:0:128k",
            "Llama 3.2 3B Instruct",
            "meta",
            _LLAMA_32_FORMATS,
            LLAMA_HP,
            lifecycle=LLAMA_32_SMALL_LIFECYCLE,
            invocation=llama_profile_route("meta.llama3-2-3b-instruct-v1:0"),
            regions=_LLAMA_32_REGIONS,
            hp_source=LLAMA_32_HP_SOURCE,
            limits={_FT: llama_32_ft_limits(LLAMA_TOKENS, NO_MEDIA), _DIST: distillation_limits(True, LLAMA_TOKENS)},
        ),
        _model(
            "meta.llama3-2-11b-instruct-v1:0:128k",
            "Llama 3.2 11B Vision Instruct",
            "meta",
            {_FT: DatasetFormat.CONVERSATION_2024},
            LLAMA_HP,
            lifecycle=LLAMA_32_SMALL_LIFECYCLE,
            invocation=llama_profile_route("meta.llama3-2-11b-instruct-v1:0"),
            regions={_FT: US_WEST_2},
            hp_source=LLAMA_32_HP_SOURCE,
            limits={_FT: llama_32_ft_limits(LLAMA_TOKENS, LLAMA_IMAGES)},
        ),
        _model(
            "meta.llama3-2-90b-instruct-v1:0:128k",
            "Llama 3.2 90B Vision Instruct",
            "meta",
            {_FT: DatasetFormat.CONVERSATION_2024},
            LLAMA_HP,
            lifecycle=LLAMA_32_90B_LIFECYCLE,
            invocation=llama_profile_route("meta.llama3-2-90b-instruct-v1:0"),
            regions={_FT: US_WEST_2_LATE_ROWS},
            hp_source=LLAMA_32_HP_SOURCE,
            limits={_FT: llama_32_ft_limits(LLAMA_90B_TOKENS, LLAMA_IMAGES)},
        ),
        _model(
            "meta.llama3-3-70b-instruct-v1:0:128k",
            "Llama 3.3 70B Instruct",
            "meta",
            {_FT: DatasetFormat.CONVERSATION_2024, _DIST: DatasetFormat.DISTILLATION_PROMPTS},
            LLAMA_HP,
            lifecycle=unknown_lifecycle(NO_CARD),
            invocation=llama_profile_route("meta.llama3-3-70b-instruct-v1:0"),
            regions={_FT: US_WEST_2_LATE_ROWS, _DIST: student_regions(US_WEST_2_LATE_ROWS)},
            notes=("no hyperparameter page for Llama 3.3 was found; Llama 3.1/3.2's table is assumed",),
            limits={_FT: LLAMA_33_FT, _DIST: distillation_limits(True, LLAMA_TOKENS)},
        ),
        _model(
            "cohere.command-text-v14:7:4k",
            "Cohere Command",
            "cohere",
            {_FT: DatasetFormat.PROMPT_COMPLETION},
            cohere_hyperparameters(8),
            lifecycle=unknown_lifecycle(NO_CARD),
            invocation=direct_route("cohere.command-text-v14"),
            regions={_FT: NOT_LISTED},
            hp_source=COHERE_HP_SOURCE,
            limits={_FT: COHERE_FT},
        ),
        _model(
            "cohere.command-light-text-v14:7:4k",
            "Cohere Command Light",
            "cohere",
            {_FT: DatasetFormat.PROMPT_COMPLETION},
            cohere_hyperparameters(32),
            lifecycle=unknown_lifecycle(NO_CARD),
            invocation=direct_route("cohere.command-light-text-v14"),
            regions={_FT: NOT_LISTED},
            hp_source=COHERE_HP_SOURCE,
            limits={_FT: COHERE_FT},
        ),
    )
}


# Teachers: Nova Pro ("Teacher and student") and Nova Premier ("Teacher") per the Nova guide's customization
# table (https://docs.aws.amazon.com/nova/latest/userguide/customization.html, read 2026-12-04). The others
# were recorded earlier from the distillation table, which was not readable in the stored copy this time.
TEACHER_MODELS: dict[str, TeacherSpec] = {
    teacher.model_id: teacher
    for teacher in (
        TeacherSpec(
            "amazon.nova-premier-v1:0",
            "Nova Premier",
            NOVA_PREMIER_LIFECYCLE,
            InvocationRoute(
                "amazon.nova-premier-v1:0", NOVA_PREMIER_ROUTE_SOURCE, in_region=frozenset(), profile_prefix="us"
            ),
        ),
        TeacherSpec("amazon.nova-pro-v1:0", "Nova Pro", NOVA1_LIFECYCLE, nova1_route("amazon.nova-pro-v1:0")),
        TeacherSpec(
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "Claude 3.5 Sonnet",
            unknown_lifecycle(NO_CARD),
            direct_route("anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ),
        TeacherSpec(
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "Claude 3.5 Sonnet v2",
            unknown_lifecycle(NO_CARD + "; shared/bedrock-reference.md (secondary) gives EOL 2026-07-30"),
            direct_route("anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ),
        TeacherSpec(
            "meta.llama3-1-405b-instruct-v1:0",
            "Llama 3.1 405B Instruct",
            LLAMA_31_405B_LIFECYCLE,
            direct_route("meta.llama3-1-405b-instruct-v1:0"),
        ),
        TeacherSpec(
            "meta.llama3-1-70b-instruct-v1:0",
            "Llama 3.1 70B Instruct",
            LLAMA_31_70B_LIFECYCLE,
            direct_route("meta.llama3-1-70b-instruct-v1:0"),
        ),
        TeacherSpec(
            "meta.llama3-3-70b-instruct-v1:0",
            "Llama 3.3 70B Instruct",
            unknown_lifecycle(NO_CARD),
            llama_profile_route("meta.llama3-3-70b-instruct-v1:0"),
        ),
    )
}
