"""Nothing crashes the validator: any bytes give a report that locates every problem."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdas.domain.catalogue import MODELS
from lambdas.domain.report import ValidationReport
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import HAIKU, NOVA_LITE, TITAN_EXPRESS, conv, haiku, jsonl, pcs, prompts

PAIRS = sorted((model_id, ctype) for model_id, spec in MODELS.items() for ctype in spec.customization_types)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(report: ValidationReport, data: bytes) -> None:
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if "binary-file" in report.counts():
        # refused by its first line (NUL bytes, a compressed file's magic number): the rest is not read
        assert report.counts() == {"binary-file": 1} and report.training.lines == 1
    else:
        assert report.training.lines == lines
    assert "validator-error" not in report.counts(), report.issues("validator-error")
    for issue in report.issues():
        assert issue.line is None or 1 <= issue.line <= lines
        assert issue.message
    assert ValidationReport.from_dict(json.loads(report.to_json())).to_dict() == report.to_dict()


@SETTINGS
@given(data=st.binary(max_size=400), pair=st.sampled_from(PAIRS))
def test_random_bytes(data, pair):
    _check(validate_dataset(data, pair[0], pair[1], bucket="b"), data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "text",
                    "role",
                    "content",
                    "messages",
                    "image",
                    "video",
                    "prompt",
                    "system",
                    "format",
                    "source",
                    "s3Location",
                    "uri",
                    "type",
                ]
            ),
            children,
            max_size=3,
        )
    ),
    max_leaves=10,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, base):
    record = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(record) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = record
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "text"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "text":
            parent[path[-1]] = draw(
                st.sampled_from(["", " ", "User:", "[EOS]", "\u0000", "s3://other/x.png", "assistant", "system"])
            )
        else:
            parent[path[-1]] = draw(json_values)
    return record


IMAGE = {"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b/x.png"}}}}
BASES = [
    (TITAN_EXPRESS, "FINE_TUNING", pcs(1)[0]),
    (HAIKU, "FINE_TUNING", haiku(1)[0]),
    (
        NOVA_LITE,
        "FINE_TUNING",
        {**conv(), "messages": [{"role": "user", "content": [{"text": "q"}, IMAGE]}, conv()["messages"][1]]},
    ),
    (NOVA_LITE, "DISTILLATION", prompts(1)[0]),
    (
        HAIKU,
        "FINE_TUNING",
        {
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": [{"type": "text", "text": "q"}]},
                {"role": "assistant", "content": "a"},
            ]
        },
    ),
]


@SETTINGS
@given(data=st.data(), base=st.sampled_from(BASES))
def test_mutated_valid_records(data, base):
    model, ctype, record = base
    records = [data.draw(mutated(record)) for _ in range(data.draw(st.integers(1, 4)))]
    raw = jsonl(*records)
    _check(validate_dataset(raw, model, ctype, bucket="b"), raw)


@SETTINGS
@given(data=st.data())
def test_byte_level_mutations_of_a_valid_file(data):
    raw = bytearray(jsonl(*pcs(3)))
    for _ in range(data.draw(st.integers(1, 5))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    _check(validate_dataset(bytes(raw), TITAN_EXPRESS, "FINE_TUNING"), bytes(raw))


def test_deeply_nested_json_is_an_issue_not_a_crash():
    raw = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    report = validate_dataset(raw, TITAN_EXPRESS, "FINE_TUNING")
    assert report.counts() == {"invalid-json": 1}
