"""Reinforcement fine-tuning in the catalogue (models, Regions, typed hyperparameters, data limits) and its
dataset format: AWS's documented example passes; each rule has a failing record located by line, field and rule id."""

import hashlib
import json

import botocore.loaders
import botocore.session
import botocore.validate
import pytest
from pydantic import ValidationError

from lambdas.domain.catalogue import CatalogueError, CustomizationType, DatasetFormat, get_model
from lambdas.domain.profiles import GraderSettings, TuningProfile
from lambdas.domain.validation import validate_dataset
from tests.unit.domain.helpers import NOVA_2_LITE, NOVA_MICRO, jsonl

RFT = CustomizationType.REINFORCEMENT_FINE_TUNING

# rft-prepare-data's "General question-answering" example (its missing quote before role restored).
DOC_RFT = {
    "messages": [
        {"role": "system", "content": "You are a helpful assistant"},
        {"role": "user", "content": "What is machine learning?"},
    ],
    "reference_answer": "Machine learning is a subset of artificial intelligence that enables computers to learn and make decisions from data without being explicitly programmed.",
}


def rft_prompts(n):
    return [
        {
            "messages": [
                {"role": "system", "content": "Trả lời bằng một số."},
                {"role": "user", "content": f"Lan có {i} quả táo, được cho thêm 3 quả. Lan có bao nhiêu quả?"},
            ],
            "reference_answer": str(i + 3),
            "task_id": i,  # a field for the grader: allowed
        }
        for i in range(n)
    ]


def _service_model_rft_hyperparameters():
    shapes = botocore.loaders.Loader().load_service_model("bedrock", "service-2")["shapes"]
    members = shapes["RFTHyperParameters"]["members"]
    return {name: shapes[member["shape"]] for name, member in members.items()}, shapes


# --- catalogue --------------------------------------------------------------------------------------
def test_the_service_model_has_the_type_and_the_grader_the_catalogue_relies_on():
    _, shapes = _service_model_rft_hyperparameters()
    assert RFT.value in shapes["CustomizationType"]["enum"]
    rft_config = shapes["RFTConfig"]["members"]
    assert set(rft_config) == {"graderConfig", "hyperParameters"}
    assert shapes["LambdaGraderConfig"]["required"] == ["lambdaArn"]


def test_rft_hyperparameter_ranges_are_the_service_models():
    service, _ = _service_model_rft_hyperparameters()
    specs = get_model(NOVA_2_LITE).hyperparameters_for(RFT)
    assert set(specs) == set(service)
    for name, shape in service.items():
        spec = specs[name]
        if shape["type"] == "string":  # reasoningEffort
            assert spec.kind is str and list(spec.choices) == shape["enum"], name
            continue
        assert spec.kind is (int if shape["type"] == "integer" else float), name
        assert (spec.minimum, spec.maximum) == (shape.get("min", 1), shape.get("max", float("inf"))), name
        assert spec.default is None, name  # AWS publishes no default


def test_nova_2_lite_is_reinforcement_fine_tuned_in_us_east_1_from_100_to_20000_prompts():
    spec = get_model(NOVA_2_LITE)
    assert spec.supports(RFT) and spec.dataset_format(RFT) is DatasetFormat.RFT_PROMPTS
    assert spec.customization_regions[RFT].regions == {"us-east-1"}
    limits = spec.dataset_limits(RFT)
    assert (limits.records.training.minimum, limits.records.training.maximum) == (100, 20_000)
    assert not get_model(NOVA_MICRO).supports(RFT)


def test_rft_hyperparameters_are_checked_per_type_and_never_sent_as_the_string_map():
    spec = get_model(NOVA_2_LITE)
    assert (
        spec.hyperparameter_problems({"batchSize": 16, "learningRate": 1e-5, "trainingSamplePerPrompt": 4}, RFT) == []
    )
    assert spec.hyperparameter_problems({"batchSize": 8}, RFT) == [("batchSize", "must be between 16 and 512, got 8")]
    assert spec.hyperparameter_problems({"maxPromptLength": 0}, RFT)[0][0] == "maxPromptLength"
    # fine-tuning Nova 2 Lite still takes none: RFT's table does not leak into the other types
    assert spec.hyperparameter_problems({"epochCount": 2})[0][0] == "epochCount"
    with pytest.raises(CatalogueError, match="REINFORCEMENT_FINE_TUNING"):
        spec.bedrock_hyperparameters({"epochCount": 2}, RFT)


def test_a_profile_checks_rft_hyperparameters_against_the_rft_table():
    base = {
        "name": "vi-math",
        "base_model": NOVA_2_LITE,
        "customization_type": RFT.value,
        "evaluation": {"dataset_key": "evaluation/vi-math.jsonl", "max_examples": 50},
        "gate": {"minimums": {"exact_match": 0.5}},
        "budget_cap_usd": 100,
        "grader": {"builtin": "exact_match"},
    }
    assert TuningProfile.model_validate({**base, "hyperparameters": {"epochCount": 3}}).problems() == []
    problems = TuningProfile.model_validate({**base, "hyperparameters": {"epochCount": 51}}).problems()
    assert ("hyperparameters.epochCount", "must be between 1 and 50, got 51") in problems


def test_typed_rft_hyperparameters_make_a_create_job_request_the_service_model_accepts():
    hyperparameters = get_model(NOVA_2_LITE).rft_hyperparameters(
        {"epochCount": "3", "batchSize": 64.0, "learningRate": "0.00001", "reasoningEffort": "low", "evalInterval": 10}
    )
    assert hyperparameters == {
        "epochCount": 3,
        "batchSize": 64,
        "learningRate": 1e-5,
        "reasoningEffort": "low",
        "evalInterval": 10,
    }
    request = {
        "jobName": "tf-vi-math-1",
        "customModelName": "tf-vi-math-1",
        "roleArn": "arn:aws:iam::123456789012:role/tuneforge-customization",
        "baseModelIdentifier": NOVA_2_LITE,
        "customizationType": RFT.value,
        "trainingDataConfig": {"s3Uri": "s3://bucket/train.jsonl"},
        "outputDataConfig": {"s3Uri": "s3://bucket/out/"},
        "customizationConfig": {
            "rftConfig": {
                "graderConfig": {
                    "lambdaGrader": {"lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:tuneforge-grader"}
                },
                "hyperParameters": hyperparameters,
            }
        },
    }
    model = botocore.session.get_session().get_service_model("bedrock")
    shape = model.operation_model("CreateModelCustomizationJob").input_shape
    report = botocore.validate.ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    with pytest.raises(CatalogueError, match="reasoningEffort must be one of low, medium, high"):
        get_model(NOVA_2_LITE).rft_hyperparameters({"reasoningEffort": "extreme"})
    with pytest.raises(CatalogueError, match="does not support"):
        get_model(NOVA_MICRO).rft_hyperparameters({})


# --- format -----------------------------------------------------------------------------------------
def test_the_documented_example_and_grader_fields_are_valid():
    report = validate_dataset(jsonl(DOC_RFT, *rft_prompts(120)), NOVA_2_LITE, RFT)
    assert report.valid, [str(i) for i in report.issues()]


def test_too_few_prompts_are_refused():
    report = validate_dataset(jsonl(*rft_prompts(99)), NOVA_2_LITE, RFT)
    assert not report.valid and "100" in " ".join(str(i) for i in report.issues())


def _with_messages(messages):
    return {"messages": messages, "reference_answer": "4"}


RULES = [
    ({"reference_answer": "4"}, "messages", "missing-field"),
    ({"messages": "What is 2+2?", "reference_answer": "4"}, "messages", "wrong-type"),
    (_with_messages([]), "messages", "empty-text"),
    (_with_messages(["What is 2+2?"]), "messages[0]", "wrong-type"),
    (_with_messages([{"content": "What is 2+2?"}]), "messages[0].role", "missing-field"),
    (_with_messages([{"role": "tool", "content": "4"}]), "messages[0].role", "invalid-role"),
    (_with_messages([{"role": "system", "content": "Answer with a number."}]), "messages", "no-user-turn"),
    (_with_messages([{"role": "user", "content": " "}]), "messages[0].content", "empty-text"),
    (_with_messages([{"role": "user", "content": 4}]), "messages[0].content", "wrong-type"),
    (_with_messages([{"role": "user"}]), "messages[0].content", "missing-field"),
    (_with_messages([{"role": "user", "content": []}]), "messages[0].content", "empty-text"),
    (
        _with_messages([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]),
        "messages[0].content[0]",
        "invalid-content-block",
    ),
    (
        _with_messages([{"role": "user", "content": [{"type": "text", "text": ""}]}]),
        "messages[0].content[0].text",
        "empty-text",
    ),
    ({"messages": [{"role": "user", "content": "What is 2+2?"}]}, "reference_answer", "missing-field"),
    (
        {"messages": [{"role": "user", "content": "What is 2+2?"}], "reference_answer": None},
        "reference_answer",
        "missing-field",
    ),
    (
        {"messages": [{"role": "user", "content": "What is 2+2?"}], "reference_answer": "  "},
        "reference_answer",
        "empty-text",
    ),
    (
        {"messages": [{"role": "user", "content": "What is 2+2?"}], "reference_answer": {}},
        "reference_answer",
        "empty-text",
    ),
]


@pytest.mark.parametrize(("bad", "field", "kind"), RULES, ids=[f"{r[2]}-{i}" for i, r in enumerate(RULES)])
def test_rule_reports_line_field_and_kind(bad, field, kind):
    records = rft_prompts(120)
    records.insert(2, bad)
    report = validate_dataset(jsonl(*records), NOVA_2_LITE, RFT)
    found = report.issues(kind)
    assert found, f"expected {kind}; got {[str(i) for i in report.issues()]}"
    assert (found[0].line, found[0].field) == (3, field)
    assert report.counts()[kind] == 1 and found[0].message
    assert {i.line for i in report.issues()} == {3}


def test_a_structured_reference_answer_and_text_parts_are_accepted():
    record = {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Extract the total as JSON."}]}],
        "reference_answer": {"total": 42},
    }
    report = validate_dataset(jsonl(record, *rft_prompts(120)), NOVA_2_LITE, RFT)
    assert report.valid, [str(i) for i in report.issues()]


def test_an_rft_profile_needs_a_grader_and_only_rft_takes_one():
    rft = {
        "name": "vi-math",
        "base_model": NOVA_2_LITE,
        "customization_type": RFT.value,
        "evaluation": {"dataset_key": "evaluation/vi-math.jsonl"},
        "gate": {"minimums": {"exact_match": 0.5}},
        "budget_cap_usd": 100,
    }
    assert ("grader", "reinforcement fine-tuning needs a grader: a builtin one or a module") in (
        TuningProfile.model_validate(rft).problems()
    )
    tuned = {**rft, "customization_type": "FINE_TUNING", "grader": {"builtin": "token_f1"}}
    assert [field for field, _ in TuningProfile.model_validate(tuned).problems()] == ["grader"]


@pytest.mark.parametrize(
    "grader",
    [{}, {"builtin": "token_f1", "module": "graders/mine.py"}, {"module": "../mine.py"}, {"module": "graders/x.sh"}],
)
def test_a_grader_is_one_builtin_or_one_module_under_graders(grader):
    with pytest.raises(ValidationError):
        GraderSettings.model_validate(grader)


def test_a_profile_without_a_grader_keeps_the_fingerprint_it_had_before_graders_existed():
    profile = TuningProfile.model_validate(
        {
            "name": "plain",
            "base_model": NOVA_2_LITE,
            "customization_type": "FINE_TUNING",
            "evaluation": {"dataset_key": "evaluation/plain.jsonl"},
            "gate": {"minimums": {"exact_match": 0.5}},
            "budget_cap_usd": 100,
        }
    )
    settings = profile.model_dump(mode="json")
    del settings["grader"], settings["evaluation"]["managed_judge"], settings["invocation_logs"]
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert profile.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()[:32]
