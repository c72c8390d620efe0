"""A run: one dataset object version going through the pipeline once.

Names, tokens and the registry record live here, as pure functions and typed models, so the trigger,
every step and the CLI derive the same identifiers from the same inputs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timezone
from enum import Enum
from pathlib import PurePosixPath
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict, Field

from lambdas.domain.bedrock_requests import StringRule, string_rule
from lambdas.domain.names import INCOMING_PREFIX
from lambdas.domain.profiles import TuningProfile

MANIFEST_NAME = "manifest.json"
DATASET_SUFFIXES = (".jsonl",)


class RunStatus(str, Enum):
    STARTED = "STARTED"
    VALIDATING = "VALIDATING"
    REJECTED = "REJECTED"
    TRAINING = "TRAINING"
    EVALUATING = "EVALUATING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class S3ObjectRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    key: str
    version_id: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def from_event(cls, bucket: str, event_key: str, version_id: str | None = None) -> "S3ObjectRef":
        """The object an S3 event names; the one place an event's key is decoded.

        S3 writes the key URL-encoded, form style: "red flower.jpg" arrives as "red+flower.jpg", a '+' as
        '%2B', other bytes of the UTF-8 key as %XX (docs.aws.amazon.com/AmazonS3/latest/userguide/
        notification-content-structure.html; the EventBridge page, ev-events.html, is silent and AWS's
        Powertools decodes its key the same way). Reading the object under the undecoded key would miss
        it, or read another object.
        """
        return cls(bucket=bucket, key=unquote_plus(event_key), version_id=version_id)


class Dataset(BaseModel):
    """What a run trains on: the uploaded object that triggered it, and the files it names."""

    model_config = ConfigDict(frozen=True)

    trigger: S3ObjectRef
    training: S3ObjectRef
    validation: S3ObjectRef | None = None
    # When S3 reported the trigger's upload (the event's time and sequencer): the champion rule's order.
    uploaded_at: str | None = None
    sequencer: str | None = None


class Infrastructure(BaseModel):
    """Deployed resource names a step needs; handlers build it from their environment."""

    model_config = ConfigDict(frozen=True)

    artifacts_bucket: str
    bedrock_role_arn: str
    subnet_ids: list[str]
    security_group_ids: list[str]
    kms_key_arn: str
    # Each REINFORCEMENT_FINE_TUNING profile's grader function, by profile name (Env.GRADER_ARNS).
    grader_arns: dict[str, str] = Field(default_factory=dict)


class RunSource(str, Enum):
    """What a run learns from: an upload (the default), or the account's invocation logs, which the profile
    names and Bedrock reads itself (lambdas/domain/logs_runs.py)."""

    UPLOAD = "upload"
    INVOCATION_LOGS = "invocation-logs"


class RunInput(BaseModel):
    """The execution input: everything a step needs to know about the run, fixed when it starts."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    profile: TuningProfile
    dataset: Dataset
    started_at: str
    source: RunSource = RunSource.UPLOAD


class UploadKind(str, Enum):
    SINGLE_FILE = "single-file"
    MANIFEST = "manifest"
    IGNORED = "ignored"


class UploadClassification(BaseModel):
    kind: UploadKind
    profile: str | None = None
    reason: str = ""
    remedy: str = ""  # what the uploader does about it, for the notice of an ignored upload
    # A file of a multi-file dataset, waiting for its manifest: ignored as expected, announced to no one.
    expected: bool = False


UPLOAD_LAYOUT = f"{INCOMING_PREFIX}<profile>/<name>.jsonl, or a folder {INCOMING_PREFIX}<profile>/<dataset>/ with its {MANIFEST_NAME} uploaded last"


def classify_upload(key: str) -> UploadClassification:
    """Decide what an uploaded key means.

    - ``incoming/<profile>/<name>.jsonl``: a single-file dataset, the run starts now.
    - ``incoming/<profile>/<dataset>/manifest.json``: a multi-file dataset whose files were uploaded
      first; the manifest names them and is uploaded last, so the run starts only when all are there.
    - the files inside a manifest folder: start nothing, as expected (``expected``).
    - anything else: starts nothing, and the uploader is told why (``reason``) and what to do (``remedy``).
    """
    if not key.startswith(INCOMING_PREFIX):
        return UploadClassification(
            kind=UploadKind.IGNORED, reason=f"outside {INCOMING_PREFIX}", remedy=f"upload datasets as {UPLOAD_LAYOUT}"
        )
    parts = PurePosixPath(key).parts
    if len(parts) == 3 and parts[2].endswith(DATASET_SUFFIXES):
        return UploadClassification(kind=UploadKind.SINGLE_FILE, profile=parts[1])
    if len(parts) == 4 and parts[3] == MANIFEST_NAME:
        return UploadClassification(kind=UploadKind.MANIFEST, profile=parts[1])
    if len(parts) >= 4:
        return UploadClassification(
            kind=UploadKind.IGNORED,
            profile=parts[1],
            reason=f"part of a multi-file dataset; the run starts when its {MANIFEST_NAME} arrives",
            expected=True,
        )
    if len(parts) < 3:
        return UploadClassification(
            kind=UploadKind.IGNORED,
            reason=f"the object is directly under {INCOMING_PREFIX}, which names no profile",
            remedy=f"upload it again as {UPLOAD_LAYOUT}",
        )
    return UploadClassification(
        kind=UploadKind.IGNORED,
        profile=parts[1],
        reason=f"{parts[2]!r} is neither a .jsonl dataset nor a dataset folder's {MANIFEST_NAME}",
        remedy=f"upload a .jsonl file, or a folder: {UPLOAD_LAYOUT}",
    )


class ManifestError(ValueError):
    """A manifest whose paths name no usable file; the message is the reason, one line."""


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # s3://, https://, file://: a location, not a name


class Manifest(BaseModel):
    """``manifest.json`` of a multi-file dataset; paths are relative to the manifest's folder."""

    model_config = ConfigDict(extra="forbid")

    training: str = Field(min_length=1)
    validation: str | None = None

    def dataset(self, manifest: S3ObjectRef) -> Dataset:
        """The files the manifest names; ManifestError says in one line why one of them cannot be used."""
        folder = PurePosixPath(manifest.key).parent

        def resolve(split: str, relative: str) -> S3ObjectRef:
            name = f"the {split} path {relative!r}"
            if _URI.match(relative):
                raise ManifestError(
                    f'{name} is a URI; name a file in the manifest\'s folder ({folder}/), e.g. "train.jsonl"'
                )
            path = PurePosixPath(relative)
            # Only the folder the manifest was uploaded to belongs to its profile: a path out of it could
            # train on another profile's data.
            if path.is_absolute() or ".." in path.parts:
                raise ManifestError(
                    f"{name} escapes its folder ('..' and a leading '/' are not allowed); name a file inside {folder}/, relative to the manifest"
                )
            key = str(folder / path)
            if key == manifest.key:
                raise ManifestError(f"the manifest names itself as {split} data; name the .jsonl file instead")
            if key == str(folder):
                raise ManifestError(f"{name} names the manifest's folder, not a file in it; name the .jsonl file")
            return S3ObjectRef(bucket=manifest.bucket, key=key)

        return Dataset(
            trigger=manifest,
            training=resolve("training", self.training),
            validation=resolve("validation", self.validation) if self.validation else None,
        )


def run_id_for(profile: str, obj: S3ObjectRef) -> str:
    """One run per object version: the same version always maps to the same id (and execution name).

    Step Functions execution names allow 80 characters of ``[A-Za-z0-9-_]``; the profile keeps it readable.
    """
    digest = hashlib.sha256(f"{obj.bucket}\0{obj.key}\0{obj.version_id or 'null'}".encode()).hexdigest()[:24]
    return f"{profile}-{digest}"[:80]


def job_name_for(run_id: str) -> str:
    """Bedrock job names: 1-63 characters, ``[a-zA-Z0-9](-*[a-zA-Z0-9\\+\\-\\.])*``; unique per run."""
    return _bedrock_name(f"tf-{run_id}", allowed=r"[^a-zA-Z0-9\-]")


def custom_model_name_for(run_id: str) -> str:
    """Custom model names: 1-63 characters of ``([0-9a-zA-Z][_-]?)`` (no two separators in a row)."""
    return _bedrock_name(f"tf-{run_id}", allowed=r"[^a-zA-Z0-9\-_]")


def _bedrock_name(raw: str, *, allowed: str) -> str:
    cleaned = re.sub(r"[-_]{2,}", "-", re.sub(allowed, "-", raw)).strip("-_")
    if len(cleaned) > 63:
        # Keep the run's unique hash suffix when the profile name makes it too long.
        cleaned = f"{cleaned[:30].rstrip('-_')}-{cleaned[-32:].lstrip('-_')}"
    return cleaned


def client_request_token_for(run_id: str, operation: str) -> str:
    """Bedrock ignores a repeated request with the same token, so a retried step never starts twice."""
    return hashlib.sha256(f"{operation}\0{run_id}".encode()).hexdigest()[:64]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def lineage_tags(run: RunInput, execution_arn: str | None = None) -> list[dict[str, str]]:
    """Job and model tags that let anyone trace a model back to the exact data and run that made it.

    Keys and values are fitted to Bedrock's TagKey and TagValue rules, read from its model: Bedrock
    refuses a tag holding a letter outside ASCII, and a Vietnamese dataset's key often holds several.
    """
    tags = {
        "tuneforge:profile": run.profile.name,
        "tuneforge:run-id": run.run_id,
        "tuneforge:dataset-uri": run.dataset.training.uri,
        "tuneforge:dataset-version": run.dataset.trigger.version_id or "unversioned",
    }
    if execution_arn:
        tags["tuneforge:execution"] = execution_arn.rsplit(":", 1)[-1]
    key_rule, value_rule = string_rule("TagKey"), string_rule("TagValue")
    return [{"key": _fitted(key, key_rule), "value": _fitted(value, value_rule)} for key, value in tags.items()]


# 'đ' is a letter of its own, not 'd' with a mark, so decomposing leaves it whole.
_UNDECOMPOSED = str.maketrans({"đ": "d", "Đ": "D"})


def _fitted(text: str, rule: StringRule) -> str:
    """``text`` as Bedrock takes it under ``rule``: accents dropped ("dữ liệu" → "du lieu"), any other
    character the rule refuses (or that does not print) → '_', cut to the rule's maximum length.

    Characters are held against the rule one at a time, which is exact for a pattern of the form
    ``[…]*`` (TagKey and TagValue); a model whose pattern is of another form fails the last check.
    """
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED)) if not unicodedata.combining(c)
    )
    fitted = "".join(c if c.isprintable() and rule.admits(c) else "_" for c in plain)[: rule.max_length]
    if not rule.admits(fitted):
        raise ValueError(
            f"{fitted!r} still breaks Bedrock's {rule.shape} rule (pattern {rule.pattern}); lineage_tags must learn its new form"
        )
    return fitted
