"""Where a dataset's bytes come from: a local file, an S3 object, or bytes in memory.

A source is opened as a buffered binary stream and read line by line, so the validator holds one line
at a time whatever the file size. The S3 source takes a boto3 client from its caller (the Lambda's,
the CLI's): nothing here creates a client or imports boto3.

    local_file(path) -> LocalFile
    s3_object(client, "s3://bucket/key") -> S3Object
    in_memory(data, name="<memory>") -> InMemory
    as_source(path_or_source, s3_client=None) -> DatasetSource
    s3_media_checker(client) -> Callable[[uri], bool]     existence of media objects, cached
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Callable, Protocol, runtime_checkable

READ_BUFFER = 1 << 20  # 1 MiB: large enough that reads are not the bottleneck, small enough to be irrelevant to RSS


@runtime_checkable
class DatasetSource(Protocol):
    # Read-only: a frozen dataclass's fields and a property both provide them.
    @property
    def name(self) -> str: ...  # shown in reports: a path or an s3:// URI

    @property
    def bucket(self) -> str | None: ...  # the S3 bucket the dataset lives in, for the same-bucket media rule

    def size(self) -> int | None: ...

    def open(self) -> BinaryIO: ...


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    if not bucket or not key:
        raise ValueError(f"an S3 dataset URI needs a bucket and a key: {uri!r}")
    return bucket, key


@dataclass(frozen=True)
class LocalFile:
    path: Path
    bucket: str | None = None

    @property
    def name(self) -> str:
        return str(self.path)

    def size(self) -> int | None:
        return os.stat(self.path).st_size

    def open(self) -> BinaryIO:
        return open(self.path, "rb", buffering=READ_BUFFER)


class _BodyReader(io.RawIOBase):
    """Lets io.BufferedReader (and its fast readline) sit on top of a botocore StreamingBody."""

    def __init__(self, body: Any):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self._body.close()
        finally:
            super().close()


@dataclass
class S3Object:
    client: Any
    bucket: str
    key: str
    version_id: str | None = None
    _size: int | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _version(self) -> dict[str, str]:
        return {"VersionId": self.version_id} if self.version_id else {}

    def size(self) -> int | None:
        if self._size is None:
            self._size = int(
                self.client.head_object(Bucket=self.bucket, Key=self.key, **self._version())["ContentLength"]
            )
        return self._size

    def open(self) -> BinaryIO:
        response = self.client.get_object(Bucket=self.bucket, Key=self.key, **self._version())
        self._size = int(response.get("ContentLength", 0)) if self._size is None else self._size
        return io.BufferedReader(_BodyReader(response["Body"]), buffer_size=READ_BUFFER)


@dataclass(frozen=True)
class InMemory:
    data: bytes
    name: str = "<memory>"
    bucket: str | None = None

    def size(self) -> int | None:
        return len(self.data)

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


def local_file(path: str | os.PathLike[str]) -> LocalFile:
    return LocalFile(Path(path))


def s3_object(client: Any, uri: str, version_id: str | None = None) -> S3Object:
    bucket, key = parse_s3_uri(uri)
    return S3Object(client, bucket, key, version_id)


def in_memory(data: bytes, name: str = "<memory>", bucket: str | None = None) -> InMemory:
    return InMemory(data, name, bucket)


def as_source(value: "str | os.PathLike[str] | bytes | DatasetSource", s3_client: Any = None) -> DatasetSource:
    if isinstance(value, (bytes, bytearray)):
        return InMemory(bytes(value))
    if isinstance(value, str) and value.startswith("s3://"):
        if s3_client is None:
            raise ValueError("an s3:// dataset needs an S3 client")
        return s3_object(s3_client, value)
    if isinstance(value, (str, os.PathLike)):
        return local_file(value)
    if isinstance(value, DatasetSource):
        return value
    raise TypeError(f"not a dataset source: {value!r}")


def s3_media_checker(client: Any, cache_size: int = 4096) -> Callable[[str], bool]:
    """HEAD each media URI once (bounded cache); False when the object does not exist."""

    @lru_cache(maxsize=cache_size)
    def exists(uri: str) -> bool:
        bucket, key = parse_s3_uri(uri)
        try:
            client.head_object(Bucket=bucket, Key=key)
        except client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    return exists
