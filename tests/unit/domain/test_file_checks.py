"""Line-level decoding problems and whole-file checks."""

import dataclasses
import json

import pytest

from lambdas.domain.catalogue import CustomizationType, DatasetLimits, get_model
from lambdas.domain.report import ValidationReport
from lambdas.domain.sources import in_memory
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import HAIKU, LLAMA_31_8B, NOVA_MICRO, TITAN_EXPRESS, convs, haiku, jsonl, pcs

FT = CustomizationType.FINE_TUNING


def kinds_at(report):
    return [(i.split, i.line, i.field, i.kind) for i in report.issues()]


def test_decoding_problems_are_located_by_line():
    data = b"".join(
        [
            b'\xef\xbb\xbf{"prompt": "a", "completion": "b"}\n',  # BOM on line 1: tolerated
            b'{"prompt": "caf\xe9", "completion": "b"}\n',  # latin-1 byte
            b"\n",
            b"[1, 2]\n",
            b'{"prompt": "a", "completion": NaN}\n',
            b'{"prompt": "a", "completion": "b"\n',
            b'"just a string"\n',
            b'{"prompt": "\\ud800", "completion": "b"}\n',
            b'{"prompt": "c", "completion": "d"}',  # no final newline
        ]
    )
    report = validate_dataset(data, TITAN_EXPRESS, FT)
    assert kinds_at(report) == [
        ("training", 1, None, "bom"),
        ("training", 2, None, "invalid-utf8"),
        ("training", 3, None, "blank-line"),
        ("training", 4, None, "not-an-object"),
        ("training", 5, None, "invalid-json"),
        ("training", 6, None, "invalid-json"),
        ("training", 7, None, "not-an-object"),
        ("training", 8, None, "invalid-unicode"),
    ]
    assert report.issues("bom")[0].severity.value == "warning"
    assert "byte 16" in report.issues("invalid-utf8")[0].message
    t = report.training
    assert (t.lines, t.records, t.valid_records, t.blank_lines) == (9, 3, 2, 1)


def test_crlf_line_endings_are_accepted():
    data = jsonl(*pcs(3)).replace(b"\n", b"\r\n")
    assert validate_dataset(data, TITAN_EXPRESS, FT).valid


def test_empty_file_and_whitespace_only_file():
    report = validate_dataset(b"", TITAN_EXPRESS, FT)
    assert kinds_at(report) == [("training", None, None, "empty-file")]
    report = validate_dataset(b"\n \n", TITAN_EXPRESS, FT)
    assert report.counts() == {"empty-file": 1, "blank-line": 2}


def test_record_count_bounds_per_split():
    report = validate_dataset(jsonl(*convs(7)), NOVA_MICRO, FT)
    group = report.errors[0]
    assert (group.kind, group.examples[0].line, group.examples[0].split) == ("too-few-records", None, "training")
    assert "at least 8" in group.examples[0].message

    report = validate_dataset(
        jsonl(*haiku(40)), HAIKU, FT, validation_source=jsonl(*[{**r, "system": "v"} for r in haiku(1001)])
    )
    assert [(i.split, i.kind) for i in report.issues()] == [("validation", "too-many-records")]


def test_total_bounds_cover_training_plus_validation():
    # Llama 3.1: 100-10,000 records for training and validation together
    report = validate_dataset(
        jsonl(*pcs(60)),
        LLAMA_31_8B,
        FT,
        validation_source=jsonl(*[{"prompt": f"v{i}", "completion": "c"} for i in range(50)]),
    )
    assert report.valid
    report = validate_dataset(jsonl(*pcs(60)), LLAMA_31_8B, FT)
    assert report.counts() == {"too-few-records": 1}


def test_file_size_limit():
    spec = get_model(TITAN_EXPRESS)
    small = dataclasses.replace(spec, limits={FT: DatasetLimits(max_training_bytes=100, max_validation_bytes=500)})
    report = validate_dataset(jsonl(*pcs(5)), small, FT, validation_source=jsonl(*pcs(1)))
    assert [(i.split, i.kind) for i in report.issues()] == [
        ("training", "file-too-large"),
        ("validation", "validation-overlaps-training"),
    ]


def test_duplicates_and_train_validation_overlap():
    records = pcs(5)
    report = validate_dataset(
        jsonl(*records, records[1], records[1]),
        TITAN_EXPRESS,
        FT,
        validation_source=jsonl(records[3], {"prompt": "new", "completion": "x"}),
    )
    assert report.valid  # both are warnings: Bedrock accepts them
    dups = report.issues("duplicate-record")
    assert [(d.line, "line 2" in d.message) for d in dups] == [(6, True), (7, True)]
    overlap = report.issues("validation-overlaps-training")
    assert [(o.split, o.line, "training line 4" in o.message) for o in overlap] == [("validation", 1, True)]


def test_duplicate_tracking_is_bounded():
    records = pcs(10)
    report = validate_dataset(jsonl(*records, *records), TITAN_EXPRESS, FT, duplicate_tracking_limit=5)
    counts = report.counts()
    assert counts["duplicate-check-limited"] == 1 and counts["duplicate-record"] == 5


def test_only_the_first_n_examples_per_kind_are_kept_but_all_are_counted():
    data = b"not json\n" * 1000
    report = validate_dataset(data, TITAN_EXPRESS, FT, max_examples_per_kind=3)
    (group,) = report.errors
    assert (group.kind, group.count, [e.line for e in group.examples]) == ("invalid-json", 1000, [1, 2, 3])
    assert len(report.to_json()) < 5000


def test_token_statistics():
    records = [
        {"prompt": "x" * 60, "completion": "y" * 60},
        {"prompt": "x" * 600, "completion": "y"},
        {"prompt": "z" * 6, "completion": "y" * 6},
    ]
    report = validate_dataset(jsonl(*records), TITAN_EXPRESS, FT)
    tokens = report.training.tokens
    # Titan: 6 characters per token, rounded up per record
    assert (tokens.records, tokens.total, tokens.minimum, tokens.maximum) == (3, 20 + 101 + 2, 2, 101)
    assert tokens.percentile(50) == 20 and tokens.percentile(100) == 101


def test_token_limit_follows_batch_size():
    record = {"prompt": "x" * 6 * 3000, "completion": "y"}  # ~3,001 tokens
    assert validate_dataset(jsonl(record), TITAN_EXPRESS, FT).valid
    report = validate_dataset(jsonl(record), TITAN_EXPRESS, FT, hyperparameters={"batchSize": "2"})
    assert report.counts() == {"too-many-tokens": 1} and "2,048" in report.errors[0].examples[0].message
    report = validate_dataset(jsonl(record), TITAN_EXPRESS, FT, hyperparameters={"batchSize": "8"})
    assert report.valid and any("batch size 8" in n for n in report.notes)


def test_report_round_trips_through_json():
    records = pcs(5)
    report = validate_dataset(jsonl(*records, b"{", records[0]), TITAN_EXPRESS, FT, validation_source=jsonl(records[2]))
    data = json.loads(report.to_json())
    assert data["valid"] is False and data["counts"] == {
        "invalid-json": 1,
        "duplicate-record": 1,
        "validation-overlaps-training": 1,
    }
    again = ValidationReport.from_dict(data)
    assert again.to_dict() == report.to_dict()
    assert again.issues("invalid-json")[0].line == 6


def test_unsupported_type_and_unknown_model_raise_catalogue_errors():
    from lambdas.domain.catalogue import CatalogueError

    with pytest.raises(CatalogueError, match="supports"):
        validate_dataset(b"", "amazon.titan-text-premier-v1:0:32k", "DISTILLATION")
    with pytest.raises(CatalogueError, match="customizable models"):
        validate_dataset(b"", "nope", "FINE_TUNING")


def test_unreadable_source_is_reported_not_raised():
    class Broken:
        name, bucket = "s3://b/k", "b"

        def size(self):
            raise PermissionError("AccessDenied")

        def open(self):
            raise AssertionError("not reached")

    report = validate_dataset(Broken(), TITAN_EXPRESS, FT)
    assert report.counts() == {"source-unreadable": 1, "empty-file": 1} or report.counts() == {"source-unreadable": 1}


def test_progress_callback_reports_bytes():
    seen = []
    data = jsonl(*pcs(20_000))
    validate_dataset(in_memory(data), TITAN_EXPRESS, FT, progress=seen.append)
    assert seen and seen[-1] == len(data) and seen == sorted(seen)


def test_a_checker_bug_costs_one_line_not_the_report(monkeypatch):
    from lambdas.domain import formats

    original = formats.PromptCompletion.check

    def flaky(self, record, issue):
        if record.get("prompt") == "boom":
            raise KeyError("bug")
        return original(self, record, issue)

    monkeypatch.setattr(formats.PromptCompletion, "check", flaky)
    report = validate_dataset(jsonl(*pcs(2), {"prompt": "boom", "completion": "x"}, *pcs(3)[2:]), TITAN_EXPRESS, FT)
    assert [(i.line, i.kind) for i in report.issues()] == [(3, "validator-error")]
    assert report.training.valid_records == 3


def _zip(data: bytes) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train.jsonl", data)
    return buffer.getvalue()


def _binary_cases():
    import bz2
    import gzip
    import lzma

    data = jsonl(*pcs(500))
    return {
        "gzip": (gzip.compress(data), "this file is gzip-compressed; upload the uncompressed JSONL"),
        "zip": (_zip(data), "this file is a ZIP archive; extract it and upload the JSONL inside"),
        "bzip2": (bz2.compress(data), "this file is bzip2-compressed; upload the uncompressed JSONL"),
        "xz": (lzma.compress(data), "this file is xz-compressed; upload the uncompressed JSONL"),
        # no zstd or Parquet writer in the standard library: their magic numbers and some bytes
        "zstd": (b"\x28\xb5\x2f\xfd\x04\x58\x45\x00\x00" + bytes(range(256)) * 4, "this file is zstd-compressed"),
        "parquet": (
            b"PAR1\x15\x04\x15\x10" + bytes(range(256)) * 4 + b"PAR1",
            "this file is Apache Parquet, not JSONL",
        ),
        "pdf": (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 50,
            "this file is a PDF document, not JSONL",
        ),
        "utf-16": (data.decode().encode("utf-16"), "this file is UTF-16 (or UTF-32) text; save it as UTF-8"),
        "nul-bytes": (b"\x00\x01\x02\x03binary\n" + data, "this file is binary, not text"),
    }


@pytest.mark.parametrize("case", sorted(_binary_cases()))
def test_a_compressed_or_binary_file_is_one_file_level_error_that_says_what_it_is(case):
    data, message = _binary_cases()[case]
    report = validate_dataset(data, TITAN_EXPRESS, FT)
    (issue,) = report.issues()
    assert (issue.kind, issue.severity.value, issue.line, issue.split) == ("binary-file", "error", None, "training")
    assert issue.message.startswith(message)
    assert not report.valid and report.training.records == 0


def test_a_binary_validation_file_is_named_as_the_validation_split():
    import gzip

    report = validate_dataset(jsonl(*pcs(5)), TITAN_EXPRESS, FT, validation_source=gzip.compress(jsonl(*pcs(2))))
    assert [(i.split, i.line, i.kind) for i in report.issues()] == [("validation", None, "binary-file")]


def test_text_that_merely_looks_binary_later_is_checked_line_by_line():
    # only the first line decides: a NUL byte further down is that line's problem, not the file's
    data = jsonl(*pcs(2)) + b'{"prompt": "a\x00", "completion": "b"}\n' + b"BZh9 is not a record\n"
    report = validate_dataset(data, TITAN_EXPRESS, FT)
    assert [(i.line, i.kind) for i in report.issues()] == [(3, "invalid-json"), (4, "invalid-json")]


def test_json_nested_deeper_than_the_decoder_can_go_is_one_invalid_line():
    data = jsonl(*pcs(2)) + b"[" * 100_000 + b"\n" + jsonl({"prompt": "another", "completion": "record"})
    report = validate_dataset(data, TITAN_EXPRESS, FT)
    assert kinds_at(report) == [("training", 3, None, "invalid-json")]
    assert "nested too deeply" in report.issues("invalid-json")[0].message
    assert (report.training.lines, report.training.records) == (4, 3)
