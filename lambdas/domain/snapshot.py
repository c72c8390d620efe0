"""A run's snapshot: the exact bytes Validate approved, under keys only this run writes.

Validate reads one object version, but Bedrock's ``trainingDataConfig.s3Uri`` names a key, not a
version, and reads whatever that key holds when the job starts (the API has no version field:
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_TrainingDataConfig.html, read 2026-12-04).
An upload overwritten in between would train on bytes nobody validated. So Validate copies the
validated version of every file the job reads — training, validation, and the media the records name
— to ``snapshots/<run-id>/`` of the data bucket, and the job trains on that copy:

* the keys are built from the run id alone (ASCII letters, digits and '-'), so they satisfy Bedrock's
  s3Uri pattern and length limit whatever the data owner named the upload;
* only Validate may write under ``snapshots/`` (data owners upload to ``incoming/``), so nothing
  changes a snapshot after validation; overwrites and deletes of the upload change nothing;
* the registry records, per file, the source key, version id and ETag next to the snapshot key.

Files without media are copied inside S3 (no bytes through the Lambda). Files whose records name
media are streamed line by line: lines without media keep their bytes exactly, lines with media get
their ``s3Location.uri`` rewritten to the media's own snapshot, copied at the version current now.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from typing import Any, Callable, Iterable, Literal

from pydantic import BaseModel

from lambdas.domain.names import SNAPSHOT_PREFIX
from lambdas.domain.runs import RunInput, S3ObjectRef

Split = Literal["training", "validation"]
# CopyObject copies at most 5 GB in one request; larger objects need a multipart copy
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html, read 2026-12-04).
SINGLE_COPY_LIMIT = 5 * 1000**3
_SPOOL_BYTES = 32 << 20  # rewritten files larger than this spill to /tmp instead of memory
_MEDIA_MARKER = b'"s3Location"'
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


class SnapshotFile(BaseModel):
    split: Split
    source_uri: str
    source_version_id: str | None = None
    source_etag: str | None = None
    snapshot_uri: str
    media_files: int = 0


class Snapshot(BaseModel):
    files: list[SnapshotFile]
    media: list[SnapshotFile] = []

    def uri(self, split: Split) -> str | None:
        return next((f.snapshot_uri for f in self.files if f.split == split), None)


def snapshot_key(run_id: str, name: str) -> str:
    return f"{SNAPSHOT_PREFIX}{run_id}/{name}"


def snapshot_uri(bucket: str, run_id: str, split: Split) -> str:
    return f"s3://{bucket}/{snapshot_key(run_id, f'{split}.jsonl')}"


def _media_key(run_id: str, uri: str) -> str:
    # One key per distinct media URI; the suffix is kept (ASCII only) so the copy still reads as an image.
    digest = hashlib.sha256(uri.encode()).hexdigest()[:24]
    suffix = _SAFE_SUFFIX.search(uri.rsplit("/", 1)[-1])
    return snapshot_key(run_id, f"media/{digest}{suffix.group(0).lower() if suffix else ''}")


def _version(ref: S3ObjectRef) -> dict[str, str]:
    return {"VersionId": ref.version_id} if ref.version_id else {}


class _Snapshotter:
    def __init__(self, s3: Any, run: RunInput, bucket: str) -> None:
        self.s3, self.run, self.bucket = s3, run, bucket
        self.media: dict[str, SnapshotFile] = {}

    def copy(self, source: S3ObjectRef, key: str) -> dict[str, Any]:
        """Server-side copy of one version; returns the source's HEAD (version and ETag as copied)."""
        head: dict[str, Any] = self.s3.head_object(Bucket=source.bucket, Key=source.key, **_version(source))
        copy_source = {"Bucket": source.bucket, "Key": source.key, **_version(source)}
        if int(head["ContentLength"]) <= SINGLE_COPY_LIMIT:
            # Bound to the ETag just read, so the copy is of exactly what the HEAD describes.
            self.s3.copy_object(
                CopySource=copy_source,
                Bucket=self.bucket,
                Key=key,
                CopySourceIfMatch=head["ETag"],
                MetadataDirective="REPLACE",
                ContentType="application/jsonl",
            )
        else:
            from boto3.s3.transfer import TransferConfig  # only for files over 5 GB

            self.s3.copy(
                copy_source,
                self.bucket,
                key,
                Config=TransferConfig(multipart_threshold=SINGLE_COPY_LIMIT, multipart_chunksize=512 << 20),
            )
        return head

    def media_uri(self, uri: str) -> str:
        """The snapshot of one media object (copied once per run), at the version S3 holds now."""
        known = self.media.get(uri)
        if known is None:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            target = _media_key(self.run.run_id, uri)
            head = self.copy(S3ObjectRef(bucket=bucket, key=key), target)
            known = self.media[uri] = SnapshotFile(
                split="training",
                source_uri=uri,
                source_version_id=head.get("VersionId"),
                source_etag=head.get("ETag"),
                snapshot_uri=f"s3://{self.bucket}/{target}",
            )
        return known.snapshot_uri

    def rewrite_line(self, line: bytes) -> tuple[bytes, int]:
        """The line with each media URI pointing at its snapshot; lines without media keep their bytes."""
        if _MEDIA_MARKER not in line:
            return line, 0
        record = json.loads(line.decode("utf-8-sig"))
        count = _rewrite_media(record, self.media_uri)
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n", count

    def write_lines(self, lines: Iterable[bytes], key: str) -> int:
        media = 0
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as out:
            for line in lines:
                rewritten, count = self.rewrite_line(line)
                media += count
                out.write(rewritten if rewritten.endswith(b"\n") else rewritten + b"\n")
            out.seek(0)
            self.s3.upload_fileobj(out, self.bucket, key, ExtraArgs={"ContentType": "application/jsonl"})
        return media

    def file(self, split: Split, source: S3ObjectRef, *, has_media: bool) -> SnapshotFile:
        key = snapshot_key(self.run.run_id, f"{split}.jsonl")
        if not has_media:
            head = self.copy(source, key)
            return SnapshotFile(
                split=split,
                source_uri=source.uri,
                source_version_id=head.get("VersionId") or source.version_id,
                source_etag=head.get("ETag"),
                snapshot_uri=f"s3://{self.bucket}/{key}",
            )
        response = self.s3.get_object(Bucket=source.bucket, Key=source.key, **_version(source))
        media = self.write_lines(response["Body"].iter_lines(keepends=True), key)
        return SnapshotFile(
            split=split,
            source_uri=source.uri,
            source_version_id=response.get("VersionId") or source.version_id,
            source_etag=response.get("ETag"),
            snapshot_uri=f"s3://{self.bucket}/{key}",
            media_files=media,
        )


def _rewrite_media(value: Any, snapshot_of: Callable[[str], str]) -> int:
    """Point every ``{"s3Location": {"uri": ...}}`` in a record at its snapshot; the count rewritten."""
    count = 0
    if isinstance(value, dict):
        location = value.get("s3Location")
        if isinstance(location, dict) and isinstance(location.get("uri"), str):
            location["uri"] = snapshot_of(location["uri"])
            count += 1
        for key, item in value.items():
            if key != "s3Location":
                count += _rewrite_media(item, snapshot_of)
    elif isinstance(value, list):
        for item in value:
            count += _rewrite_media(item, snapshot_of)
    return count


def take_snapshot(
    s3: Any,
    run: RunInput,
    *,
    data_bucket: str,
    has_media: bool,
    training_lines: Iterable[bytes] | None = None,
    held_out_media: Iterable[str] = (),
) -> Snapshot:
    """Snapshot the run's training and validation files (and their media) into ``snapshots/<run-id>/``.

    ``training_lines`` replaces the training file's content (the training side of a held-out split,
    already drawn from the validated version); its media are snapshotted like the upload's, and so are
    ``held_out_media`` (the held-out side's images, which evaluation reads from the snapshot).
    """
    snapshotter = _Snapshotter(s3, run, data_bucket)
    for uri in held_out_media:
        snapshotter.media_uri(uri)
    dataset = run.dataset
    if training_lines is None:
        training = snapshotter.file("training", dataset.training, has_media=has_media)
    else:
        key = snapshot_key(run.run_id, "training.jsonl")
        media = snapshotter.write_lines(training_lines, key)
        training = SnapshotFile(
            split="training",
            source_uri=dataset.training.uri,
            source_version_id=dataset.training.version_id,
            snapshot_uri=f"s3://{data_bucket}/{key}",
            media_files=media,
        )
    files = [training]
    if dataset.validation:
        files.append(snapshotter.file("validation", dataset.validation, has_media=has_media))
    return Snapshot(files=files, media=list(snapshotter.media.values()))
