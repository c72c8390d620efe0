"""bedrock-runtime Converse: a deterministic stand-in that never pretends to be a real model.

* A **custom model** (invoked through its provisioned throughput when InService, or its custom-model
  deployment when Active) is a nearest-neighbour lookup over the job's training data, read from
  emulated S3 at ``trainingDataConfig.s3Uri`` (an object or a prefix; a model tuned from another
  custom model also knows its parent's data). Each record's prompt and answer are read by the domain's
  rule (``lambdas.domain.holdout.as_example``: first user turn, last assistant turn); the prompt is
  compared with each record's prompt by token overlap (set cosine over lower-cased ``\\w+`` tokens, so
  Vietnamese works) and the record's answer is returned verbatim. Continued pre-training records
  (``{"input"}``) answer with the closest passage; reinforcement fine-tuning prompts (no answer of their own)
  with their ``reference_answer``, what the grader rewarded. Below ``MIN_SIMILARITY`` it says it has no match.
* A **foundation model** (an on-demand id or ARN, or the inference profile the catalogue names for it,
  where the catalogue says it answers: ``local.bedrock.models``; or a provisioned throughput of a
  foundation model) is the baseline: it has no knowledge and says so.

A question with images (``local.converse_images``: checked as Bedrock checks image blocks, refused for a
model that takes none) also matches by image: a record whose first user turn showed the same image (by
the SHA-256 of its bytes, wherever it is stored) scores ``IMAGE_WEIGHT`` more, so "what colour is this?"
finds the record about that picture, not any record with the same words.

So a candidate beats its baseline exactly on prompts close to what it was trained on: a visible
reason. ``faults.degrade_candidate()`` makes custom models answer with another record's answer (or
like the baseline) to push an evaluation below its gate. Every response carries
``additionalModelResponseFields.emulator`` saying which record answered, how similar it was and, with images, how many it saw and whether one matched.
The response has boto3 Converse's shape: ``output.message.content[0].text``, ``stopReason``,
``usage`` and ``metrics.latencyMs``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lambdas.domain import catalogue
from lambdas.domain.holdout import as_example

from . import bedrock, state
from .bedrock import invocation_logs
from .bedrock.endpoints import ready_status
from .bedrock.models import custom_model_root, invoked_foundation_model
from .bedrock.s3 import read_object
from .bedrock.store import not_found, validation
from .converse_images import image_hashes
from .monkey import replace

MIN_SIMILARITY = 0.25
IMAGE_WEIGHT = 1.0  # a shared image outweighs any wording: the same question about another picture loses
_TOKEN = re.compile(r"\w+", re.UNICODE)
_INDEX: dict[tuple[str, str], "_Index"] = {}
_INDEX_LOCK = threading.Lock()
_APPLIED = False


def tokens(text: str) -> set[str]:
    return set(_TOKEN.findall((text or "").lower()))


def similarity(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def record_pair(record: Any, dataset_format: catalogue.DatasetFormat) -> tuple[str, str] | None:
    """(prompt, answer) of one training record, by the domain's rule (``holdout.as_example``: the first
    user turn and the last answer). Continued pre-training records have no answer: the passage answers
    for itself. None for a record the rule cannot read (the job was never validated, or has no answer)."""
    if not isinstance(record, dict):
        return None
    if dataset_format is catalogue.DatasetFormat.CONTINUED_PRE_TRAINING:
        passage = record.get("input")
        return (passage, passage) if isinstance(passage, str) else None
    if dataset_format is catalogue.DatasetFormat.RFT_PROMPTS:
        return _rft_pair(record)
    try:
        example = as_example(record, dataset_format)
    except (KeyError, TypeError, AttributeError):
        return None
    if example is None or not isinstance(example["prompt"], str) or not isinstance(example["reference"], str):
        return None
    return example["prompt"], example["reference"]


def _rft_pair(record: dict[str, Any]) -> tuple[str, str] | None:
    """A reinforcement fine-tuning prompt has no answer to copy: the emulated model answers what its grader
    rewarded, the record's reference answer (as text), to the first user turn."""
    users = [m for m in record.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    reference = record.get("reference_answer", (record.get("metadata") or {}).get("reference_answer"))
    if not users or reference is None:
        return None
    answer = reference if isinstance(reference, str) else json.dumps(reference, ensure_ascii=False)
    return _text(users[0].get("content")), answer


def record_images(record: Any, dataset_format: catalogue.DatasetFormat) -> list[str]:
    """The S3 URIs of the images a training record's prompt shows (``holdout.as_example``'s ``images``)."""
    if not isinstance(record, dict) or dataset_format is catalogue.DatasetFormat.CONTINUED_PRE_TRAINING:
        return []
    try:
        example = as_example(record, dataset_format)
    except (KeyError, TypeError, AttributeError):
        return []
    return list((example or {}).get("images") or [])


def image_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(len(a), len(b)) if a and b else 0.0


def _dataset_format(model: Any) -> catalogue.DatasetFormat:
    """The format the model's training data is in: its base model's format for its customization type."""
    spec = catalogue.resolve_base_model(model.model_arn)
    return spec.dataset_format(catalogue.parse_customization_type(model.customization_type or "FINE_TUNING"))


@dataclass
class _Index:
    pairs: list[tuple[str, str, set[str]]]
    source: str
    images: list[frozenset[str]]  # per pair: SHA-256 of the images its prompt showed

    def best(self, query: set[str], images: frozenset[str] = frozenset()) -> tuple[int, float, bool]:
        """(record, score, whether it showed one of ``images``): token similarity plus a shared image's weight."""
        best_i, best_s, best_match = -1, 0.0, False
        for i, (_p, _a, toks) in enumerate(self.pairs):
            shared = image_overlap(images, self.images[i])
            s = similarity(query, toks) + IMAGE_WEIGHT * shared
            if s > best_s:
                best_i, best_s, best_match = i, s, shared > 0
        return best_i, best_s, best_match


def _index_for(backend: Any, model: Any) -> _Index:
    key = (backend.account_id, model.model_arn)
    with _INDEX_LOCK:
        if key in _INDEX:
            return _INDEX[key]
    pairs: list[tuple[str, str, set[str]]] = []
    images: list[frozenset[str]] = []
    hashed: dict[str, str | None] = {}

    def sha256(uri: str) -> str | None:
        if uri not in hashed:
            data = read_object(backend.account_id, uri)
            hashed[uri] = hashlib.sha256(data).hexdigest() if data is not None else None
        return hashed[uri]

    sources = []
    current = model
    seen = set()
    while current is not None and current.model_arn not in seen:
        seen.add(current.model_arn)
        uri = (current.training_data_config or {}).get("s3Uri", "")
        sources.append(uri)
        dataset_format = _dataset_format(current)
        logged = invocation_logs.source_uri(current.training_data_config)
        if logged:
            sources[-1] = logged
        lines = (
            invocation_logs.model_training_lines(backend, current)
            if logged
            else bedrock.read_lines(backend.account_id, uri)
        )
        for line in lines or []:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            pair = record_pair(record, dataset_format)
            if pair and pair[1].strip():
                pairs.append((pair[0], pair[1], tokens(pair[0])))
                shown = (sha256(uri) for uri in record_images(record, dataset_format))
                images.append(frozenset(digest for digest in shown if digest))
        parent = current.base_model_arn if custom_model_root(current.base_model_arn or "") else None
        current = bedrock.find_custom_model(backend, parent) if parent else None
    index = _Index(pairs, ", ".join(sources), images)
    with _INDEX_LOCK:
        _INDEX[key] = index
    return index


def resolve(backend: Any, model_id: str) -> tuple[str, Any, str]:
    """(kind, custom model or None, label) for a Converse ``modelId``; raises what Bedrock would."""
    model_id = unquote(model_id)
    bedrock.tick_backend(backend)
    if ":provisioned-model/" in model_id or ":custom-model-deployment/" in model_id:
        ep = bedrock.ext(backend).endpoints.get(model_id)
        if ep is None:
            raise not_found(f"Model {model_id} not found.")
        ready = ready_status(ep.kind)
        if ep.status != ready:
            raise validation(f"{model_id} is {ep.status}, not {ready}.")
        model = bedrock.find_custom_model(backend, ep.model_arn)
        if model is None:
            return "foundation", None, ep.foundation_model_arn.rsplit("/", 1)[-1]
        return "custom", model, model.model_arn
    if custom_model_root(model_id):
        raise validation(f"Invocation of {model_id} needs provisioned throughput or a custom model deployment.")
    return "foundation", None, invoked_foundation_model(model_id, backend.region_name, backend.account_id)


def answer(backend, model_id: str, prompt: str, images: list[str] | None = None) -> tuple[str, dict]:
    """``images``: SHA-256 of the images the question shows (``converse_images.image_hashes``)."""
    kind, model, label = resolve(backend, model_id)
    query = tokens(prompt)
    seen = {"images": len(images)} if images else {}
    if kind == "foundation":
        return (
            f"I have no specific knowledge to answer this (emulated baseline for {label}).",
            {"kind": "baseline", "model": label, **seen},
        )
    index = _index_for(backend, model)
    best_i, best_s, image_match = index.best(query, frozenset(images or ()))
    degraded = state.current().faults.degradation(model.model_arn, model.model_name)
    info = {
        "kind": "nearest-neighbour",
        "model": model.model_arn,
        "trainingData": index.source,
        "records": len(index.pairs),
        "similarity": round(best_s, 4),
        **({**seen, "imageMatch": image_match} if images else {}),
    }
    if degraded == "baseline" or (degraded and len(index.pairs) < 2):
        return f"I have no specific knowledge to answer this (emulated baseline for {label}).", {
            **info,
            "degraded": "baseline",
        }
    if best_i < 0 or best_s < MIN_SIMILARITY:
        return "No close match in my training data (emulated custom model).", {**info, "record": None}
    if degraded == "wrong":
        wrong = (best_i + len(index.pairs) // 2) % len(index.pairs)
        return index.pairs[wrong][1], {**info, "record": wrong, "degraded": "wrong"}
    return index.pairs[best_i][1], {**info, "record": best_i}


def converse(self):
    from moto.bedrock.models import bedrock_backends
    from moto.core.responses import ActionResult

    model_id = self._get_param("modelId")
    messages = self._get_param("messages") or []
    config = self._get_param("inferenceConfig") or {}
    system = " ".join(s.get("text", "") for s in (self._get_param("system") or []) if isinstance(s, dict))
    user_turns = [m for m in messages if m.get("role") == "user"]
    if not user_turns:
        raise validation("A conversation must start with a user message.")
    prompt = _text(user_turns[-1].get("content"))
    backend = bedrock_backends[self.current_account][self.region]
    kind, model, label = resolve(backend, model_id)
    images = image_hashes(messages, model.model_arn if model is not None else label, self.current_account)
    text, info = answer(backend, model_id, prompt, images)
    words = text.split()
    stop = "end_turn"
    max_tokens = config.get("maxTokens")
    if max_tokens and len(words) > int(max_tokens):
        words, stop = words[: int(max_tokens)], "max_tokens"
        text = " ".join(words)
    in_tokens = len((system + " " + " ".join(_text(m.get("content")) for m in messages)).split())
    out_tokens = len(words)
    state.current().note(
        "bedrock.converse",
        model=unquote(model_id),
        kind=info["kind"],
        similarity=info.get("similarity"),
        images=info.get("images", 0),
        image_match=info.get("imageMatch"),
    )
    result = {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": in_tokens, "outputTokens": out_tokens, "totalTokens": in_tokens + out_tokens},
        "metrics": {"latencyMs": 20 + 2 * out_tokens},
        "additionalModelResponseFields": {"emulator": info},
    }
    request = {k: self._get_param(k) for k in ("messages", "system", "inferenceConfig", "requestMetadata")}
    invocation_logs.log_converse(backend, unquote(model_id), {k: v for k, v in request.items() if v}, result)
    return ActionResult(result)


def apply() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from moto.bedrockruntime.responses import BedrockRuntimeResponse

    replace(BedrockRuntimeResponse, "converse", converse)
    _APPLIED = True


def clear_cache() -> None:
    with _INDEX_LOCK:
        _INDEX.clear()
