"""Dataset validation: will Bedrock accept this JSONL for this model and customization type?

Public API (used by the validation Lambda and ``tuneforge validate``)::

    validate_dataset(
        source,                        # path, s3:// URI (with s3_client), bytes, or a sources.DatasetSource
        model,                         # catalogue.ModelSpec (or a model id / custom-model ARN)
        customization_type,            # catalogue.CustomizationType or its name
        *,
        validation_source=None,        # optional validation set, same kinds of value
        hyperparameters=None,          # resolves batch-size-dependent token limits (Titan)
        max_examples_per_kind=20,      # examples kept per issue kind; counts are always complete
        bucket=None,                   # the dataset's bucket for the same-bucket media rule (S3 sources know theirs)
        s3_client=None,                # reads s3:// sources
        media_exists=None,             # Callable[[uri], bool]: also check media objects exist
        source_format="auto",          # "auto" detects OpenAI chat; "native" or "openai-chat" force it
        on_converted=None,             # Callable[[split, line, record]] receives each converted record
        progress=None,                 # Callable[[bytes_read]] called every few thousand lines
        duplicate_tracking_limit=200_000,
        evaluation_prompts=None,       # overlap.EvaluationPrompts: warn where training repeats an evaluation prompt
    ) -> report.ValidationReport

One pass over each file, one line in memory at a time. Any byte sequence yields a report: undecodable
bytes, non-JSON, non-objects and wrong shapes are issues located by line and field, never exceptions.

Memory stays flat because everything kept per record is bounded: issue examples (N per kind), a token
histogram (fixed buckets) and fingerprints of records for duplicate and leakage checks, which stop after
``duplicate_tracking_limit`` records (a warning says so; every published Bedrock record quota is far
below the default).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, BinaryIO, Callable

from lambdas.domain.catalogue import (
    CustomizationType,
    DatasetFormat,
    DatasetLimits,
    ModelSpec,
    parse_customization_type,
    resolve_base_model,
)
from lambdas.domain.file_signatures import not_jsonl_text
from lambdas.domain.formats import RecordChecker, checker_for
from lambdas.domain.openai_chat import OPENAI_CHAT, TARGETS, ConversionError, from_openai_chat, is_openai_chat
from lambdas.domain.overlap import EvaluationPrompts, overlap_message, overlap_note, training_prompt
from lambdas.domain.report import FileSummary, IssueCollector, Severity, ValidationReport, token_bucket
from lambdas.domain.sources import DatasetSource, as_source

# The most of one line held at once for a model without a per-record byte cap (every catalogued one has
# a far smaller cap, DatasetLimits.max_record_bytes).
MAX_LINE_BYTES = 64 << 20
_SKIP_CHUNK = 1 << 20  # the rest of an over-long line is read past in pieces this size, never kept
_PROGRESS_EVERY = 0x1FFF  # lines between progress callbacks (a power of two minus one, for a cheap mask)

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON (and Bedrock's parser) does not.
    raise ValueError(f"{name} is not valid JSON")


_decode = json.JSONDecoder(parse_constant=_reject_constant).decode


class _FilePass:
    """What one pass over one file has counted so far, and the line it is on (for every issue it reports).

    Token statistics are plain attributes, not the summary's: the summary gets them once, at the end."""

    __slots__ = (
        "summary",
        "issues",
        "convert",
        "detect",
        "line",
        "nbytes",
        "records",
        "valid",
        "histogram",
        "token_total",
        "token_min",
        "token_max",
    )

    def __init__(self, summary: FileSummary, issues: IssueCollector, *, convert: bool, detect: bool) -> None:
        self.summary = summary
        self.issues = issues
        self.convert = convert  # records are OpenAI chat, converted before they are checked
        self.detect = detect  # the first record decides whether they are
        self.line = self.nbytes = self.records = self.valid = 0
        self.histogram = summary.tokens.histogram
        self.token_total = 0
        self.token_min: int | None = None
        self.token_max: int | None = None

    def issue(self, kind: str, field: str | None, message: str, severity: Severity | None = None) -> None:
        self.issues.add(kind, message, line=self.line, field=field, split=self.summary.split, severity=severity)

    def count_tokens(self, estimate: int) -> None:
        self.token_total += estimate
        if self.token_min is None or estimate < self.token_min:
            self.token_min = estimate
        if self.token_max is None or estimate > self.token_max:
            self.token_max = estimate
        bucket = token_bucket(estimate)
        self.histogram[bucket] = self.histogram.get(bucket, 0) + 1

    def summarise(self, size: int | None) -> None:
        summary, tokens = self.summary, self.summary.tokens
        summary.lines, summary.records, summary.valid_records = self.line, self.records, self.valid
        tokens.records = sum(self.histogram.values())
        tokens.total, tokens.minimum, tokens.maximum = self.token_total, self.token_min, self.token_max
        summary.bytes = self.nbytes if size is None else size


def _text(raw: bytes, file: _FilePass) -> str | None:
    """The line as text without a leading byte-order mark; None when it is not UTF-8 (reported)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        file.issue(
            "invalid-utf8",
            None,
            f"byte {error.start + 1} of the line ({raw[error.start : error.start + 1]!r}) is not valid UTF-8; save the file as UTF-8",
        )
        return None
    if file.line == 1 and text.startswith("\ufeff"):
        file.issue(
            "bom",
            None,
            "the file starts with a UTF-8 byte-order mark; Bedrock's reader may not expect it, save without BOM",
        )
        return text[1:]
    return text


def _json_object(text: str, file: _FilePass) -> dict[str, Any] | None:
    """The line's JSON object; None for a blank line, invalid JSON or another JSON value (each reported)."""
    try:
        record = _decode(text)
    except ValueError as error:
        if not text.strip():
            file.summary.blank_lines += 1
            file.issue("blank-line", None, "empty line; JSONL has one record per line and no blank lines")
            return None
        where = f" at character {error.pos + 1}" if isinstance(error, json.JSONDecodeError) else ""
        msg = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        file.issue("invalid-json", None, f"not valid JSON{where}: {msg}")
        return None
    except RecursionError:
        file.issue("invalid-json", None, "the JSON is nested too deeply to be a training record")
        return None
    if type(record) is not dict:
        file.issue(
            "not-an-object",
            None,
            f"each line must be one JSON object {{...}}, this one is {type(record).__name__ if record is not None else 'null'}",
        )
        return None
    return record


class _Validation:
    def __init__(
        self,
        model: ModelSpec,
        ctype: CustomizationType,
        *,
        hyperparameters: dict[str, Any] | None,
        max_examples: int,
        bucket: str | None,
        media_exists: Callable[[str], bool] | None,
        source_format: str,
        on_converted: Callable[[str, int, dict[str, Any]], None] | None,
        progress: Callable[[int], None] | None,
        duplicate_limit: int,
        evaluation_prompts: EvaluationPrompts | None = None,
    ):
        self.model = model
        self.ctype = ctype
        self.limits: DatasetLimits = model.dataset_limits(ctype)  # first: raises for an unsupported type
        self.fmt: DatasetFormat = model.dataset_format(ctype)
        self.token_limit, self.token_note = model.record_token_limit(ctype, hyperparameters)
        self.issues = IssueCollector(max_examples)
        self.bucket = bucket
        self.media_exists = media_exists
        self.requested_format = source_format
        self.on_converted = on_converted
        self.progress = progress
        self.duplicate_limit = duplicate_limit
        self.evaluation_prompts = evaluation_prompts
        # fingerprint -> first line, per split; training's also answers the leakage question
        self.seen: dict[str, dict[int, int]] = {"training": {}, "validation": {}}
        self.tracking_stopped: set[str] = set()
        self.notes: list[str] = []

    # -- one file ---------------------------------------------------------------------------------
    # scan reads; each step below decides one thing about one line, reports through the pass's issue()
    # and says whether the line goes on. Per-line steps are kept few: every call is paid once per record
    # (see bench/validate_throughput.py).

    def scan(self, source: DatasetSource, split: str) -> FileSummary:
        summary = FileSummary(split=split, name=source.name)
        try:
            size = source.size()
        except Exception as error:  # e.g. S3 AccessDenied: report it rather than crash the pipeline
            self._unreadable(split, f"could not read {source.name}: {error}")
            return summary
        bucket = self.bucket or source.bucket
        checker = checker_for(self.model, self.fmt, self.limits, bucket=bucket, media_exists=self.media_exists)
        file = _FilePass(
            summary,
            self.issues,
            convert=self.requested_format == OPENAI_CHAT,
            detect=self.requested_format == "auto" and self.fmt in TARGETS,
        )
        summary.format = OPENAI_CHAT if file.convert else self.fmt.value
        try:
            stream = source.open()
        except Exception as error:
            self._unreadable(split, f"could not open {source.name}: {error}")
            return summary
        with stream:
            self._read_lines(stream, file, checker)
        file.summarise(size)
        if self.progress is not None:
            self.progress(file.nbytes)
        self._file_checks(summary, split)
        return summary

    def _unreadable(self, split: str, message: str) -> None:
        self.issues.add("source-unreadable", message, line=None, field=None, split=split)

    def _read_limits(self) -> tuple[int, int, bool]:
        """(bytes to read per line, largest record accepted, whether that is the model's own cap).

        Reading no more than the cap (and a CRLF) keeps memory flat however long a line is; a line that
        fills the read is over the cap, and is refused without being decoded."""
        cap = self.limits.max_record_bytes
        if cap is not None and cap + 2 <= MAX_LINE_BYTES:
            return cap + 2, cap, True
        return MAX_LINE_BYTES, MAX_LINE_BYTES, False

    def _read_lines(self, stream: BinaryIO, file: _FilePass, checker: RecordChecker) -> None:
        read_limit, cap, capped = self._read_limits()
        readline = stream.readline
        progress = self.progress
        while True:
            raw = readline(read_limit)
            if not raw:
                return
            file.line += 1
            file.nbytes += len(raw)
            if progress is not None and not file.line & _PROGRESS_EVERY:
                progress(file.nbytes)
            if file.line == 1 and self._refuse_binary(raw, file.summary.split):
                return
            if len(raw) == read_limit and raw[-1] != 10:
                self._overlong_line(stream, len(raw), file, capped)
                continue
            if len(raw) > cap and self._over_cap(raw, cap, file):
                continue
            text = _text(raw, file)
            if text is None:
                continue
            record = _json_object(text, file)
            if record is not None:
                self._check_record(raw, text, record, file, checker)

    def _refuse_binary(self, first_line: bytes, split: str) -> bool:
        """Whether the file is no JSONL text at all (one file-level error, reported, then nothing else)."""
        why = not_jsonl_text(first_line)
        if why is not None:
            self.issues.add("binary-file", why, line=None, field=None, split=split)
        return why is not None

    def _overlong_line(self, stream: BinaryIO, read: int, file: _FilePass, capped: bool) -> None:
        skipped, ended = self._skip_rest_of_line(stream)
        file.nbytes += skipped
        if capped:
            file.issue("record-too-large", None, self._too_large(read + skipped - ended))
        else:
            file.issue(
                "line-too-long",
                None,
                f"the line is longer than {MAX_LINE_BYTES >> 20} MiB; no single record can be this long",
            )

    def _over_cap(self, raw: bytes, cap: int, file: _FilePass) -> bool:
        """Whether the record on this line, without its line ending, is larger than the cap (reported)."""
        content = len(raw) - (2 if raw.endswith(b"\r\n") else 1 if raw[-1] == 10 else 0)
        if content > cap:
            file.issue("record-too-large", None, self._too_large(content))
        return content > cap

    def _check_record(
        self, raw: bytes, text: str, record: dict[str, Any], file: _FilePass, checker: RecordChecker
    ) -> None:
        file.records += 1
        before = self.issues.error_total
        # memchr-fast test first; the regex only runs on lines holding escapes
        if "\\" in text and _SURROGATE_ESCAPE.search(text) and self._lone_surrogate(record):
            file.issue(
                "invalid-unicode",
                None,
                "the line contains an unpaired \\ud800-\\udfff escape, which is not a character; fix the text encoding",
            )
            return
        if self.duplicate_limit > 0:
            self._track_duplicates(raw, file)
        if file.detect or file.convert:
            native = self._native(record, file)
            if native is None:
                return
            record = native
        try:
            chars = checker.check(record, file.issue)
        except Exception as error:  # a validator bug must cost one line, not the whole report
            file.issue(
                "validator-error",
                None,
                f"the validator could not check this record ({type(error).__name__}: {error}); please report it",
            )
            return
        estimate = math.ceil(chars / self.limits.chars_per_token)
        file.count_tokens(estimate)
        if self.token_limit is not None and estimate > self.token_limit:
            file.issue("too-many-tokens", None, self._too_many_tokens(estimate))
        if self.issues.error_total == before:
            file.valid += 1
            if file.convert and self.on_converted is not None:
                self.on_converted(file.summary.split, file.line, record)
            if self.evaluation_prompts is not None and file.summary.split == "training":
                self._check_overlap(self.evaluation_prompts, record, file)

    def _check_overlap(self, prompts: EvaluationPrompts, record: dict[str, Any], file: _FilePass) -> None:
        prompt = training_prompt(record, self.fmt)
        found = prompts.match(prompt) if prompt else None
        if found is not None:
            file.issue("evaluation-overlaps-training", None, overlap_message(found[0], file.line, exact=found[1]))

    def _track_duplicates(self, raw: bytes, file: _FilePass) -> None:
        split = file.summary.split
        seen = self.seen[split]
        # Python's SipHash of the raw line: exact-duplicate detection without decoding twice.
        fingerprint = hash(raw) if raw[-1] == 10 else hash(raw + b"\n")
        first = seen.get(fingerprint)
        if first is not None:
            file.issue(
                "duplicate-record", None, f"identical to line {first}; duplicates weigh those examples more in training"
            )
        elif len(seen) < self.duplicate_limit:
            seen[fingerprint] = file.line
        elif split not in self.tracking_stopped:
            self.tracking_stopped.add(split)
            self.issues.add(
                "duplicate-check-limited",
                f"duplicate and overlap checks covered the first {self.duplicate_limit:,} records only",
                line=file.line,
                field=None,
                split=split,
            )
        if split == "validation":
            first = self.seen["training"].get(fingerprint)
            if first is not None:
                file.issue(
                    "validation-overlaps-training",
                    None,
                    f"identical to training line {first}; validation loss on leaked records is meaningless",
                )

    def _native(self, record: dict[str, Any], file: _FilePass) -> dict[str, Any] | None:
        """The record in the model's own format, converted from OpenAI chat when the file is in it; None
        when it cannot be converted (reported)."""
        if file.detect:
            # The first object decides for the whole file: mixing formats in one file is itself
            # an error, which the per-record checks then report line by line.
            file.detect = False
            if is_openai_chat(record, self.fmt):
                file.convert = True
                file.summary.format = OPENAI_CHAT
        if not file.convert:
            return record
        try:
            converted, dropped = from_openai_chat(record, self.fmt)
        except ConversionError as error:
            file.issue("conversion-failed", error.field or None, error.message)
            return None
        for field, message in dropped:
            file.issue("conversion-dropped-field", field, message)
        return converted

    def _too_many_tokens(self, estimate: int) -> str:
        return f"the record is about {estimate:,} tokens (estimated at {self.limits.chars_per_token:g} characters per token); {self.model.name} accepts at most {self.token_limit:,}"

    def _too_large(self, size: int) -> str:
        cap = self.limits.max_record_bytes or 0
        ceiling = self.limits.tokens.ceiling
        accepts = (
            f"records of at most {ceiling:,} tokens (about {_size(cap)})"
            if ceiling
            else f"records of at most {_size(cap)}"
        )
        return f"the record is {_size(size)}; {self.model.name} accepts {accepts}"

    @staticmethod
    def _skip_rest_of_line(stream: Any) -> tuple[int, int]:
        """(bytes read past, how many of them are the final newline: 0 or 1)."""
        skipped = 0
        while True:
            chunk = stream.readline(_SKIP_CHUNK)
            skipped += len(chunk)
            if not chunk:
                return skipped, 0
            if chunk[-1] == 10:
                return skipped, 1

    @staticmethod
    def _lone_surrogate(record: Any) -> bool:
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return True
        except RecursionError:
            return False
        return False

    # -- whole-file and whole-dataset checks ------------------------------------------------------

    def _file_checks(self, summary: FileSummary, split: str) -> None:
        add = self.issues.add
        if summary.records == 0:
            if summary.lines == summary.blank_lines:  # otherwise the per-line errors already say why
                add("empty-file", f"{summary.name} contains no records", line=None, field=None, split=split)
            return
        if split == "validation" and not self.limits.validation_supported:
            add(
                "validation-not-supported",
                f"{self.model.name} {self.ctype.value} takes no validation file; upload the training file alone",
                line=None,
                field=None,
                split=split,
            )
        bounds = self.limits.records.training if split == "training" else self.limits.records.validation
        problem = bounds.problem(summary.records)
        if problem:
            kind = (
                "too-few-records"
                if bounds.minimum is not None and summary.records < bounds.minimum
                else "too-many-records"
            )
            add(
                kind,
                f"the {split} file has {summary.records:,} records; {problem} for {self.model.name} {self.ctype.value}",
                line=None,
                field=None,
                split=split,
            )
        cap = self.limits.max_training_bytes if split == "training" else self.limits.max_validation_bytes
        if cap is not None and summary.bytes > cap:
            add(
                "file-too-large",
                f"the {split} file is {_size(summary.bytes)}; {self.model.name} accepts at most {_size(cap)}",
                line=None,
                field=None,
                split=split,
            )

    def dataset_checks(self, files: list[FileSummary]) -> None:
        total = sum(f.records for f in files)
        problem = self.limits.records.total.problem(total)
        if problem and all(f.records for f in files):
            bounds = self.limits.records.total
            kind = "too-few-records" if bounds.minimum is not None and total < bounds.minimum else "too-many-records"
            self.issues.add(
                kind,
                f"training and validation together have {total:,} records; {problem} for {self.model.name} {self.ctype.value}",
                line=None,
                field=None,
                split="training",
            )

    def limits_summary(self) -> dict[str, Any]:
        r = self.limits.records
        return {
            "training_records": {"min": r.training.minimum, "max": r.training.maximum},
            "validation_records": {"min": r.validation.minimum, "max": r.validation.maximum},
            "total_records": {"min": r.total.minimum, "max": r.total.maximum},
            "record_tokens": self.token_limit,
            "record_tokens_source": str(self.limits.tokens.source) if self.limits.tokens.source else None,
            "max_record_bytes": self.limits.max_record_bytes,
            "prompt_tokens": self.limits.tokens.prompt,
            "completion_tokens": self.limits.tokens.completion,
            "max_training_bytes": self.limits.max_training_bytes,
            "max_validation_bytes": self.limits.max_validation_bytes,
            "chars_per_token": self.limits.chars_per_token,
            "images": sorted(self.limits.media.image_formats),
            "videos": sorted(self.limits.media.video_formats),
            "reserved_strings": list(self.limits.reserved_strings),
        }

    def collect_notes(self) -> list[str]:
        notes = [
            f"token counts are estimates at {self.limits.chars_per_token:g} characters per token, not the model's tokenizer"
        ]
        if self.token_note:
            notes.append(self.token_note)
        notes += list(self.limits.notes)
        if self.limits.media.note:
            notes.append(self.limits.media.note)
        if self.media_exists is None and (self.limits.media.images or self.limits.media.videos):
            notes.append("media objects were not checked for existence (no S3 access for this check)")
        overlap = overlap_note(self.evaluation_prompts) if self.evaluation_prompts is not None else None
        return notes + ([overlap] if overlap else [])


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def validate_dataset(
    source: Any,
    model: ModelSpec | str,
    customization_type: CustomizationType | str,
    *,
    validation_source: Any = None,
    hyperparameters: dict[str, Any] | None = None,
    max_examples_per_kind: int = 20,
    bucket: str | None = None,
    s3_client: Any = None,
    media_exists: Callable[[str], bool] | None = None,
    source_format: str = "auto",
    on_converted: Callable[[str, int, dict[str, Any]], None] | None = None,
    progress: Callable[[int], None] | None = None,
    duplicate_tracking_limit: int = 200_000,
    evaluation_prompts: EvaluationPrompts | None = None,
) -> ValidationReport:
    """Validate a training file (and optionally a validation file). See the module docstring.

    Raises CatalogueError only for an unknown model or a customization type the model does not
    support (caller errors); everything about the data itself goes into the report.
    """
    spec = model if isinstance(model, ModelSpec) else resolve_base_model(model)
    ctype = (
        customization_type
        if isinstance(customization_type, CustomizationType)
        else parse_customization_type(customization_type)
    )
    if source_format not in ("auto", "native", OPENAI_CHAT):
        raise ValueError(f"source_format must be auto, native or {OPENAI_CHAT}, not {source_format!r}")
    run = _Validation(
        spec,
        ctype,
        hyperparameters=hyperparameters,
        max_examples=max_examples_per_kind,
        bucket=bucket,
        media_exists=media_exists,
        source_format=source_format,
        on_converted=on_converted,
        progress=progress,
        duplicate_limit=duplicate_tracking_limit,
        evaluation_prompts=evaluation_prompts,
    )
    if source_format == OPENAI_CHAT and run.fmt not in TARGETS:
        raise ValueError(f"OpenAI chat records cannot be converted to {run.fmt.value}")
    files = [run.scan(as_source(source, s3_client), "training")]
    if validation_source is not None:
        files.append(run.scan(as_source(validation_source, s3_client), "validation"))
    run.dataset_checks(files)
    source_name = OPENAI_CHAT if any(f.format == OPENAI_CHAT for f in files) else run.fmt.value
    return ValidationReport(
        model_id=spec.model_id,
        model_name=spec.name,
        customization_type=ctype.value,
        dataset_format=run.fmt.value,
        source_format=source_name,
        files=files,
        errors=run.issues.groups(Severity.ERROR),
        warnings=run.issues.groups(Severity.WARNING),
        limits=run.limits_summary(),
        notes=run.collect_notes(),
        max_examples_per_kind=max_examples_per_kind,
    )
