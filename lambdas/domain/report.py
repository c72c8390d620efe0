"""The validation report: what is wrong with a dataset, where, and how much of it there is.

Every problem is an :class:`Issue` with a 1-based line number, a field path such as
``messages[2].content[0].text``, a stable machine id (``kind``, e.g. ``roles-not-alternating``) and a
sentence a data owner understands. A report keeps a count per kind but only the first N examples of each,
so a file with a million broken lines still gives a small report. ``ValidationReport.to_dict()`` is plain
JSON (the validation Lambda writes it to S3) and ``ValidationReport.from_dict`` reads it back.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping


class Severity(str, Enum):
    ERROR = "error"  # Bedrock would reject the dataset, or the job would train on something broken
    WARNING = "warning"  # accepted by Bedrock but probably not what the data owner meant


@dataclass(frozen=True)
class IssueKind:
    id: str
    severity: Severity
    summary: str


def _kinds(*rows: tuple[str, Severity, str]) -> dict[str, IssueKind]:
    return {row[0]: IssueKind(*row) for row in rows}


E, W = Severity.ERROR, Severity.WARNING

# The catalogue of kinds: ids are a public contract (dashboards, tests, docs/validation.md), never rename one.
KINDS: dict[str, IssueKind] = _kinds(
    # bytes and lines
    ("binary-file", E, "the file is compressed or binary, not JSONL text"),
    ("invalid-utf8", E, "the line is not valid UTF-8 text"),
    ("bom", W, "the file starts with a UTF-8 byte-order mark"),
    ("line-too-long", E, "the line is longer than the validator reads in one piece"),
    ("blank-line", W, "an empty line between records"),
    ("invalid-json", E, "the line is not one JSON value"),
    ("invalid-unicode", E, "the JSON contains an unpaired UTF-16 surrogate escape"),
    ("not-an-object", E, "the line is JSON but not a JSON object"),
    # fields
    ("missing-field", E, "a required field is absent"),
    ("wrong-type", E, "a field has the wrong JSON type"),
    ("empty-text", E, "a text field is empty or only whitespace"),
    ("empty-system-text", W, "a system prompt is empty"),
    ("unknown-field", W, "a field Bedrock does not document for this format"),
    ("schema-version", E, "schemaVersion is not bedrock-conversation-2024"),
    ("missing-schema-version", W, "schemaVersion is absent"),
    ("too-many-system-blocks", E, "more system blocks than the model accepts"),
    # conversation structure
    ("invalid-role", E, "a role other than user or assistant"),
    ("first-turn-not-user", E, "the conversation does not start with the user"),
    ("roles-not-alternating", E, "two consecutive turns have the same role"),
    ("last-turn-not-assistant", E, "the conversation does not end with an assistant turn"),
    ("too-many-turns", E, "the model only takes single-turn prompts"),
    ("no-user-turn", E, "an RFT prompt has no user turn for the model to answer"),
    ("invalid-content-block", E, "a content block is not exactly one of text, image or video"),
    ("too-many-content-blocks", E, "distillation prompts take exactly one text block per turn"),
    ("reserved-string", E, "the text contains a string Bedrock reserves for its prompt template"),
    # media
    ("media-not-supported", E, "the model or customization type takes no images or videos"),
    ("media-in-assistant-turn", E, "images and videos are only allowed in user turns"),
    ("media-format", E, "an image or video format the model does not accept"),
    ("too-many-images", E, "more images in one record than the model accepts"),
    ("too-many-videos", E, "more videos in one record than the model accepts"),
    ("mixed-media", E, "images and a video in the same record"),
    ("invalid-media-uri", E, "the media location is not an acceptable s3:// URI"),
    ("media-other-bucket", E, "the media object is not in the dataset's bucket"),
    ("media-not-found", E, "the media object does not exist"),
    ("media-check-failed", W, "the media object could not be checked"),
    # size
    ("too-many-tokens", E, "the record is longer than the model's per-record token limit"),
    ("record-too-large", E, "the record has more bytes than any record within the model's token limit"),
    # OpenAI chat conversion
    ("conversion-failed", E, "an OpenAI chat record could not be converted to the model's format"),
    ("conversion-dropped-field", W, "an OpenAI chat field with no Bedrock equivalent was dropped"),
    # whole file
    ("empty-file", E, "the file has no records"),
    ("too-few-records", E, "fewer records than the model requires"),
    ("too-many-records", E, "more records than the model accepts"),
    ("file-too-large", E, "the file is larger than the model accepts"),
    ("validation-not-supported", E, "the model and type take no validation file"),
    ("duplicate-record", W, "the record is identical to an earlier one"),
    ("validation-overlaps-training", W, "a validation record also appears in the training set"),
    ("evaluation-overlaps-training", W, "a training record's prompt is one of the evaluation set's"),
    ("duplicate-check-limited", W, "duplicate detection stopped at its memory limit"),
    ("source-unreadable", E, "the dataset could not be read"),
    ("validator-error", E, "an unexpected failure of the validator on this record (a bug: please report it)"),
)


@dataclass(frozen=True)
class Issue:
    kind: str
    severity: Severity
    message: str
    line: int | None = None  # 1-based; None for whole-file issues
    field: str | None = None  # e.g. "messages[2].content[0].text"; None for line- or file-level issues
    split: str = "training"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Issue":
        return cls(
            kind=data["kind"],
            severity=Severity(data["severity"]),
            message=data["message"],
            line=data.get("line"),
            field=data.get("field"),
            split=data.get("split", "training"),
        )

    def __str__(self) -> str:
        where = f"{self.split} line {self.line}" if self.line else self.split
        if self.field:
            where += f", {self.field}"
        return f"{where}: {self.message} [{self.kind}]"


@dataclass
class IssueGroup:
    kind: str
    severity: Severity
    count: int
    examples: list[Issue]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity.value,
            "count": self.count,
            "examples": [i.to_dict() for i in self.examples],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "IssueGroup":
        return cls(
            data["kind"], Severity(data["severity"]), int(data["count"]), [Issue.from_dict(i) for i in data["examples"]]
        )


class IssueCollector:
    """Counts every issue, keeps the first ``max_examples`` of each kind."""

    def __init__(self, max_examples: int = 20):
        if max_examples < 0:
            raise ValueError("max_examples must be >= 0")
        self.max_examples = max_examples
        self.counts: dict[tuple[Severity, str], int] = {}
        self.examples: dict[tuple[Severity, str], list[Issue]] = {}
        self.error_total = 0

    def add(
        self,
        kind: str,
        message: str,
        *,
        line: int | None,
        field: str | None,
        split: str,
        severity: Severity | None = None,
    ) -> None:
        sev = severity or KINDS[kind].severity
        key = (sev, kind)
        n = self.counts.get(key, 0)
        self.counts[key] = n + 1
        if sev is Severity.ERROR:
            self.error_total += 1
        if n < self.max_examples:
            self.examples.setdefault(key, []).append(Issue(kind, sev, message, line, field, split))

    def groups(self, severity: Severity) -> list[IssueGroup]:
        keys = sorted((k for k in self.counts if k[0] is severity), key=lambda k: (-self.counts[k], k[1]))
        return [IssueGroup(k[1], severity, self.counts[k], self.examples.get(k, [])) for k in keys]


# Token-count histogram: 8 sub-buckets per power of two, so a percentile is known to within 12.5% in
# constant memory whatever the number of records.
def token_bucket(value: int) -> int:
    bits = value.bit_length()
    if bits <= 4:
        return value
    shift = bits - 4
    return (value >> shift) << shift  # lower bound of the bucket holding ``value``


@dataclass
class TokenStats:
    records: int = 0
    total: int = 0
    minimum: int | None = None
    maximum: int | None = None
    histogram: dict[int, int] = field(default_factory=dict)  # bucket upper bound -> records

    def add(self, tokens: int) -> None:
        self.records += 1
        self.total += tokens
        if self.minimum is None or tokens < self.minimum:
            self.minimum = tokens
        if self.maximum is None or tokens > self.maximum:
            self.maximum = tokens
        b = token_bucket(tokens)
        self.histogram[b] = self.histogram.get(b, 0) + 1

    def percentile(self, q: float) -> int | None:
        """The q-th percentile to within one bucket (12.5%): the lower bound of its bucket, or the maximum
        when it falls in the top bucket, so it never leaves the observed range."""
        if not self.records or self.minimum is None or self.maximum is None:
            return None
        rank = max(1, math.ceil(q / 100 * self.records))
        seen = 0
        for lower in sorted(self.histogram):
            seen += self.histogram[lower]
            if seen >= rank:
                return self.maximum if seen == self.records else max(lower, self.minimum)
        return self.maximum

    @property
    def mean(self) -> float | None:
        return self.total / self.records if self.records else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "total": self.total,
            "min": self.minimum,
            "max": self.maximum,
            "mean": None if self.mean is None else round(self.mean, 1),
            "p50": self.percentile(50),
            "p90": self.percentile(90),
            "p99": self.percentile(99),
            "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TokenStats":
        return cls(
            records=int(data["records"]),
            total=int(data["total"]),
            minimum=data.get("min"),
            maximum=data.get("max"),
            histogram={int(k): int(v) for k, v in data.get("histogram", {}).items()},
        )


@dataclass
class FileSummary:
    split: str  # "training" or "validation"
    name: str
    bytes: int = 0
    lines: int = 0
    records: int = 0  # JSON objects, valid or not
    valid_records: int = 0
    blank_lines: int = 0
    format: str = ""  # what the file was written in ("openai-chat" when it was converted)
    tokens: TokenStats = field(default_factory=TokenStats)  # estimated, over records that parsed

    def to_dict(self) -> dict[str, Any]:
        data = {
            k: getattr(self, k)
            for k in ("split", "name", "bytes", "lines", "records", "valid_records", "blank_lines", "format")
        }
        data["tokens"] = self.tokens.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FileSummary":
        fields = {
            k: data[k] for k in ("split", "name", "bytes", "lines", "records", "valid_records", "blank_lines", "format")
        }
        return cls(**fields, tokens=TokenStats.from_dict(data["tokens"]))


@dataclass
class ValidationReport:
    model_id: str
    model_name: str
    customization_type: str
    dataset_format: str
    source_format: str  # what the file was written in: the dataset format, or "openai-chat" when converted
    files: list[FileSummary]
    errors: list[IssueGroup]
    warnings: list[IssueGroup]
    limits: dict[str, Any]  # the limits applied, so a reader sees what "too many" meant
    notes: list[str]  # checks that could not be made (unpublished limits, ...) and estimate assumptions
    max_examples_per_kind: int

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def error_count(self) -> int:
        return sum(g.count for g in self.errors)

    @property
    def warning_count(self) -> int:
        return sum(g.count for g in self.warnings)

    @property
    def training(self) -> FileSummary:
        return next(f for f in self.files if f.split == "training")

    @property
    def validation(self) -> FileSummary | None:
        return next((f for f in self.files if f.split == "validation"), None)

    def counts(self) -> dict[str, int]:
        """Issue count per kind, errors and warnings together."""
        return {g.kind: g.count for g in (*self.errors, *self.warnings)}

    def issues(self, kind: str | None = None) -> list[Issue]:
        """The kept examples, optionally of one kind, in file order."""
        found = [i for g in (*self.errors, *self.warnings) if kind is None or g.kind == kind for i in g.examples]
        return sorted(found, key=lambda i: (i.split != "training", i.line or 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "model_id": self.model_id,
            "model_name": self.model_name,
            "customization_type": self.customization_type,
            "dataset_format": self.dataset_format,
            "source_format": self.source_format,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "counts": self.counts(),
            "files": [f.to_dict() for f in self.files],
            "errors": [g.to_dict() for g in self.errors],
            "warnings": [g.to_dict() for g in self.warnings],
            "limits": self.limits,
            "notes": self.notes,
            "max_examples_per_kind": self.max_examples_per_kind,
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ValidationReport":
        return cls(
            model_id=data["model_id"],
            model_name=data["model_name"],
            customization_type=data["customization_type"],
            dataset_format=data["dataset_format"],
            source_format=data["source_format"],
            files=[FileSummary.from_dict(f) for f in data["files"]],
            errors=[IssueGroup.from_dict(g) for g in data["errors"]],
            warnings=[IssueGroup.from_dict(g) for g in data["warnings"]],
            limits=dict(data["limits"]),
            notes=list(data["notes"]),
            max_examples_per_kind=int(data["max_examples_per_kind"]),
        )


def describe_kinds(kinds: Iterable[IssueKind] = KINDS.values()) -> str:
    """A Markdown table of every kind, for docs/validation.md."""
    rows = ["| kind | severity | meaning |", "|---|---|---|"]
    rows += [f"| `{k.id}` | {k.severity.value} | {k.summary} |" for k in kinds]
    return "\n".join(rows)
