"""Hyperparameters Bedrock accepts per model family: names, kinds, ranges and defaults, with their pages."""

from __future__ import annotations

from lambdas.domain.catalogue.schema import HyperParameterSpec, Source


def _hp(
    name: str, kind: type, minimum: float, maximum: float, default: float | int | None, note: str = ""
) -> tuple[str, HyperParameterSpec]:
    return name, HyperParameterSpec(name, kind, minimum, maximum, default, note)


# Hyperparameter tables, each with the page that publishes it. Titan's and Claude 3 Haiku's tables were
# not re-read for this catalogue (no bundled profile can customize those models any more): they are the
# figures recorded in shared/bedrock-reference.md, so their source is None.
NOVA_HP_SOURCE = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-nova-mm.html", "2026-12-04")
NOVA_HP = dict(
    [
        _hp("epochCount", int, 1, 5, 2),
        _hp("learningRate", float, 1e-6, 1e-4, 1e-5),
        _hp("learningRateWarmupSteps", int, 0, 100, 10),
    ]
)
TITAN_EXPRESS_LITE_HP = dict(
    [
        _hp("epochCount", int, 1, 10, 5),
        _hp("batchSize", int, 1, 64, 1),
        _hp("learningRate", float, 0.0, 1.0, 1e-5),
        _hp("learningRateWarmupSteps", int, 0, 250, 5),
    ]
)
TITAN_PREMIER_HP = dict(
    [
        _hp("epochCount", int, 1, 5, 2),
        _hp("batchSize", int, 1, 1, 1),
        _hp("learningRate", float, 1e-7, 1e-5, 1e-6),
        _hp("learningRateWarmupSteps", int, 0, 20, 5),
    ]
)
HAIKU_HP = dict(
    [
        _hp("epochCount", int, 1, 10, 2),
        _hp("batchSize", int, 4, 256, 32),
        _hp("learningRateMultiplier", float, 0.1, 2.0, 1.0),
        _hp("earlyStoppingThreshold", float, 0.0, 0.1, 0.001),
        _hp("earlyStoppingPatience", int, 1, 10, 2),
    ]
)
# Llama 3.1 and 3.2 publish the same table on their own pages; Llama 3.3's page was not found.
LLAMA_31_HP_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-meta-llama31.html", "2026-12-04"
)
LLAMA_32_HP_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-meta-llama32.html", "2026-12-04"
)
LLAMA_HP = dict(
    [
        _hp("epochCount", int, 1, 10, 5),
        _hp("batchSize", int, 1, 1, 1),
        _hp("learningRate", float, 5e-6, 0.1, 1e-4),
    ]
)

COHERE_HP_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/cm-hp-cohere-command.html", "2026-12-04"
)


def cohere_hyperparameters(max_batch: int) -> dict[str, HyperParameterSpec]:
    return dict(
        [
            _hp("epochCount", int, 1, 100, 1),
            _hp("batchSize", int, 8, max_batch, 8),
            _hp(
                "learningRate",
                float,
                5e-6,
                0.1,
                1e-5,
                note="AWS recommends leaving it unset when a validation dataset is given",
            ),
            _hp("earlyStoppingThreshold", float, 0.0, 0.1, 0.01),
            _hp("earlyStoppingPatience", int, 1, 10, 6),
            _hp("evalPercentage", float, 5, 50, 20, note="only used when no validation set is given"),
        ]
    )


# Reinforcement fine-tuning: customizationConfig.rftConfig.hyperParameters (RFTHyperParameters), typed numbers
# rather than the string map of the other types. The ranges are the API reference's and the botocore
# service model's (bedrock 2023-04-20, RFTHyperParameters), which agree; neither publishes a default, so
# none is recorded and Bedrock applies its own. maxPromptLength and inferenceMaxTokens have no published
# range: only "a count of tokens is at least 1" is checked. reasoningEffort is the service model's
# ReasoningEffort enum (low | medium | high).
RFT_HP_SOURCE = Source(
    "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_RFTHyperParameters.html", "2026-12-07"
)
_NO_RANGE = "no range is published (API reference, service model); only a positive token count is checked"
RFT_HP = dict(
    [
        _hp("epochCount", int, 1, 50, None),
        _hp("batchSize", int, 16, 512, None),
        _hp("learningRate", float, 1e-7, 1e-3, None),
        _hp("trainingSamplePerPrompt", int, 2, 16, None, note="responses sampled per prompt for the grader"),
        _hp("evalInterval", int, 1, 100, None, note="training steps between evaluations"),
        _hp("maxPromptLength", int, 1, float("inf"), None, note=_NO_RANGE),
        _hp("inferenceMaxTokens", int, 1, float("inf"), None, note=_NO_RANGE),
        ("reasoningEffort", HyperParameterSpec("reasoningEffort", str, 0, 0, None, choices=("low", "medium", "high"))),
    ]
)
