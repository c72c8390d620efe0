"""Per-record caps: a record over its model's byte or token cap is one error on its line, found cheaply."""

import dataclasses
import json
import tracemalloc

import pytest

from lambdas.domain.catalogue import CustomizationType, get_model
from lambdas.domain.sources import local_file
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import NOVA_MICRO, conv, convs, jsonl

FT = CustomizationType.FINE_TUNING
MIB = 1 << 20


def test_a_50_mib_nova_record_is_one_error_on_line_1_read_in_constant_memory(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(jsonl(conv(user="x" * (50 * MIB))))
    tracemalloc.start()
    try:
        report = validate_dataset(local_file(path), NOVA_MICRO, FT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (issue,) = report.issues()
    assert (issue.kind, issue.severity.value, issue.line, issue.split) == ("record-too-large", "error", 1, "training")
    assert (
        issue.message == "the record is 50.0 MiB; Nova Micro accepts records of at most 32,000 tokens (about 1.5 MiB)"
    )
    assert str(issue).startswith("training line 1: the record is 50.0 MiB")
    assert not report.valid and report.training.bytes == path.stat().st_size
    assert peak < 8 * MIB  # the line is never held whole: at most the cap and one read-past piece


def test_the_byte_cap_never_refuses_a_record_the_token_cap_admits():
    # 12 bytes a character (an escaped surrogate pair) is the most JSON spends: 31,750 estimated tokens of
    # emoji written as \ud83d\ude00 is a record of about 1.5 MB, and within both of Nova Micro's caps.
    emoji = conv(user="\U0001f600" * 127_000, system=None, assistant="ok")
    line = json.dumps(emoji).encode()
    cap = get_model(NOVA_MICRO).dataset_limits(FT).max_record_bytes
    assert cap - 20_000 < len(line) < cap
    report = validate_dataset(jsonl(line, *convs(7)), NOVA_MICRO, FT)
    assert report.valid, report.issues()


def test_a_record_within_the_byte_cap_but_over_the_token_cap_is_too_many_tokens():
    report = validate_dataset(jsonl(conv(user="x" * 4 * 33_000), *convs(7)), NOVA_MICRO, FT)
    (issue,) = report.issues()
    assert (issue.kind, issue.line) == ("too-many-tokens", 1) and "at most 32,000" in issue.message


def _with_record_cap(cap):
    spec = get_model(NOVA_MICRO)
    return dataclasses.replace(spec, limits={FT: dataclasses.replace(spec.dataset_limits(FT), max_record_bytes=cap)})


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""], ids=["lf", "crlf", "last-line-without-newline"])
def test_the_cap_counts_the_record_not_its_line_ending(ending):
    at_cap = json.dumps(conv(user="a" * 300)).encode()
    over = json.dumps(conv(user="a" * 301)).encode()
    model = _with_record_cap(len(at_cap))
    head = jsonl(*convs(8))
    assert validate_dataset(head + at_cap + ending, model, FT).valid
    report = validate_dataset(head + over + ending, model, FT)
    assert [(i.line, i.kind) for i in report.issues()] == [(9, "record-too-large")]


def test_records_after_an_oversized_one_are_still_checked_on_their_own_lines():
    model = _with_record_cap(2_000)
    big = json.dumps(conv(user="x" * 100_000)).encode()
    data = jsonl(*convs(4), big, *convs(4, system="s"), conv(user="User: hi"))
    report = validate_dataset(data, model, FT)
    assert [(i.line, i.kind) for i in report.issues()] == [(5, "record-too-large"), (10, "reserved-string")]
    assert (report.training.lines, report.training.records, report.training.valid_records) == (10, 9, 8)
    assert f"the record is {len(big) / 1024:.1f} KiB" in report.issues("record-too-large")[0].message


def test_the_report_states_the_caps_and_their_source():
    limits = validate_dataset(jsonl(*convs(8)), NOVA_MICRO, FT).limits
    assert limits["record_tokens"] == 32_000 and limits["max_record_bytes"] == 32_000 * 4 * 12
    assert (
        "docs.aws.amazon.com/nova/" in limits["record_tokens_source"] and "(read 20" in limits["record_tokens_source"]
    )


def test_distillation_reports_say_the_prompt_cap_is_the_students():
    prompt = {
        "schemaVersion": "bedrock-conversation-2024",
        "messages": [{"role": "user", "content": [{"text": "x" * 4 * 33_000}]}],
    }
    report = validate_dataset(jsonl(prompt), NOVA_MICRO, CustomizationType.DISTILLATION)
    assert report.issues("too-many-tokens")[0].line == 1
    assert any("no per-record limit is published for distillation prompts" in note for note in report.notes)
