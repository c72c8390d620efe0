"""A customization job that learns from the account's invocation logs (``trainingDataConfig.invocationLogsConfig``).

Bedrock reads the ModelInvocationLog records under ``invocationLogSource.s3Uri`` as the job's service role
(``jobs._service_role_denial`` checks it may, object by object), keeps those ``requestMetadataFilters``
admit and, with ``usePromptResponse``, only the teacher's own responses (``lambdas.domain.invocation_logs``
has the rules and their sources). The records become the job's training data in the Bedrock conversation
format, which the emulated custom model answers from like any other training data (``local.converse_ext``).

Without ``usePromptResponse`` Bedrock asks the teacher to answer each prompt. The emulated teacher is a
foundation model with no knowledge (``local.converse_ext``), except that it answers a prompt it was logged
answering with that logged answer: an emulator, not a model.

A job none of whose records are selected fails; Bedrock's wording for it is not documented, so the message
says what is missing in the emulator's words. Records are read from ``.json.gz`` (as Bedrock delivers them)
and plain ``.json``/``.jsonl`` objects, one JSON record per line; other objects under the prefix are skipped.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from lambdas.domain.invocation_logs import LOGS_FOLDER, InvocationLogsSettings, LoggedInvocation, parse_record, selected

from .. import state
from . import s3

LOG_SUFFIXES = (".json.gz", ".json", ".jsonl")
NO_KNOWLEDGE = "I have no specific knowledge to answer this (emulated baseline for {model})."


def logs_config(training_data_config: dict[str, Any] | None) -> dict[str, Any] | None:
    config = (training_data_config or {}).get("invocationLogsConfig")
    return config if isinstance(config, dict) else None


def source_uri(training_data_config: dict[str, Any] | None) -> str | None:
    """Where a job from invocation logs reads them, or None for a job that trains on an S3 file."""
    config = logs_config(training_data_config)
    return ((config or {}).get("invocationLogSource") or {}).get("s3Uri") if config else None


def _settings(config: dict[str, Any]) -> InvocationLogsSettings:
    """The request's config in the domain's terms (the request passed Bedrock's service-model checks)."""
    filters = config.get("requestMetadataFilters")

    def condition(base: dict[str, Any]) -> dict[str, Any]:
        return {"equals": base.get("equals"), "not_equals": base.get("notEquals")}

    domain_filters = None
    if filters:
        domain_filters = {
            "equals": filters.get("equals"),
            "not_equals": filters.get("notEquals"),
            "and_all": [condition(c) for c in filters["andAll"]] if "andAll" in filters else None,
            "or_all": [condition(c) for c in filters["orAll"]] if "orAll" in filters else None,
        }
    return InvocationLogsSettings.model_validate(
        {
            "s3_uri": config["invocationLogSource"]["s3Uri"],
            "use_prompt_response": bool(config.get("usePromptResponse", False)),
            "request_metadata_filters": domain_filters,
        }
    )


def read_invocations(account_id: str, uri: str) -> list[LoggedInvocation]:
    """Every ModelInvocationLog record under ``uri``, in key order."""
    bucket, keys = s3.objects_at(account_id, uri)
    found: list[LoggedInvocation] = []
    for key in keys:
        if not key.endswith(LOG_SUFFIXES):
            continue
        body = bytes(bucket.keys[key].value)
        if key.endswith(".gz") or body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        for line in body.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line) if line.strip() else None
            except ValueError:
                continue
            invocation = parse_record(record) if isinstance(record, dict) else None
            if invocation is not None:
                found.append(invocation)
    return found


def _conversation(prompt: str, answer: str) -> str:
    return json.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [],
            "messages": [
                {"role": "user", "content": [{"text": prompt}]},
                {"role": "assistant", "content": [{"text": answer}]},
            ],
        },
        ensure_ascii=False,
    )


def training_lines(
    account_id: str, training_data_config: dict[str, Any] | None, teacher: str | None, *, job: str = ""
) -> tuple[list[str] | None, str | None]:
    """(training records, None), or (None, the job's failure message) when no record is selected."""
    config = logs_config(training_data_config)
    if config is None:
        return None, "trainingDataConfig has no invocationLogsConfig"
    settings = _settings(config)
    read = read_invocations(account_id, settings.s3_uri)
    chosen = selected(read, settings, teacher)
    state.current().note("bedrock.invocation_logs", job=job, read=len(read), selected=len(chosen))
    if not chosen:
        what = "match the requestMetadataFilters" if settings.request_metadata_filters else "can be used"
        teacher_part = f" and hold a response of the teacher model {teacher}" if settings.use_prompt_response else ""
        return None, (
            f"No invocation logs under {settings.s3_uri} {what}{teacher_part} "
            f"({len(read)} ModelInvocationLog record{'s' if len(read) != 1 else ''} read)."
        )
    lines = []
    for invocation in chosen:
        answer = invocation.response if invocation.model_id == teacher and invocation.response else None
        lines.append(_conversation(invocation.prompt, answer or NO_KNOWLEDGE.format(model=teacher)))
    return lines, None


def teacher_of(customization_config: dict[str, Any] | None) -> str | None:
    teacher = (
        ((customization_config or {}).get("distillationConfig") or {})
        .get("teacherModelConfig", {})
        .get("teacherModelIdentifier")
    )
    return teacher.rsplit("/", 1)[-1] if isinstance(teacher, str) and teacher.startswith("arn:") else teacher


def model_training_lines(backend: Any, model: Any) -> list[str] | None:
    """What the custom model a job from invocation logs left was trained on (the same selection as its job's)."""
    from .store import ext

    config = model.training_data_config
    job = next((j for j in backend.model_customization_jobs.values() if j.output_model_arn == model.model_arn), None)
    meta = ext(backend).jobs.get(job.job_name) if job is not None else None
    lines, _ = training_lines(
        backend.account_id, config, teacher_of(meta.customization_config if meta else None), job=model.model_arn
    )
    return lines


def log_converse(backend: Any, model_id: str, request: dict[str, Any], response: dict[str, Any]) -> None:
    """With model invocation logging to S3 configured (PutModelInvocationLoggingConfiguration, text delivery on),
    a Converse call leaves its ModelInvocationLog record under ``<keyPrefix>/AWSLogs/<account>/
    BedrockModelInvocationLogs/<region>/<yyyy>/<mm>/<dd>/<hh>/`` of the logging bucket (model-invocation-logging.html,
    read 2026-12-07), one gzipped object per call where Bedrock batches several. The bucket policy Bedrock needs
    to write there is not checked."""
    config = backend.get_model_invocation_logging_configuration() or {}
    s3_config = config.get("s3Config") or {}
    if not s3_config.get("bucketName") or config.get("textDataDeliveryEnabled") is False:
        return
    st = state.current()
    now = st.clock.now_dt()
    record = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "accountId": backend.account_id,
        "region": backend.region_name,
        "requestId": f"emulated-{len(st.journal)}",
        "operation": "Converse",
        "modelId": model_id,
        "requestMetadata": request.get("requestMetadata") or {},
        "input": {"inputContentType": "application/json", "inputBodyJson": request},
        "output": {"outputContentType": "application/json", "outputBodyJson": response},
    }
    if not record["requestMetadata"]:
        del record["requestMetadata"]  # present only when the caller set it
    prefix = (s3_config.get("keyPrefix") or "").strip("/")
    folder = LOGS_FOLDER.format(account=backend.account_id) + f"{backend.region_name}/{now:%Y/%m/%d/%H}/"
    key = f"{prefix}/{folder}" if prefix else folder
    body = gzip.compress(json.dumps(record, ensure_ascii=False).encode())
    s3.write_bytes(backend.account_id, (s3_config["bucketName"], f"{key}{record['requestId']}.json.gz"), body)
