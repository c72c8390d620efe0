"""Distilling from the account's model invocation logs instead of an uploaded prompt file.

A profile may name the S3 location where Bedrock's model invocation logging delivers its records; a run of
that profile then sends ``trainingDataConfig.invocationLogsConfig`` instead of ``s3Uri``, and Bedrock reads
the records itself. Facts, read 2026-12-07:

* The request: ``InvocationLogsConfig`` has ``invocationLogSource`` (a union: ``s3Uri``, required),
  ``usePromptResponse`` (default false) and ``requestMetadataFilters`` (a union of ``equals`` / ``notEquals``,
  maps of exactly one key, and ``andAll`` / ``orAll``, lists of 1–16 such base filters). Keys match
  ``[a-zA-Z0-9\\s._:/=+$@-]{1,256}``, values the same with length 0–256 (botocore's bedrock service model,
  shapes InvocationLogsConfig, RequestMetadataFilters, RequestMetadataBaseFilters, RequestMetadataMap;
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_InvocationLogsConfig.html).
* Who takes it: distillation (https://docs.aws.amazon.com/bedrock/latest/userguide/distillation-data-prep-option-2.html)
  and reinforcement fine-tuning (https://docs.aws.amazon.com/bedrock/latest/userguide/rft-option-2.html).
* Which records: at most 15K prompts or prompt-response pairs; with ``usePromptResponse`` Bedrock trains on
  the logged responses "generated from the model in your invocation logs that exactly match with the teacher
  model you've chosen" and does not ask the teacher again; without it, it takes the prompts (from any model)
  and the teacher answers them (distillation-data-prep-option-2.html). ``requestMetadata`` is what the
  caller set on the Converse / InvokeModel call: at most 16 pairs of at most 256 characters.
* The records: gzipped JSON files of ``ModelInvocationLog`` records (``schemaType``, ``modelId``,
  ``operation``, ``input.inputBodyJson``, ``output.outputBodyJson``, ``requestMetadata``) under
  ``<prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/`` of the logging bucket
  (https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html, "Log entry format"
  and the bucket policy of "Set up an Amazon S3 destination").
* The service role reads them with ``s3:GetObject`` and ``s3:ListBucket`` on the bucket and its objects
  (https://docs.aws.amazon.com/bedrock/latest/userguide/rft-access-security.html, "Invocation log access").
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from lambdas.domain.bedrock_requests import string_rule

MAX_RECORDS = 15_000  # prompts or prompt-response pairs a job takes (distillation-data-prep-option-2.html)
LOG_RECORD_SCHEMA = "ModelInvocationLog"
# Where Bedrock delivers the records under the logging configuration's key prefix (model-invocation-logging.html).
LOGS_FOLDER = "AWSLogs/{account}/BedrockModelInvocationLogs/"

MetadataKey = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\s._:/=+$@-]{1,256}$")]
MetadataValue = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9\s._:/=+$@-]{0,256}$")]
# EventBridge schedule expressions (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html,
# read 2026-12-07): rate(value unit) with a positive whole value, the unit singular for 1 and plural otherwise; or
# cron(minutes hours day-of-month month day-of-week year).
_RATE = re.compile(r"^rate\((?P<value>[1-9]\d*) (?P<unit>minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_pair(value: dict[str, str] | None, name: str) -> None:
    if value is not None and len(value) != 1:
        raise ValueError(f"{name} names exactly one metadata key (Bedrock's RequestMetadataMap holds one pair)")


class MetadataCondition(_Strict):
    """A base filter: one metadata key that must (``equals``) or must not (``not_equals``) have a value."""

    equals: dict[MetadataKey, MetadataValue] | None = None
    not_equals: dict[MetadataKey, MetadataValue] | None = None

    @model_validator(mode="after")
    def _one(self) -> "MetadataCondition":
        if (self.equals is None) == (self.not_equals is None):
            raise ValueError("set exactly one of equals or not_equals")
        _one_pair(self.equals, "equals")
        _one_pair(self.not_equals, "not_equals")
        return self

    def to_bedrock(self) -> dict[str, dict[str, str]]:
        return {"equals": dict(self.equals)} if self.equals is not None else {"notEquals": dict(self.not_equals or {})}

    def matches(self, metadata: Mapping[str, str]) -> bool:
        if self.equals is not None:
            return all(metadata.get(key) == value for key, value in self.equals.items())
        # "Include results where the key does not equal the value": a record without the key does not equal it.
        return all(metadata.get(key) != value for key, value in (self.not_equals or {}).items())


class RequestMetadataFilters(_Strict):
    """Bedrock's RequestMetadataFilters union: one condition, or all / any of 1–16 conditions."""

    equals: dict[MetadataKey, MetadataValue] | None = None
    not_equals: dict[MetadataKey, MetadataValue] | None = None
    and_all: tuple[MetadataCondition, ...] | None = Field(default=None, min_length=1, max_length=16)
    or_all: tuple[MetadataCondition, ...] | None = Field(default=None, min_length=1, max_length=16)

    @model_validator(mode="after")
    def _one(self) -> "RequestMetadataFilters":
        chosen = [name for name in ("equals", "not_equals", "and_all", "or_all") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"set exactly one of equals, not_equals, and_all or or_all (Bedrock takes one operator), got {chosen or 'none'}"
            )
        _one_pair(self.equals, "equals")
        _one_pair(self.not_equals, "not_equals")
        return self

    def to_bedrock(self) -> dict[str, Any]:
        if self.and_all is not None:
            return {"andAll": [condition.to_bedrock() for condition in self.and_all]}
        if self.or_all is not None:
            return {"orAll": [condition.to_bedrock() for condition in self.or_all]}
        return MetadataCondition(equals=self.equals, not_equals=self.not_equals).to_bedrock()

    def matches(self, metadata: Mapping[str, str]) -> bool:
        if self.and_all is not None:
            return all(condition.matches(metadata) for condition in self.and_all)
        if self.or_all is not None:
            return any(condition.matches(metadata) for condition in self.or_all)
        return MetadataCondition(equals=self.equals, not_equals=self.not_equals).matches(metadata)


class InvocationLogsSettings(_Strict):
    """Where the account's invocation logs are and which of them a run learns from."""

    s3_uri: str = Field(
        description="The model-invocation-logging bucket and prefix, e.g. s3://acme-bedrock-logs/bedrock/ "
        "(the account's, not necessarily one of tuneforge's buckets)."
    )
    use_prompt_response: bool = Field(
        default=False,
        description="Train on the logged responses of the teacher model instead of asking the teacher again.",
    )
    request_metadata_filters: RequestMetadataFilters | None = None
    schedule: str | None = Field(
        default=None, description="An EventBridge schedule expression, rate(7 days) or cron(0 3 ? * MON *)."
    )
    kms_key_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$",
        description="The KMS key the log bucket encrypts with (SSE-KMS), if any.",
    )

    @field_validator("s3_uri")
    @classmethod
    def _bedrock_s3_uri(cls, value: str) -> str:
        rule = string_rule("S3Uri")
        if not rule.admits(value):
            raise ValueError(
                f"s3_uri {value!r} is not an S3 URI Bedrock takes (s3://bucket/prefix/, pattern {rule.pattern})"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_expression(cls, value: str | None) -> str | None:
        if value is None or _CRON.match(value):
            return value
        rate = _RATE.match(value)
        if rate is None:
            raise ValueError(f"schedule {value!r} is neither rate(value unit) nor cron(six fields)")
        if (rate["value"] == "1") != (not rate["unit"].endswith("s")):
            raise ValueError(
                f"schedule {value!r}: the unit is singular for 1 and plural otherwise (rate(1 day), rate(7 days))"
            )
        return value

    @property
    def bucket(self) -> str:
        return self.s3_uri.removeprefix("s3://").split("/", 1)[0]

    @property
    def prefix(self) -> str:
        """The key prefix under the bucket, '' or ending in '/'."""
        rest = self.s3_uri.removeprefix("s3://").partition("/")[2]
        return rest if not rest or rest.endswith("/") else rest + "/"

    def to_bedrock(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "invocationLogSource": {"s3Uri": self.s3_uri},
            "usePromptResponse": self.use_prompt_response,
        }
        if self.request_metadata_filters is not None:
            config["requestMetadataFilters"] = self.request_metadata_filters.to_bedrock()
        return config


# -- the records -----------------------------------------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def logged_prompt(body: Mapping[str, Any]) -> str | None:
    """The first user turn of a logged request body: Converse / Nova / Anthropic messages, or a bare prompt."""
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content")) or None
    for key in ("prompt", "inputText"):
        if isinstance(body.get(key), str):
            return str(body[key])
    return None


def logged_response(body: Mapping[str, Any]) -> str | None:
    """The answer of a logged response body: Converse / Nova (output.message), Anthropic (content), completion."""
    message = (body.get("output") or {}).get("message") if isinstance(body.get("output"), dict) else None
    if isinstance(message, dict):
        return _text(message.get("content")) or None
    if isinstance(body.get("content"), list):
        return _text(body["content"]) or None
    for key in ("completion", "generation", "outputText"):
        if isinstance(body.get(key), str):
            return str(body[key])
    results = body.get("results")
    if isinstance(results, list) and results and isinstance(results[0], dict):
        return results[0].get("outputText")
    return None


class LoggedInvocation(BaseModel):
    model_id: str
    prompt: str
    response: str | None
    metadata: dict[str, str]


def parse_record(record: Mapping[str, Any]) -> LoggedInvocation | None:
    """A ModelInvocationLog record's model, prompt, response and request metadata; None for anything else."""
    if record.get("schemaType") != LOG_RECORD_SCHEMA:
        return None
    prompt = logged_prompt((record.get("input") or {}).get("inputBodyJson") or {})
    if not prompt:
        return None
    return LoggedInvocation(
        model_id=str(record.get("modelId") or ""),
        prompt=prompt,
        response=logged_response((record.get("output") or {}).get("outputBodyJson") or {}),
        metadata={str(k): str(v) for k, v in (record.get("requestMetadata") or {}).items()},
    )


def selected(
    invocations: Iterable[LoggedInvocation], settings: InvocationLogsSettings, teacher_model: str | None
) -> list[LoggedInvocation]:
    """The records a job learns from, as the distillation guide describes: those the filters admit; with
    use_prompt_response only the teacher's own responses; at most MAX_RECORDS."""
    filters = settings.request_metadata_filters
    chosen = [
        invocation
        for invocation in invocations
        if (filters is None or filters.matches(invocation.metadata))
        and (not settings.use_prompt_response or (invocation.model_id == teacher_model and invocation.response))
    ]
    return chosen[:MAX_RECORDS]
