"""Names and builders the handler tests share with their conftest (tests import this, never conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
ACCOUNT = "123456789012"
DATA_BUCKET = "tuneforge-dev-data"
ARTIFACTS_BUCKET = "tuneforge-dev-artifacts"
PROFILE_PREFIX = "/tuneforge/dev/profiles"
STATE_MACHINE_NAME = "tuneforge-dev-retraining"


def upload_event(bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    """The EventBridge event S3 sends for Object Created (the shape documented by S3, the key URL-encoded
    as S3 writes it: the emulator's ``s3_event_key``)."""
    from local.events_ext import s3_event_key

    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-11-24T10:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": s3_event_key(key),
                "size": 10,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version-id": version_id,
                "sequencer": "00617F08299329D189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "source-ip-address": "10.0.0.1",
            "reason": "PutObject",
        },
    }
