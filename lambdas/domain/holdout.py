"""A held-out split: part of an upload set aside for evaluation, the rest trained on.

Records go to the held-out side by a hash of their bytes, so the split is the same on every retry and
never depends on line order. The training side becomes the run's snapshot (``lambdas.domain.snapshot``),
the only data the job reads; the held-out side is written where the Evaluate step looks for it, as
``{"prompt", "reference"}`` lines (with ``"images"`` where the record's first user turn has images: already
checked with the training data, they are copied into the run's snapshot with the training side's media and the
examples name the copies, so what is evaluated is what Validate saw, whatever happens to the upload later).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from typing import Any, Callable, Iterable, Mapping

from lambdas.domain.catalogue import DatasetFormat
from lambdas.domain.evaluation import EvaluationSetSize, holdout_key_for
from lambdas.domain.runs import RunInput

# Formats whose records carry an answer the held-out examples can be scored against.
LABELLED_FORMATS = frozenset(
    {DatasetFormat.PROMPT_COMPLETION, DatasetFormat.CLAUDE_MESSAGES, DatasetFormat.CONVERSATION_2024}
)
_SPOOL_BYTES = 32 << 20  # larger training splits spill to /tmp instead of memory


class HoldoutError(ValueError):
    """The upload cannot be split as the profile asks (e.g. nothing landed on one side)."""


def is_held_out(line: bytes, fraction: float) -> bool:
    return int.from_bytes(hashlib.sha256(line).digest()[:4], "big") < fraction * 2**32


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content or [] if isinstance(block, dict)).strip()


def _image_uris(content: Any) -> list[str]:
    """The S3 URIs of a turn's image blocks (``{"image": {"source": {"s3Location": {"uri": ...}}}}``)."""
    uris = []
    for block in content if isinstance(content, list) else []:
        image = block.get("image") if isinstance(block, dict) else None
        source = image.get("source") if isinstance(image, dict) else None
        location = source.get("s3Location") if isinstance(source, dict) else None
        if isinstance(location, dict) and isinstance(location.get("uri"), str):
            uris.append(location["uri"])
    return uris


def as_example(record: dict[str, Any], dataset_format: DatasetFormat) -> dict[str, Any] | None:
    """The record as an evaluation example: its first user turn as the prompt (and its images, as
    ``images``: the question is about them), its last answer as reference."""
    if dataset_format is DatasetFormat.PROMPT_COMPLETION:
        return {"prompt": record["prompt"], "reference": record["completion"]}
    messages = record.get("messages") or []
    users = [m for m in messages if m.get("role") == "user"]
    answers = [m for m in messages if m.get("role") == "assistant"]
    if not users or not answers:
        return None
    example: dict[str, Any] = {"prompt": _text(users[0].get("content"))}
    images = _image_uris(users[0].get("content"))
    if images:
        example["images"] = images
    example["reference"] = _text(answers[-1].get("content"))
    return example


def split_holdout(
    s3: Any,
    run: RunInput,
    *,
    artifacts_bucket: str,
    write_training: Callable[[Iterable[bytes], list[str]], Mapping[str, str]],
) -> tuple[int, int, EvaluationSetSize]:
    """Write both sides of the split; return (training records, held-out examples, the size of what
    evaluation will read: the first ``max_examples`` of them).

    The training side's lines and the held-out side's image URIs go to ``write_training`` (which snapshots
    them), only once the split is known to leave something on both sides; it returns each image's snapshot URI,
    which the held-out examples name instead of the upload's.

    Runs after validation passed, so every non-blank line is one valid record of the profile's format.
    """
    fraction = run.profile.evaluation.holdout_fraction
    dataset_format = run.profile.model.dataset_format(run.profile.customization_type)
    if fraction is None or dataset_format not in LABELLED_FORMATS:
        raise HoldoutError(f"profile {run.profile.name} does not ask for a held-out split of a labelled format")
    source = run.dataset.training
    extra = {"VersionId": source.version_id} if source.version_id else {}
    body = s3.get_object(Bucket=source.bucket, Key=source.key, **extra)["Body"]
    trained = held = 0
    examples: list[dict[str, Any]] = []
    evaluated: list[tuple[str, str]] = []
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as training:
        for raw in body.iter_lines():
            line = raw.strip()
            if not line:
                continue
            example = (
                as_example(json.loads(line.decode("utf-8-sig")), dataset_format)
                if is_held_out(line, fraction)
                else None
            )
            if example is not None:
                if len(evaluated) < run.profile.evaluation.max_examples:
                    evaluated.append((example["prompt"], example["reference"]))
                examples.append(example)
                held += 1
            else:
                training.write(line + b"\n")
                trained += 1
        if not held or not trained:
            raise HoldoutError(
                f"a {fraction:.0%} held-out split of {trained + held} records leaves {held} to evaluate and {trained} to train on; upload more records or an evaluation set"
            )
        training.seek(0)
        held_images = list(dict.fromkeys(uri for example in examples for uri in example.get("images", [])))
        snapshot_of = write_training(training, held_images)
    for example in examples:
        if "images" in example:
            example["images"] = [snapshot_of[uri] for uri in example["images"]]
    s3.put_object(
        Bucket=artifacts_bucket,
        Key=holdout_key_for(run),
        Body=b"\n".join(json.dumps(example, ensure_ascii=False).encode() for example in examples) + b"\n",
        ContentType="application/jsonl",
    )
    return trained, held, EvaluationSetSize.of(evaluated)
