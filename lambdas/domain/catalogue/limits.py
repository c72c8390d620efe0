"""Dataset limits per model and customization type: record counts, token and byte caps, media, with their pages."""

from __future__ import annotations

import math
from dataclasses import replace

from lambdas.domain.catalogue.schema import (
    Bounds,
    CatalogueError,
    DatasetLimits,
    MediaSupport,
    RecordBounds,
    Source,
    TokenLimits,
)

GIB = 1024**3
MIB = 1024**2


# From the Nova sample validator (aws-samples/amazon-bedrock-samples, nova_ft_dataset_validator.py). It also
# rejects the upper-case spellings, so we do too.
NOVA_RESERVED_STRINGS: tuple[str, ...] = (
    "System:",
    "SYSTEM:",
    "User:",
    "USER:",
    "Bot:",
    "BOT:",
    "Assistant:",
    "ASSISTANT:",
    "Thought:",
    "[EOS]",
    "<image>",
    "<video>",
)


# --- Dataset limits -------------------------------------------------------------------------------
# Sources: user guide "model-customization-prepare", "distillation-prepare-datasets", the Nova guide
# and AWS's sample validators (aws-samples/amazon-bedrock-samples), summarised in shared/bedrock-reference.md.
# Record-count quotas are adjustable through Service Quotas: the numbers are the published defaults.
# Per-record token caps carry the page that states them (TokenLimits.source).

_REQUIREMENTS = Source(
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-training-validation-requirements.html", "2026-12-04"
)
_NOVA_CONSTRAINTS = Source(
    "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html#custom-fine-tune-constraints",
    "2026-12-04",
)

# Bytes one character of text can take in a JSONL line: UTF-8 spends at most 4 (RFC 3629 section 3), a JSON
# \uXXXX escape 6, and an escaped surrogate pair (one character outside the BMP) 12 (RFC 8259 section 7).
# 4 would be too few: Python's json.dumps escapes every non-ASCII character by default, so Chinese or
# Japanese text it writes averages close to 6, and such a record within its token cap would be refused.
MAX_BYTES_PER_CHARACTER = 12


def derived_record_bytes(tokens: int, chars_per_token: float) -> int:
    """A per-record byte cap for a token cap; AWS publishes a byte limit for no model's records.

    ``tokens × chars_per_token`` characters is the most text the validator's token estimate lets through;
    at the most bytes JSON can spend on a character, no text that estimate passes is larger, so the cap
    refuses what the token check would refuse too, only sooner: before the record is decoded. Real text
    averages 1-6 bytes per character, which leaves the keys and brackets around it ample room.
    """
    return math.ceil(tokens * chars_per_token) * MAX_BYTES_PER_CHARACTER


def _capped(limits: DatasetLimits) -> DatasetLimits:
    # Every catalogue entry goes through here, so none can have a token cap without the byte cap from it.
    ceiling = limits.tokens.ceiling
    if ceiling is None:
        raise CatalogueError("every catalogued model and type needs a per-record token ceiling")
    return replace(limits, max_record_bytes=derived_record_bytes(ceiling, limits.chars_per_token))


# Titan: "Sum of input and output tokens" by batch size, and "Character quota per sample: token quota x 6",
# hence 6 characters per token. The page as read on 2026-12-04 lists Continued Pre-training columns for
# Express and Lite (the same token limits; 10 GB training file) beside the fine-tuning ones.
TITAN_EXPRESS_TOKENS = TokenLimits(by_batch_size=((1, 1, 4_096), (2, 4, 2_048)), source=_REQUIREMENTS)
TITAN_LITE_TOKENS = TokenLimits(by_batch_size=((1, 2, 4_096), (3, 6, 2_048)), source=_REQUIREMENTS)
TITAN_PREMIER_TOKENS = TokenLimits(by_batch_size=((1, 1, 4_096),), source=_REQUIREMENTS)  # batch 2-4: "N/A"


def titan_ft_limits(tokens: TokenLimits) -> DatasetLimits:
    return _capped(
        DatasetLimits(
            tokens=tokens,
            chars_per_token=6.0,
            max_training_bytes=1 * GIB,
            max_validation_bytes=100 * MIB,
            notes=("record-count bounds for Titan fine-tuning are not in our sources; not checked",),
        )
    )


def titan_cpt_limits(tokens: TokenLimits) -> DatasetLimits:
    return _capped(
        DatasetLimits(
            tokens=tokens,
            chars_per_token=6.0,
            max_training_bytes=10 * GIB,
            max_validation_bytes=100 * MIB,
            notes=("record-count bounds for Titan continued pre-training are not in our sources; not checked",),
        )
    )


_NOVA_IMAGES = frozenset({"png", "jpeg", "gif", "webp"})
_NOVA_VIDEOS = frozenset({"mov", "mkv", "mp4", "webm"})
NOVA_MEDIA = MediaSupport(
    image_formats=_NOVA_IMAGES, video_formats=_NOVA_VIDEOS, max_images_per_record=10, max_videos_per_record=1
)
# "Context Length: 32k" for Micro, Lite and Pro alike; read as 32,000, the smaller of its two readings.
NOVA_TOKENS = TokenLimits(record=32_000, source=_NOVA_CONSTRAINTS)


# The same page, item 5: "schemaVersion can be any string value" for Nova fine-tuning records.
_NOVA_SCHEMA_VERSION = Source(
    "https://docs.aws.amazon.com/nova/latest/userguide/fine-tune-prepare-data-understanding.html", "2026-12-04"
)


def nova_ft_limits(media: MediaSupport) -> DatasetLimits:
    return _capped(
        DatasetLimits(
            tokens=NOVA_TOKENS,
            records=RecordBounds(training=Bounds(8, 20_000)),
            media=media,
            reserved_strings=NOVA_RESERVED_STRINGS,
            schema_version=None,
            notes=(
                "AWS recommends at least 100 samples per task",
                f"schemaVersion may be any string ({_NOVA_SCHEMA_VERSION})",
            ),
        )
    )


# Nova 2 Lite fine-tuning (nova-2-sft-data-prep): Nova 1's Converse format plus optional text-only
# reasoningContent in assistant turns; images PNG/JPEG/GIF and videos MOV/MKV/MP4 (no WebP or WebM), one
# media kind per dataset; no tools; "validation sets ... will not be supported during SFT training".
_NOVA2_SFT = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/nova-2-sft-data-prep.html", "2026-12-04")
# AWS publishes no per-record cap for Nova 2 Lite fine-tuning in the pages we read. A record cannot hold
# more than the model's context, which its customization id names (":256k", in models.py): read as
# 256,000, the smaller of its two readings. A derived bound, far looser than Nova 1's 32k.
NOVA2_TOKENS = TokenLimits(
    record=256_000,
    source=Source("https://docs.aws.amazon.com/bedrock/latest/userguide/custom-model-fine-tuning.md", "2026-12-04"),
    note="no per-record limit is published for Nova 2 Lite fine-tuning; checked against the 256k context its model id names",
)
_NOVA2_MEDIA = MediaSupport(
    image_formats=frozenset({"png", "jpeg", "gif"}),
    video_formats=frozenset({"mov", "mkv", "mp4"}),
    max_images_per_record=None,
    max_videos_per_record=None,
    note="AWS publishes no per-record image or video count for Nova 2 Lite fine-tuning; not checked",
)
NOVA2_FT = _capped(
    DatasetLimits(
        tokens=NOVA2_TOKENS,
        media=_NOVA2_MEDIA,
        schema_version=None,
        reasoning_content=True,
        validation_supported=False,
        notes=(
            f"record-count bounds for Nova 2 Lite fine-tuning are not published in our sources; not checked ({_NOVA2_SFT})",
            "Bedrock does not use a validation set when fine-tuning Nova 2 Lite",
            "tool use in the records is not supported by Nova 2 SFT",
        ),
    )
)


# Reinforcement fine-tuning of Nova 2 Lite (rft-prepare-data): one prompt per line in OpenAI chat format
# with the reference_answer the grader scores against; "a minimum of 100 records" and "a maximum of 20,000
# prompts". No per-record or file-size limit is published, so a record is checked against the model's
# context, as for its fine-tuning; nothing is published about a validation file for RFT either.
_RFT_DATA = Source("https://docs.aws.amazon.com/bedrock/latest/userguide/rft-prepare-data.html", "2026-12-07")
NOVA2_RFT = _capped(
    DatasetLimits(
        tokens=replace(
            NOVA2_TOKENS,
            note="no per-record limit is published for RFT prompts; checked against the 256k context Nova 2 Lite's model id names",
        ),
        records=RecordBounds(training=Bounds(100, 20_000)),
        schema_version=None,
        notes=(
            f"100 to 20,000 prompts ({_RFT_DATA})",
            "no file-size limit is published for RFT data; not checked",
            "whether Bedrock uses a validation file for RFT is not stated in the pages we read",
        ),
    )
)


def distillation_limits(single_turn: bool, student: TokenLimits) -> DatasetLimits:
    # AWS publishes no per-record limit for distillation prompts. Bedrock fine-tunes the student on each
    # prompt with the teacher's response, so a prompt longer than the student's fine-tuning limit cannot fit.
    ceiling = student.ceiling
    tokens = TokenLimits(
        record=ceiling,
        source=student.source,
        note=f"no per-record limit is published for distillation prompts; checked against the student's fine-tuning limit ({ceiling:,} tokens), which prompt and response share",
    )
    return _capped(
        DatasetLimits(
            tokens=tokens,
            records=RecordBounds(training=Bounds(100, None)),
            max_training_bytes=1 * GIB,
            single_turn_only=single_turn,
            notes=(
                "at least 100 prompts (AWS sample validator); no maximum published for files (invocation logs: 15K)",
            ),
        )
    )


HAIKU_TOKENS = TokenLimits(record=32_000, source=_REQUIREMENTS)  # "Maximum tokens"
HAIKU_FT = _capped(
    DatasetLimits(
        tokens=HAIKU_TOKENS,
        records=RecordBounds(training=Bounds(32, 10_000), validation=Bounds(None, 1_000), total=Bounds(None, 10_000)),
        max_training_bytes=10 * GIB,
        max_validation_bytes=1 * GIB,
    )
)
# Llama 3.1: input and output 16,000 each and 16,000 together; 3.2: 16,000 (10,000 for 90B); 3.3: 16,000.
LLAMA_TOKENS = TokenLimits(record=16_000, source=_REQUIREMENTS)
LLAMA_90B_TOKENS = TokenLimits(record=10_000, source=_REQUIREMENTS)
_LLAMA_RECORDS = RecordBounds(training=Bounds(None, 10_000), validation=Bounds(None, 1_000), total=Bounds(100, 10_000))
LLAMA_31_FT = _capped(DatasetLimits(tokens=LLAMA_TOKENS, records=_LLAMA_RECORDS))
LLAMA_IMAGES = MediaSupport(
    image_formats=frozenset({"gif", "jpeg", "png", "webp"}),
    max_images_per_record=None,
    max_image_bytes=10 * MIB,
    note="no per-record image count is published for Llama 3.2 vision; not checked",
)


def llama_32_ft_limits(tokens: TokenLimits, media: MediaSupport) -> DatasetLimits:
    return _capped(DatasetLimits(tokens=tokens, records=_LLAMA_RECORDS, media=media))


# The page gives Llama 3.3 only the 100-10,000 total; the per-split maxima are Llama 3.1's and 3.2's.
LLAMA_33_FT = _capped(DatasetLimits(tokens=LLAMA_TOKENS, records=RecordBounds(total=Bounds(100, 10_000))))
# Cohere: input 4,096 and output 2,048 tokens; the record ceiling (6,144) is their sum, derived.
COHERE_FT = _capped(
    DatasetLimits(
        tokens=TokenLimits(prompt=4_096, completion=2_048, source=_REQUIREMENTS),
        records=RecordBounds(training=Bounds(None, 10_000), validation=Bounds(None, 1_000)),
    )
)
