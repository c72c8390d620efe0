"""Names and builders the evaluation tests share with their conftest (tests import this, never conftest)."""

from __future__ import annotations

import json
from pathlib import Path

from botocore.config import Config

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "samples"
REGION = "us-east-1"
ACCOUNT = "123456789012"
DATA_BUCKET = "tuneforge-dev-data"
ARTIFACTS_BUCKET = "tuneforge-dev-artifacts"
CHAMPION_PREFIX = "/tuneforge/dev/champions"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization"
# Our own bounded backoff is under test, so botocore must not absorb the throttling first.
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def evaluation_set_from(sample: str, *, limit: int | None = None) -> list[dict[str, str]]:
    """prompt + reference pairs taken from a training sample, so the emulated candidate knows them."""
    out = []
    for line in (SAMPLES / sample).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "prompt" in record:
            out.append({"prompt": record["prompt"], "reference": record["completion"]})
        else:
            messages = record["messages"]
            out.append({"prompt": messages[0]["content"][0]["text"], "reference": messages[-1]["content"][0]["text"]})
    return out[:limit] if limit else out
