"""What the emulator keeps beside each moto BedrockBackend, and the pieces every handler shares:
the lock, Bedrock's error shapes, request parsing and Bedrock's timestamp format."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import JsonRESTError

LOCK = threading.RLock()


def suffix(seed: str) -> str:
    """The 12-character id ending a Bedrock ARN, stable for the same seed."""
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class JobMeta:
    due: float
    stop_due: float | None = None
    outcome: dict[str, Any] | None = None  # fault: {"status", "message"}
    pending_model: Any = None  # moto CustomModel, registered on completion
    customization_config: dict[str, Any] | None = None
    event_sent: bool = False
    rft: Any = None  # local.bedrock.rft.Training of a reinforcement fine-tuning job, once its grading started


@dataclass
class Endpoint:
    kind: str  # provisioned | deployment
    arn: str
    name: str
    model_arn: str
    foundation_model_arn: str
    created: float
    due: float
    status: str
    failure: str | None = None
    model_units: int = 1
    commitment: str | None = None
    description: str | None = None
    updated: float = 0.0
    tags: dict[str, str] = field(default_factory=dict)  # what IAM sees as aws:ResourceTag/<key> (local.authz)

    def commitment_expires(self) -> float | None:
        """When a committed throughput's term ends (emulated months of 30 days), else None."""
        if not self.commitment:
            return None
        return self.created + (1 if self.commitment == "OneMonth" else 6) * 30 * 86400


@dataclass
class Evaluation:
    arn: str
    name: str
    params: dict[str, Any]
    created: float
    due: float
    status: str = "InProgress"
    updated: float = 0.0
    failure_messages: list[str] = field(default_factory=list)


@dataclass
class Ext:
    jobs: dict[str, JobMeta] = field(default_factory=dict)  # by job name
    job_tokens: dict[str, str] = field(default_factory=dict)  # clientRequestToken -> job name
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # by ARN
    endpoint_tokens: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, token) -> ARN
    evaluations: dict[str, Evaluation] = field(default_factory=dict)
    evaluation_tokens: dict[str, str] = field(default_factory=dict)


def ext(backend: Any) -> Ext:
    """The extension state of one backend; kept in its ``__dict__`` so moto's reset clears it too."""
    data = backend.__dict__.get("_tuneforge")
    if data is None:
        data = backend.__dict__["_tuneforge"] = Ext()
    return data


# --- Bedrock's errors ------------------------------------------------------------------------
def error(code: str, message: str, status: int = 400) -> JsonRESTError:
    err = JsonRESTError(code, message)
    err.code = status
    return err


def validation(message: str) -> JsonRESTError:
    return error("ValidationException", message, 400)


def not_found(message: str) -> JsonRESTError:
    return error("ResourceNotFoundException", message, 404)


# --- the request a handler serves (a moto BedrockResponse) -------------------------------------
def identifier(response: Any, key: str, index: int = -1) -> str:
    """A path parameter: from moto's URI match, else the ``index``-th path segment; URL-decoded."""
    value = (getattr(response, "uri_match", None) or {}).get(key)
    if not value:
        value = response.path.rstrip("/").split("/")[index]
    return unquote(value)


def params(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.body or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def query(response: Any, name: str) -> str | None:
    values = response.querystring.get(name)
    if isinstance(values, list):
        return values[0] if values else None
    return values
