"""Image blocks in the Converse stand-in: checked as Bedrock checks them, and reduced to content hashes.

Bedrock's rules come from ``lambdas.domain.evaluation_images`` (the one place their sources are recorded):
formats png, jpeg, gif and webp; a source that is exactly one of ``bytes`` and ``s3Location``; at most 20
images of at most 3.75 MB each in a message, in user turns only; and a model that takes no images (the
catalogue records which do) is refused with Bedrock's own message. boto3 sends ``bytes`` base64-encoded in
the JSON body; moto hands them over decoded by the service model, or as the base64 text.

Each image is reduced to the SHA-256 of its bytes (an ``s3Location`` is read from emulated S3, as Bedrock
would): the nearest-neighbour lookup matches a question to a training record that showed the same image,
whatever its key, which is what makes a multimodal candidate beat its baseline for a visible reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from lambdas.domain import catalogue
from lambdas.domain.evaluation_images import (
    CONVERSE_IMAGE_FORMATS,
    MAX_IMAGE_BYTES,
    MAX_IMAGES_PER_REQUEST,
    NO_IMAGES_MESSAGE,
    image_limits,
)

from .bedrock.s3 import read_object
from .bedrock.store import validation

FORMATS = CONVERSE_IMAGE_FORMATS
NO_IMAGES = NO_IMAGES_MESSAGE


def takes_images(model_id: str) -> bool:
    """Whether the base model behind a Converse call takes images, as the catalogue records it (its
    fine-tuning media); a model the catalogue does not hold (a teacher or judge named freely) is let through."""
    spec: catalogue.ModelSpec | None
    try:
        spec = catalogue.resolve_base_model(model_id)
    except catalogue.CatalogueError:
        spec = next(
            (
                s
                for s in catalogue.MODELS.values()
                if model_id == s.invocation.on_demand_id or model_id.endswith(f".{s.invocation.on_demand_id}")
            ),
            None,
        )
    return True if spec is None else image_limits(spec).media.images


def _image_bytes(image: Any, path: str, account_id: str) -> bytes:
    if not isinstance(image, dict) or set(image) - {"format", "source"}:
        raise validation(f"{path} must have exactly 'format' and 'source'.")
    if image.get("format") not in FORMATS:
        raise validation(
            f"1 validation error detected: Value '{image.get('format')}' at '{path}.format' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(FORMATS)}]"
        )
    source = image.get("source")
    if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in ("bytes", "s3Location"):
        raise validation(f"{path}.source must set exactly one of bytes and s3Location.")
    if "bytes" in source and isinstance(source["bytes"], (bytes, bytearray)):
        data = bytes(source["bytes"])  # moto parsed the blob by the service model
    elif "bytes" in source:
        try:
            data = base64.b64decode(source["bytes"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise validation(f"{path}.source.bytes is not valid base64.") from None
    else:
        uri = (source["s3Location"] or {}).get("uri", "")
        found = read_object(account_id, uri)
        if found is None:
            raise validation(f"The S3 object {uri} at {path}.source.s3Location could not be read.")
        data = found
    if not data:
        raise validation(f"{path}.source.bytes must have length at least 1.")
    if len(data) > MAX_IMAGE_BYTES:
        raise validation(
            f"{path}: the image is {len(data):,} bytes; an image may be at most {MAX_IMAGE_BYTES:,} bytes."
        )
    return data


def image_hashes(messages: list[Any], model_id: str, account_id: str) -> list[str]:
    """SHA-256 of every image in the request's last user turn, after checking every image block of the
    request; raises the ValidationException Bedrock answers."""
    hashes: list[str] = []
    allowed = None
    for m, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        blocks = [(c, b["image"]) for c, b in enumerate(content or []) if isinstance(b, dict) and "image" in b]
        if not blocks:
            continue
        allowed = takes_images(model_id) if allowed is None else allowed
        if not allowed:
            raise validation(NO_IMAGES)
        if message.get("role") != "user":
            raise validation("You can only include images if the role is user.")
        if len(blocks) > MAX_IMAGES_PER_REQUEST:
            raise validation(
                f"A message may include up to {MAX_IMAGES_PER_REQUEST} images; this one has {len(blocks)}."
            )
        turn = [
            hashlib.sha256(_image_bytes(image, f"messages.{m}.member.content.{c}.member.image", account_id)).hexdigest()
            for c, image in blocks
        ]
        hashes = turn  # the question is the last user turn's: its images are the ones asked about
    return hashes
