"""The S3 objects a customization job reads (its training data) and writes (its metrics), read and
written in moto's S3 backend directly: Bedrock reads them as its service role, not as the caller."""

from __future__ import annotations

import re
from typing import Any

from moto.s3.models import s3_backends


def location(uri: str) -> tuple[str, str] | None:
    """(bucket, key or prefix) of an ``s3://`` URI, or None."""
    match = re.match(r"^s3://([^/]+)/?(.*)$", uri or "")
    return (match.group(1), match.group(2)) if match else None


def objects_at(account_id: str, uri: str) -> tuple[Any, list[str]]:
    """The bucket and the keys Bedrock reads at ``uri``: the object itself if it exists, else every
    object under the prefix; (None, []) when there is no such bucket."""
    where = location(uri)
    if where is None:
        return None, []
    try:
        bucket = s3_backends[account_id]["aws"].get_bucket(where[0])
    except Exception:
        return None, []
    key = where[1]
    keys = (
        [key]
        if key and bucket.keys.get(key) is not None
        else sorted(k for k in bucket.keys.keys() if k.startswith(key) and not k.endswith("/"))
    )
    return bucket, keys


def read_lines(account_id: str, uri: str) -> list[str] | None:
    """Lines of the JSONL object(s) at ``uri`` (an object or a prefix), or None when nothing is there."""
    bucket, keys = objects_at(account_id, uri)
    if not keys:
        return None
    lines: list[str] = []
    for k in keys:
        obj = bucket.keys.get(k)
        if obj is None:
            continue
        lines.extend(line for line in obj.value.decode("utf-8", "replace").splitlines() if line.strip())
    return lines


def write(account_id: str, where: tuple[str, str] | None, body: str) -> None:
    write_bytes(account_id, where, body.encode())


def write_bytes(account_id: str, where: tuple[str, str] | None, body: bytes) -> None:
    if where is None:
        return
    try:
        s3_backends[account_id]["aws"].put_object(where[0], where[1], body)
    except Exception:
        pass  # no output bucket: AWS would have failed the job earlier; keep the run going


def read_object(account_id: str, uri: str) -> bytes | None:
    """The bytes of the object at ``uri`` (an image a training record or a Converse request names), or None."""
    where = location(uri)
    if where is None or not where[1]:
        return None
    try:
        obj = s3_backends[account_id]["aws"].get_bucket(where[0]).keys.get(where[1])
    except Exception:
        return None
    return bytes(obj.value) if obj is not None else None
