"""Each format's documented examples pass; each rule has a failing example located by line, field and kind."""

import copy

import pytest

from lambdas.domain.catalogue import CustomizationType
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import (
    COHERE,
    HAIKU,
    LLAMA_31_8B,
    LLAMA_32_11B,
    NOVA_2_LITE,
    NOVA_LITE,
    NOVA_MICRO,
    TITAN_EXPRESS,
    conv,
    convs,
    haiku,
    jsonl,
    pcs,
    prompts,
)

FT, CPT, DIST = CustomizationType.FINE_TUNING, CustomizationType.CONTINUED_PRE_TRAINING, CustomizationType.DISTILLATION

# The user guide's own examples (model-customization-prepare, the Nova guide, distillation-prepare-datasets).
DOC_PROMPT_COMPLETION = {"prompt": "What is the meaning of life?", "completion": "The meaning of life is 42."}
DOC_CPT = {"input": "AWS stands for Amazon Web Services"}
DOC_HAIKU = {
    "system": "You are an helpful assistant.",
    "messages": [
        {"role": "user", "content": "What is AWS"},
        {"role": "assistant", "content": "it's Amazon Web Services."},
    ],
}
DOC_NOVA_TEXT = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "You are a digital assistant with a friendly personality"}],
    "messages": [
        {"role": "user", "content": [{"text": "What is the capital of Mars?"}]},
        {"role": "assistant", "content": [{"text": "Mars does not have a capital. Perhaps it will one day."}]},
    ],
}
DOC_NOVA_IMAGE = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "You are a smart assistant that answers questions respectfully"}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"text": "What does the text in this image say?"},
                {
                    "image": {
                        "format": "png",
                        "source": {
                            "s3Location": {
                                "uri": "s3://my-bucket/your-path/your-image.png",
                                "bucketOwner": "123456789012",
                            }
                        },
                    }
                },
            ],
        },
        {"role": "assistant", "content": [{"text": "The text in the attached image says 'LOL'."}]},
    ],
}
DOC_NOVA_VIDEO = {
    "schemaVersion": "bedrock-conversation-2024",
    "messages": [
        {
            "role": "user",
            "content": [
                {"text": "What is happening in this video?"},
                {
                    "video": {
                        "format": "mp4",
                        "source": {"s3Location": {"uri": "s3://my-bucket/your-path/your-video.mp4"}},
                    }
                },
            ],
        },
        {"role": "assistant", "content": [{"text": "A cat is chasing a laser pointer."}]},
    ],
}
DOC_DISTILLATION = {
    "schemaVersion": "bedrock-conversation-2024",
    "system": [{"text": "A chat between a curious User and an artificial intelligence Bot."}],
    "messages": [{"role": "user", "content": [{"text": "Why is the sky blue?"}]}],
}


def _varied(record, n):
    # Distinct copies so the duplicate check stays quiet.
    out = []
    for i in range(n):
        r = copy.deepcopy(record)
        if "prompt" in r:
            r["prompt"] += f" ({i})"
        elif "input" in r:
            r["input"] += f" ({i})"
        elif isinstance(r["messages"][0]["content"], str):
            r["messages"][0]["content"] += f" ({i})"
        else:
            r["messages"][0]["content"][0]["text"] += f" ({i})"
        out.append(r)
    return out


@pytest.mark.parametrize(
    ("model", "ctype", "record", "n"),
    [
        (TITAN_EXPRESS, FT, DOC_PROMPT_COMPLETION, 100),
        (COHERE, FT, DOC_PROMPT_COMPLETION, 100),
        (LLAMA_31_8B, FT, DOC_PROMPT_COMPLETION, 100),
        (TITAN_EXPRESS, CPT, DOC_CPT, 10),
        (HAIKU, FT, DOC_HAIKU, 32),
        (NOVA_MICRO, FT, DOC_NOVA_TEXT, 8),
        (NOVA_LITE, FT, DOC_NOVA_IMAGE, 8),
        (NOVA_LITE, FT, DOC_NOVA_VIDEO, 8),
        (LLAMA_32_11B, FT, {k: v for k, v in DOC_NOVA_IMAGE.items()}, 100),
        (NOVA_MICRO, DIST, DOC_DISTILLATION, 100),
        (HAIKU, DIST, DOC_DISTILLATION, 100),
    ],
)
def test_documented_examples_pass(model, ctype, record, n):
    report = validate_dataset(jsonl(*_varied(record, n)), model, ctype, bucket="my-bucket")
    assert report.valid, [str(i) for i in report.issues()]
    assert report.warning_count == 0, [str(i) for i in report.issues()]
    assert report.training.records == report.training.valid_records == n


def _with(record, path, value):
    r = copy.deepcopy(record)
    target = r
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] == len(target):
        target.append(value)
    else:
        target[path[-1]] = value
    return r


_DELETE = object()
USER_TEXT = ("messages", 0, "content", 0, "text")

# (model, type, bad record, field, kind). The bad record goes on line 3 of an otherwise valid file.
RULES = [
    (TITAN_EXPRESS, FT, {"prompt": "q"}, "completion", "missing-field"),
    (TITAN_EXPRESS, FT, {"prompt": "q", "completion": 7}, "completion", "wrong-type"),
    (TITAN_EXPRESS, FT, {"prompt": "  ", "completion": "a"}, "prompt", "empty-text"),
    (TITAN_EXPRESS, FT, {"prompt": "q", "completion": "a", "label": 1}, "label", "unknown-field"),
    (TITAN_EXPRESS, FT, {"prompt": "x" * 30_000, "completion": "a"}, None, "too-many-tokens"),
    (COHERE, FT, {"prompt": "x" * 20_000, "completion": "a"}, "prompt", "too-many-tokens"),
    (COHERE, FT, {"prompt": "q", "completion": "x" * 10_000}, "completion", "too-many-tokens"),
    (TITAN_EXPRESS, CPT, {"text": "hello"}, "input", "missing-field"),
    (TITAN_EXPRESS, CPT, {"input": ""}, "input", "empty-text"),
    (HAIKU, FT, {"messages": [{"role": "user", "content": "hi"}]}, "messages[0].role", "last-turn-not-assistant"),
    (
        HAIKU,
        FT,
        {"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "x"}]},
        "messages[0].role",
        "first-turn-not-user",
    ),
    (
        HAIKU,
        FT,
        {
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": "c"},
            ]
        },
        "messages[1].role",
        "roles-not-alternating",
    ),
    (
        HAIKU,
        FT,
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "a"}]},
                {"role": "assistant", "content": "b"},
            ],
            "system": "s",
            "extra": 1,
        },
        "messages[0].content",
        "wrong-type",
    ),
    (
        HAIKU,
        FT,
        {"system": ["s"], "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
        "system",
        "wrong-type",
    ),
    (
        HAIKU,
        FT,
        {"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]},
        "messages[1].role",
        "invalid-role",
    ),
    (NOVA_MICRO, FT, _with(conv(), USER_TEXT, ""), "messages[0].content[0].text", "empty-text"),
    (NOVA_MICRO, FT, _with(conv(), USER_TEXT, "User: hi"), "messages[0].content[0].text", "reserved-string"),
    (NOVA_MICRO, FT, _with(conv(), ("system", 0, "text"), "Assistant: be nice"), "system[0].text", "reserved-string"),
    # Nova fine-tuning takes any string as schemaVersion (the Nova guide, fine-tune-prepare-data-understanding);
    # Llama 3.2 and distillation prompts still need bedrock-conversation-2024.
    (NOVA_MICRO, FT, _with(conv(), ("schemaVersion",), "bedrock-conversion-2024"), None, None),
    (NOVA_MICRO, FT, _with(conv(), ("schemaVersion",), 2024), "schemaVersion", "schema-version"),
    (LLAMA_32_11B, FT, _with(conv(), ("schemaVersion",), "bedrock-conversion-2024"), "schemaVersion", "schema-version"),
    (
        NOVA_MICRO,
        DIST,
        _with(prompts(1)[0], ("schemaVersion",), "bedrock-conversion-2024"),
        "schemaVersion",
        "schema-version",
    ),
    # Nova 2 Lite: text reasoning in assistant turns (nova-2-sft-data-prep); not for Nova 1, not in user turns.
    (
        NOVA_2_LITE,
        FT,
        _with(
            conv(),
            ("messages", 1, "content"),
            [{"reasoningContent": {"reasoningText": {"text": "Vietnam's capital is Hà Nội."}}}, {"text": "Hà Nội."}],
        ),
        None,
        None,
    ),
    (
        NOVA_2_LITE,
        FT,
        _with(conv(), ("messages", 0, "content", 1), {"reasoningContent": {"reasoningText": {"text": "x"}}}),
        "messages[0].content[1].reasoningContent",
        "invalid-content-block",
    ),
    (
        NOVA_2_LITE,
        FT,
        _with(conv(), ("messages", 1, "content", 0), {"reasoningContent": {"redactedContent": "eA=="}}),
        "messages[1].content[0].reasoningContent",
        "invalid-content-block",
    ),
    (
        NOVA_2_LITE,
        FT,
        _with(conv(), ("messages", 1, "content", 0), {"reasoningContent": {"reasoningText": {"text": " "}}}),
        "messages[1].content[0].reasoningContent.reasoningText.text",
        "empty-text",
    ),
    (
        NOVA_MICRO,
        FT,
        _with(conv(), ("messages", 1, "content", 0), {"reasoningContent": {"reasoningText": {"text": "x"}}}),
        "messages[1].content[0]",
        "invalid-content-block",
    ),
    (
        NOVA_2_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content", 1),
            {"image": {"format": "webp", "source": {"s3Location": {"uri": "s3://my-bucket/a.webp"}}}},
        ),
        "messages[0].content[1].image.format",
        "media-format",
    ),
    (NOVA_MICRO, FT, _with(conv(), ("messages", 1, "role"), "user"), "messages[1].role", "roles-not-alternating"),
    (NOVA_MICRO, FT, {**conv(), "messages": conv()["messages"][:1]}, "messages[0].role", "last-turn-not-assistant"),
    (
        NOVA_MICRO,
        FT,
        {**conv(), "messages": [{"role": "system", "content": [{"text": "x"}]}, *conv()["messages"]]},
        "messages[0].role",
        "invalid-role",
    ),
    (
        NOVA_MICRO,
        FT,
        _with(conv(), ("messages", 0, "content", 0), {"type": "text", "text": "hi"}),
        "messages[0].content[0]",
        "invalid-content-block",
    ),
    (NOVA_MICRO, FT, _with(conv(), ("messages", 0, "content"), "hi"), "messages[0].content", "wrong-type"),
    (NOVA_MICRO, FT, _with(conv(), ("messages",), _DELETE), "messages", "missing-field"),
    (
        NOVA_MICRO,
        FT,
        _with(
            conv(),
            ("messages", 0, "content", 1),
            {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://my-bucket/a.png"}}}},
        ),
        "messages[0].content[1].image",
        "media-not-supported",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content", 1),
            {"image": {"format": "bmp", "source": {"s3Location": {"uri": "s3://my-bucket/a.bmp"}}}},
        ),
        "messages[0].content[1].image.format",
        "media-format",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content", 1),
            {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://other-bucket/a.png"}}}},
        ),
        "messages[0].content[1].image.source.s3Location.uri",
        "media-other-bucket",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content", 1),
            {"image": {"format": "png", "source": {"s3Location": {"uri": "https://example.com/a.png"}}}},
        ),
        "messages[0].content[1].image.source.s3Location.uri",
        "invalid-media-uri",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content", 1),
            {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://my-bucket/my image.png"}}}},
        ),
        "messages[0].content[1].image.source.s3Location.uri",
        "invalid-media-uri",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 1, "content", 1),
            {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://my-bucket/a.png"}}}},
        ),
        "messages[1].content[1].image",
        "media-in-assistant-turn",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content"),
            [{"text": "t"}]
            + [
                {"image": {"format": "png", "source": {"s3Location": {"uri": f"s3://my-bucket/{i}.png"}}}}
                for i in range(11)
            ],
        ),
        "messages",
        "too-many-images",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content"),
            [{"text": "t"}]
            + [
                {"video": {"format": "mp4", "source": {"s3Location": {"uri": f"s3://my-bucket/{i}.mp4"}}}}
                for i in range(2)
            ],
        ),
        "messages",
        "too-many-videos",
    ),
    (
        NOVA_LITE,
        FT,
        _with(
            conv(),
            ("messages", 0, "content"),
            [
                {"text": "t"},
                {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://my-bucket/v.mp4"}}}},
                {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://my-bucket/i.png"}}}},
            ],
        ),
        "messages",
        "mixed-media",
    ),
    (
        NOVA_MICRO,
        DIST,
        {
            **prompts(1)[0],
            "messages": prompts(1)[0]["messages"]
            + [{"role": "assistant", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}],
        },
        None,
        None,
    ),
    (
        HAIKU,
        DIST,
        {
            **prompts(1)[0],
            "messages": prompts(1)[0]["messages"]
            + [{"role": "assistant", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}],
        },
        "messages[2]",
        "too-many-turns",
    ),
    (HAIKU, DIST, _with(prompts(1)[0], ("schemaVersion",), _DELETE), "schemaVersion", "schema-version"),
    (
        HAIKU,
        DIST,
        _with(prompts(1)[0], ("messages", 0, "content"), [{"text": "a"}, {"text": "b"}]),
        "messages[0].content",
        "too-many-content-blocks",
    ),
    (HAIKU, DIST, {**prompts(1)[0], "system": [{"text": "a"}, {"text": "b"}]}, "system", "too-many-system-blocks"),
    (HAIKU, DIST, {**prompts(1)[0], "id": 7}, "id", "unknown-field"),
]


def _valid_filler(model, ctype, n):
    if ctype is CPT:
        return [{"input": f"Document {i}."} for i in range(n)]
    if ctype is DIST:
        return prompts(n)
    if model == HAIKU:
        return haiku(n)
    if model in (NOVA_MICRO, NOVA_LITE, NOVA_2_LITE, LLAMA_32_11B):
        return convs(n)
    return pcs(n)


@pytest.mark.parametrize(
    ("model", "ctype", "bad", "field", "kind"), RULES, ids=[f"{r[4]}-{i}" for i, r in enumerate(RULES)]
)
def test_rule_reports_line_field_and_kind(model, ctype, bad, field, kind):
    records = _valid_filler(model, ctype, 120)
    records.insert(2, bad)
    report = validate_dataset(jsonl(*records), model, ctype, bucket="my-bucket")
    if kind is None:  # the record is valid for this model (e.g. Nova allows multi-turn distillation prompts)
        assert report.valid, [str(i) for i in report.issues()]
        return
    found = report.issues(kind)
    assert found, f"expected {kind}; got {[str(i) for i in report.issues()]}"
    assert (found[0].line, found[0].field) == (3, field)
    assert report.counts()[kind] == 1
    assert found[0].message  # a sentence for the data owner
    # nothing else on other lines
    assert {i.line for i in report.issues()} == {3}


def test_media_existence_checked_when_asked():
    record = copy.deepcopy(DOC_NOVA_IMAGE)
    report = validate_dataset(
        jsonl(*_varied(record, 8)), NOVA_LITE, FT, bucket="my-bucket", media_exists=lambda uri: False
    )
    assert report.counts() == {"media-not-found": 8}
    assert report.issues("media-not-found")[0].field == "messages[0].content[1].image.source.s3Location.uri"

    def broken(uri):
        raise PermissionError("AccessDenied")

    report = validate_dataset(jsonl(*_varied(record, 8)), NOVA_LITE, FT, bucket="my-bucket", media_exists=broken)
    assert report.valid and report.counts() == {"media-check-failed": 8}


def test_missing_field_hint_names_the_format_the_record_looks_like():
    report = validate_dataset(jsonl(*[DOC_HAIKU] * 1, *pcs(10)), TITAN_EXPRESS, FT)
    message = report.issues("missing-field")[0].message
    assert "looks like" in message and "prompt-completion" in message


def test_missing_schema_version_is_only_a_warning_for_fine_tuning():
    records = [_with(r, ("schemaVersion",), _DELETE) for r in convs(8)]
    report = validate_dataset(jsonl(*records), NOVA_MICRO, FT)
    assert report.valid and report.counts() == {"missing-schema-version": 8}
