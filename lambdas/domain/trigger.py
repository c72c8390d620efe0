"""From an uploaded object to exactly one execution of the pipeline."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from pydantic import ValidationError

from lambdas.domain.abnormal_end import claim_notification, release_notification
from lambdas.domain.profiles import TuningProfile
from lambdas.domain.registry import IGNORED_UPLOAD, RunRegistry
from lambdas.domain.runs import (
    MANIFEST_NAME,
    Dataset,
    Manifest,
    ManifestError,
    RunInput,
    S3ObjectRef,
    UploadKind,
    classify_upload,
    run_id_for,
    utc_now,
)


@dataclass(frozen=True)
class TriggerOutcome:
    started: bool
    reason: str
    run_id: str | None = None
    execution_arn: str | None = None
    duplicate: bool = False
    # An upload that starts nothing and was not meant to: the uploader is told (notices.announce_ignored_upload).
    refused: bool = False
    remedy: str = ""
    profile: str | None = None
    # A file of a dataset folder: the folder waits for its manifest (awaiting_manifest.await_manifest).
    awaiting_manifest: bool = False


MANIFEST_HELP = "README, 'How an upload becomes exactly one run'"


def start_run_for_upload(
    obj: S3ObjectRef,
    *,
    load_profile: Callable[[str], TuningProfile | None],
    read_object: Callable[[S3ObjectRef], bytes],
    registry: RunRegistry,
    stepfunctions: Any,
    state_machine_arn: str,
    uploaded_at: str | None = None,
    sequencer: str | None = None,
) -> TriggerOutcome:
    """Start the pipeline for ``obj`` once per object version, however often its event arrives."""
    upload = classify_upload(obj.key)
    if upload.kind is UploadKind.IGNORED:
        return TriggerOutcome(
            False,
            f"ignored {obj.key}: {upload.reason}",
            refused=not upload.expected,
            remedy=upload.remedy,
            profile=upload.profile,
            awaiting_manifest=upload.expected and upload.profile is not None,
        )
    profile = load_profile(upload.profile or "")
    if profile is None:
        return TriggerOutcome(
            False,
            f"ignored {obj.key}: no profile named {upload.profile!r} is deployed in this stage",
            refused=True,
            remedy="upload it again under incoming/<profile>/ of a deployed profile (`tuneforge submit --profile NAME` lists them)",
            profile=upload.profile,
        )

    if upload.kind is UploadKind.MANIFEST:
        try:
            dataset = Manifest.model_validate_json(read_object(obj)).dataset(obj)
        except (ValidationError, ManifestError) as bad_manifest:
            return TriggerOutcome(
                False,
                f"ignored {obj.key}: invalid manifest: {_one_line(bad_manifest)}",
                refused=True,
                remedy=f"fix {MANIFEST_NAME} and upload it again (the files it names may stay); see {MANIFEST_HELP}",
                profile=profile.name,
            )
    else:
        dataset = Dataset(trigger=obj, training=obj)
    dataset = dataset.model_copy(update={"uploaded_at": uploaded_at, "sequencer": sequencer})

    run = RunInput(run_id=run_id_for(profile.name, obj), profile=profile, dataset=dataset, started_at=utc_now())
    execution_arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{run.run_id}"
    stored = registry.record_start(run, execution_arn=execution_arn, epoch_seconds=int(time.time()))
    duplicate = TriggerOutcome(
        False,
        f"duplicate event for {obj.uri} version {obj.version_id}: run {run.run_id} already exists",
        run.run_id,
        execution_arn,
        duplicate=True,
    )
    if stored.get("execution_started"):
        return duplicate
    # The first attempt's start time makes a retried start send identical input, which Step Functions
    # answers with the existing execution instead of a second one.
    run = run.model_copy(update={"started_at": stored["started_at"]})
    try:
        response = stepfunctions.start_execution(
            stateMachineArn=state_machine_arn, name=run.run_id, input=run.model_dump_json()
        )
    except stepfunctions.exceptions.ExecutionAlreadyExists:
        return duplicate
    registry.update(run.run_id, execution_started=True)
    return TriggerOutcome(True, f"started run {run.run_id} for {obj.uri}", run.run_id, response["executionArn"])


def _one_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        # Every problem, not the first: a misspelt key is both "training: Field required" and the extra
        # key, and only the second says what to fix.
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'manifest'}: {e['msg']}" for e in error.errors(include_url=False)
        )
    return str(error).splitlines()[0]


def parse_profile_parameter(value: str) -> TuningProfile:
    return TuningProfile.model_validate(json.loads(value))


def ignored_upload_notice(obj: S3ObjectRef, outcome: TriggerOutcome, *, record_id: str) -> dict[str, Any]:
    """The notice of an upload that started nothing: what it was, why, what to do; ``outcome`` first, as in
    every notice. Its outcome is IGNORED_UPLOAD, no run's (outcomes.Outcome): no run exists."""
    return {
        "outcome": IGNORED_UPLOAD,
        "key": obj.key,
        "version_id": obj.version_id,
        "bucket": obj.bucket,
        "profile": outcome.profile,
        "reason": outcome.reason,
        "what_to_do": outcome.remedy,
        "registry_item": record_id,
    }


def announce_ignored_upload(
    obj: S3ObjectRef, outcome: TriggerOutcome, *, registry: RunRegistry, sns: Any, topic_arn: str, epoch_seconds: int
) -> dict[str, Any]:
    """Leave the registry record, then tell the topic, once: the record is claimed before publishing (as an
    abnormal end is), so a repeated event stays quiet and a failed publish lets the retried delivery publish."""
    record_id = registry.record_ignored_upload(
        obj, reason=outcome.reason, remedy=outcome.remedy, profile=outcome.profile, epoch_seconds=epoch_seconds
    )
    message = ignored_upload_notice(obj, outcome, record_id=record_id)
    if claim_notification(registry, record_id, IGNORED_UPLOAD):
        try:
            publish_ignored_upload(sns, topic_arn, message)
        except Exception:
            release_notification(registry, record_id)
            raise
    return message


def publish_ignored_upload(sns: Any, topic_arn: str, message: dict[str, Any]) -> None:
    """Publish an ignored upload's notice (ignored_upload_notice's fields, or awaiting_manifest's)."""
    profile = message.get("profile")
    sns.publish(
        TopicArn=topic_arn,
        # A subject is text with no line breaks or control characters, under 100 characters (SNS Publish
        # API, Subject: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html, read 2026-12-07): the
        # key, which may be any of these, is in the message only.
        Subject="tuneforge upload ignored",
        Message=json.dumps(message),
        MessageAttributes={
            "outcome": {"DataType": "String", "StringValue": IGNORED_UPLOAD},
            **({"profile": {"DataType": "String", "StringValue": profile}} if profile else {}),
        },
    )
