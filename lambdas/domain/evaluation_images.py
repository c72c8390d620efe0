"""Images in evaluation examples: the record field, the checks Validate makes, the Converse blocks Evaluate sends.

What a data owner writes: ``{"prompt": ..., "reference": ..., "images": ["s3://<data bucket>/evaluation/…/a.png"]}``.
A held-out split of ``bedrock-conversation-2024`` training data keeps the images of its records' first user
turn the same way (``lambdas.domain.holdout.as_example``). The images meet the catalogue's media rules for
the base model's fine-tuning data (``formats.Conversation2024.check_user_media``: the model takes images at
all, format, same bucket, key characters, the object exists, images per record), plus Converse's own limits
below. The format is the key's extension at Validate (as a record's ``format`` field is for training) and the
bytes' signature when sending, so a mislabelled file is sent as what it is.

Every AWS fact used for evaluation images, with where it was read (2026-12-07):

* Bedrock's own model-evaluation prompt datasets (``prompt``, ``referenceResponse``, ``category``) document no
  image field (https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-prompt-datasets-judge.html),
  so ``images`` is ours: a list of S3 URIs, the same ``s3://`` URIs training records name in
  ``image.source.s3Location.uri``.
* A Converse ``ImageBlock`` is ``{"format": png | jpeg | gif | webp, "source": ...}`` and its ``ImageSource`` a
  union of ``bytes`` and ``s3Location``; s3Location only for the models listed as supporting S3 uploads
  (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html,
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageSource.html).
* A message holds at most 20 images, each at most 3.75 MB and 8,000 × 8,000 px, and only in user turns
  (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html).
* Nova: images embedded in a request may total 25 MB; an S3 URI lifts that bound
  (https://docs.aws.amazon.com/nova/latest/userguide/modalities-image.html).
* A model that takes no images answers ``ValidationException: This model doesn't support the image content
  block that you provided. Update the content block and try again.`` (the message as Converse returns it,
  quoted in public reports of the error; no AWS page lists it).

Bytes, not s3Location, for every model (Nova included): with s3Location, Bedrock reads the object itself, and
whether it may for a custom-model deployment or provisioned throughput is not in the supported-models table
we read; the data bucket is encrypted with the stage key and fenced by its perimeter policy, so Bedrock would
need a new path into both. Reading in the function keeps the only new access an S3 read by Evaluate, under
its own grant (``Storage.grant_evaluation_images_read``); the cost is the 25 MB embedded bound, which
``MAX_IMAGE_BYTES`` × images per record keeps well inside for the sizes Validate lets through, and the total
is checked too.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any, Callable

from lambdas.domain.catalogue import CustomizationType, DatasetLimits, ModelSpec
from lambdas.domain.evaluation_report import sample_examples
from lambdas.domain.formats import Conversation2024
from lambdas.domain.names import EVALUATION_PREFIX, INCOMING_PREFIX

IMAGES_FIELD = "images"
CONVERSE_IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")  # ImageBlock's valid values (API_runtime_ImageBlock)
# What Converse answers when images go to a model that takes none (the last fact above).
NO_IMAGES_MESSAGE = (
    "This model doesn't support the image content block that you provided. Update the content block and try again."
)
# Where Evaluate may read images (its grants): beside the evaluation sets, or a held-out split's training media.
IMAGE_PREFIXES = (EVALUATION_PREFIX, INCOMING_PREFIX)
# Converse's Message limits (API_runtime_Message, above). "3.75 MB" read as 3,750,000 bytes, the smaller reading.
MAX_IMAGE_BYTES = 3_750_000
MAX_IMAGES_PER_REQUEST = 20
# Nova's bound on what a request embeds (modalities-image, above), applied to every model: no smaller one is published.
MAX_EMBEDDED_BYTES = 25_000_000
_EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "webp": "webp"}
# An inline thumbnail in the HTML report: small enough that a dozen examples keep the page light.
THUMBNAIL_MAX_BYTES = 64 * 1024
THUMBNAILS_MAX_TOTAL_BYTES = 1024 * 1024
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


class ImageLoadError(RuntimeError):
    """An example's image could not be read or is not an image Converse takes."""


def parse_images(record: dict[str, Any]) -> tuple[list[str], str | None]:
    """The record's image URIs and, when the field is malformed, why (shape only; Validate checks the rest)."""
    value = record.get(IMAGES_FIELD)
    if value is None:
        return [], None
    if not isinstance(value, list) or not all(isinstance(uri, str) and uri.strip() for uri in value):
        return [], f"{IMAGES_FIELD} must be a list of s3:// URIs (strings)"
    return list(value), None


def image_limits(model: ModelSpec) -> DatasetLimits:
    """What the base model takes in images, as the catalogue records it for its fine-tuning data; a model not
    fine-tuned on Bedrock has no media recorded, so its evaluation examples take none."""
    if model.supports(CustomizationType.FINE_TUNING):
        return model.dataset_limits(CustomizationType.FINE_TUNING)
    return DatasetLimits()


def format_of_key(uri: str) -> str:
    """The image format a key's extension names ("jpg" is jpeg); the bare extension when it names none."""
    name = uri.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _EXTENSIONS.get(extension, extension or "(no extension)")


def sniff_format(data: bytes) -> str | None:
    """The image format by the file's signature: PNG (ISO/IEC 15948 5.2), JPEG SOI marker (ITU T.81 B.1.1.2),
    GIF (GIF89a spec section 17), WebP (RIFF container with the "WEBP" form type, RFC 9649 section 2)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _sizes(s3: Any) -> Callable[[str], int | None]:
    """HEAD each image once: its size, or None when it does not exist (other errors propagate)."""

    @lru_cache(maxsize=4096)
    def size(uri: str) -> int | None:
        bucket, key = _split(uri)
        try:
            return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    return size


def image_problems(s3: Any, examples: list[Any], *, model: ModelSpec, bucket: str) -> list[tuple[int | None, str]]:
    """(line, problem) for every example's images: the catalogue's media rules, then Converse's size limits."""
    size = _sizes(s3)
    checker = Conversation2024(
        model, image_limits(model), distillation=False, bucket=bucket, media_exists=lambda uri: size(uri) is not None
    )
    problems: list[tuple[int | None, str]] = []
    for example in examples:
        if not example.images:
            continue
        found: list[str] = []

        def issue(kind: str, field: str, message: str, severity: object = None, found: list[str] = found) -> None:
            found.append(f"{field}: {message}")

        blocks = [
            (
                f"{IMAGES_FIELD}[{i}]",
                {"image": {"format": format_of_key(uri), "source": {"s3Location": {"uri": uri}}}},
            )
            for i, uri in enumerate(example.images)
        ]
        checker.check_user_media(blocks, issue)
        if not found:
            found.extend(_outside_prefixes(example.images, bucket))
        if not found:
            found.extend(_converse_limits(example.images, size))
        problems.extend((example.line, problem) for problem in found)
    return problems


def _outside_prefixes(uris: list[str], bucket: str) -> list[str]:
    return [
        f"{IMAGES_FIELD}[{i}]: {uri} is outside {' and '.join(IMAGE_PREFIXES)} of s3://{bucket}, where Evaluate reads images"
        for i, uri in enumerate(uris)
        if not _split(uri)[1].startswith(IMAGE_PREFIXES)
    ]


def _converse_limits(uris: list[str], size: Callable[[str], int | None]) -> list[str]:
    found = []
    if len(uris) > MAX_IMAGES_PER_REQUEST:
        found.append(f"{IMAGES_FIELD}: {len(uris)} images; Converse takes at most {MAX_IMAGES_PER_REQUEST} per message")
    total = 0
    for i, uri in enumerate(uris):
        length = size(uri) or 0
        total += length
        if length > MAX_IMAGE_BYTES:
            found.append(
                f"{IMAGES_FIELD}[{i}]: {uri} is {length:,} bytes; Converse takes images of at most {MAX_IMAGE_BYTES:,}"
            )
    if total > MAX_EMBEDDED_BYTES:
        found.append(f"{IMAGES_FIELD}: {total:,} bytes of images; a request embeds at most {MAX_EMBEDDED_BYTES:,}")
    return found


def load_image(s3: Any, uri: str) -> tuple[str, bytes]:
    """(format, bytes) of one image, the format by its signature; :class:`ImageLoadError` when unusable."""
    bucket, key = _split(uri)
    try:
        data: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.ClientError as error:
        # The reason first: a notice shortens a long cause, and a long URI must not push the reason out of it.
        raise ImageLoadError(f"{error.response.get('Error', {}).get('Code', 'error')} reading {uri}") from None
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageLoadError(f"{uri} is not a PNG, JPEG, GIF or WebP image")
    return fmt, data


def image_blocks(s3: Any, uris: list[str]) -> list[dict[str, Any]]:
    """Converse content blocks for an example's images, bytes embedded (why not s3Location: the module's doc)."""
    blocks = []
    for uri in uris:
        fmt, data = load_image(s3, uri)
        blocks.append({"image": {"format": fmt, "source": {"bytes": data}}})
    return blocks


def report_thumbnails(s3: Any, records: list[dict[str, Any]]) -> dict[str, str]:
    """Inline ``data:`` URIs for the images of the examples the HTML report shows, each at most
    ``THUMBNAIL_MAX_BYTES`` and all together ``THUMBNAILS_MAX_TOTAL_BYTES``: the page is opened offline, from a
    download, where an s3:// link shows nothing. An image over the caps (or unreadable) is shown by its URI."""
    thumbnails: dict[str, str] = {}
    budget = THUMBNAILS_MAX_TOTAL_BYTES
    for record in sample_examples(records):
        for uri in record.get(IMAGES_FIELD) or []:
            if uri in thumbnails:
                continue
            try:
                fmt, data = load_image(s3, uri)
            except ImageLoadError:
                continue
            if len(data) > min(THUMBNAIL_MAX_BYTES, budget):
                continue
            budget -= len(data)
            thumbnails[uri] = f"data:{_MIME[fmt]};base64,{base64.b64encode(data).decode()}"
    return thumbnails
