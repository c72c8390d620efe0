import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.domain.catalogue import CustomizationType, DatasetFormat
from lambdas.domain.openai_chat import ConversionError, from_openai_chat, is_openai_chat, to_openai_chat
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import HAIKU, NOVA_MICRO, TITAN_EXPRESS, jsonl

FT = CustomizationType.FINE_TUNING
CONV, CLAUDE = DatasetFormat.CONVERSATION_2024, DatasetFormat.CLAUDE_MESSAGES


def openai(i=0, system=True):
    messages = [{"role": "system", "content": "Bạn là trợ lý hữu ích."}] if system else []
    messages += [
        {"role": "user", "content": f"Thủ đô của Việt Nam là gì? ({i})"},
        {"role": "assistant", "content": "Hà Nội."},
    ]
    return {"messages": messages}


def test_conversion_to_conversation_2024_and_claude():
    converted, warnings = from_openai_chat(openai(), CONV)
    assert converted == {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Bạn là trợ lý hữu ích."}],
        "messages": [
            {"role": "user", "content": [{"text": "Thủ đô của Việt Nam là gì? (0)"}]},
            {"role": "assistant", "content": [{"text": "Hà Nội."}]},
        ],
    }
    assert warnings == []
    converted, _ = from_openai_chat(openai(), CLAUDE)
    assert converted == {
        "system": "Bạn là trợ lý hữu ích.",
        "messages": [
            {"role": "user", "content": "Thủ đô của Việt Nam là gì? (0)"},
            {"role": "assistant", "content": "Hà Nội."},
        ],
    }


def test_text_parts_are_joined_and_droppable_fields_warned():
    record = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "name": "x"},
            {"role": "assistant", "content": "c", "weight": 1},
        ]
    }
    converted, warnings = from_openai_chat(record, CONV)
    assert converted["messages"][0]["content"] == [{"text": "ab"}]
    assert [w[0] for w in warnings] == ["messages[0].name", "messages[1].weight"]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": None, "tool_calls": []}]},
            "messages[1]",
        ),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]}, "messages[1]"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x"}}]}]},
            "messages[0].content[0]",
        ),
        ({"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "late"}]}, "messages[1].role"),
        ({"messages": [{"role": "developer", "content": "a"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ],
)
def test_conversion_errors_name_the_field(record, field):
    with pytest.raises(ConversionError) as error:
        from_openai_chat(record, CONV)
    assert error.value.field == field


def test_detection():
    assert is_openai_chat(openai(), CONV) and is_openai_chat(openai(system=False), CONV)
    assert is_openai_chat(openai(), CLAUDE)
    assert not is_openai_chat(openai(system=False), CLAUDE)  # identical to Haiku's own format
    assert not is_openai_chat({"schemaVersion": "bedrock-conversation-2024", "messages": []}, CONV)
    assert not is_openai_chat({"prompt": "a"}, CONV)
    assert not is_openai_chat(openai(), DatasetFormat.PROMPT_COMPLETION)


text = st.text(min_size=1, max_size=40).filter(lambda s: not s.isspace())


@settings(max_examples=60, deadline=None)
@given(
    system=st.one_of(st.none(), text),
    turns=st.lists(st.tuples(text, text), min_size=1, max_size=4),
    target=st.sampled_from([CONV, CLAUDE]),
)
def test_round_trip(system, turns, target):
    messages = [{"role": "system", "content": system}] if system is not None else []
    for user, assistant in turns:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    original = {"messages": messages}
    converted, _ = from_openai_chat(original, target)
    assert to_openai_chat(converted, target) == original


def test_validator_converts_and_reports_conversion_errors_by_line():
    records = [openai(i) for i in range(10)]
    records[4] = {"messages": [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]}
    records[6] = {"messages": [{"role": "user", "content": "User: hi"}, {"role": "assistant", "content": "ok"}]}
    converted = []
    report = validate_dataset(
        jsonl(*records), NOVA_MICRO, FT, on_converted=lambda split, line, rec: converted.append((split, line, rec))
    )
    assert report.source_format == "openai-chat" and report.training.format == "openai-chat"
    assert [(i.line, i.field, i.kind) for i in report.issues()] == [
        (5, "messages[1]", "conversion-failed"),
        (7, "messages[0].content[0].text", "reserved-string"),  # checked after conversion
    ]
    assert [line for _, line, _ in converted] == [1, 2, 3, 4, 6, 8, 9, 10]
    assert converted[0][2]["schemaVersion"] == "bedrock-conversation-2024"


def test_haiku_target_and_native_files_are_not_converted():
    report = validate_dataset(jsonl(*[openai(i) for i in range(40)]), HAIKU, FT)
    assert report.valid and report.source_format == "openai-chat"
    native = [{"messages": openai(i, system=False)["messages"]} for i in range(40)]
    report = validate_dataset(jsonl(*native), HAIKU, FT)
    assert report.valid and report.source_format == "claude-messages"


def test_forced_formats():
    records = jsonl(*[openai(i) for i in range(10)])
    report = validate_dataset(records, NOVA_MICRO, FT, source_format="native")
    assert not report.valid and "invalid-role" in report.counts()
    with pytest.raises(ValueError):
        validate_dataset(records, TITAN_EXPRESS, FT, source_format="openai-chat")


def test_converted_records_are_json_serialisable_utf8():
    converted = []
    validate_dataset(
        jsonl(*[openai(i) for i in range(10)]), NOVA_MICRO, FT, on_converted=lambda s, l, r: converted.append(r)
    )
    line = json.dumps(converted[0], ensure_ascii=False).encode("utf-8")
    assert "Hà Nội".encode() in line


def test_validator_reports_dropped_fields_by_line_and_still_counts_the_record_valid():
    records = [openai(i) for i in range(10)]
    records[2]["messages"][1]["name"] = "alice"
    converted = []
    report = validate_dataset(jsonl(*records), NOVA_MICRO, FT, on_converted=lambda s, line, r: converted.append(line))
    assert [(i.line, i.field, i.kind, i.severity.value) for i in report.issues()] == [
        (3, "messages[1].name", "conversion-dropped-field", "warning")
    ]
    assert report.training.valid_records == 10 and 3 in converted
