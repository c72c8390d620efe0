"""Evaluation jobs with the caller's own inference responses (LLM as a judge over ``precomputedInferenceSource``):
what Bedrock refuses up front, the service role it assumes and works as, and the results it writes.

The facts are lambdas.domain.catalogue.evaluation_jobs'. The scores are deterministic stand-ins for a judge: from
the token overlap of each response with its reference (lambdas.domain.metrics), so a response closer to the
reference scores higher, and a rerun scores the same.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lambdas.domain import metrics as text_metrics
from lambdas.domain.catalogue import evaluation_jobs as facts

from . import s3
from .store import Evaluation, validation

# Bedrock's responsible-AI judge metrics, accepted alongside the quality ones (the service model's metricNames).
_RESPONSIBLE_AI = ("Builtin.Harmfulness", "Builtin.Stereotyping", "Builtin.Refusal")
_JUDGE_METRICS = frozenset(facts.BUILTIN_JUDGE_METRICS.values()) | frozenset(_RESPONSIBLE_AI)


def _automated(params: dict[str, Any]) -> dict[str, Any]:
    return dict((params.get("evaluationConfig") or {}).get("automated") or {})


def _sources(params: dict[str, Any]) -> list[str]:
    return [
        str(model["precomputedInferenceSource"].get("inferenceSourceIdentifier", ""))
        for model in (params.get("inferenceConfig") or {}).get("models") or []
        if "precomputedInferenceSource" in model
    ]


def is_judge_job(params: dict[str, Any]) -> bool:
    return bool(_sources(params))


def _evaluator(params: dict[str, Any]) -> str | None:
    models = (_automated(params).get("evaluatorModelConfig") or {}).get("bedrockEvaluatorModels") or []
    return str(models[0]["modelIdentifier"]) if models else None


def _base_model(identifier: str) -> str:
    """The foundation model an evaluator identifier names: its ARN's last part, without a geographic prefix."""
    model = identifier.rsplit("/", 1)[-1]
    first, _, rest = model.partition(".")
    return rest if rest and "." in rest and len(first) <= 4 else model


def refuse_what_bedrock_refuses(params: dict[str, Any]) -> None:
    """The checks beyond the service model that Bedrock makes when an automated job is created."""
    automated = _automated(params)
    if not automated:
        return
    models = (params.get("inferenceConfig") or {}).get("models") or []
    if len(models) > facts.MODELS_PER_AUTOMATED_JOB:
        raise validation(
            f"Automated model evaluation jobs support a single model; the request names {len(models)} ({facts.MODELS_SOURCE})."
        )
    names = [name for config in automated.get("datasetMetricConfigs") or [] for name in config.get("metricNames") or []]
    evaluator = _evaluator(params)
    judged = [name for name in names if name in _JUDGE_METRICS]
    if judged and evaluator is None:
        raise validation(f"Metrics {', '.join(judged)} need an evaluator model (evaluatorModelConfig).")
    if evaluator is not None and _base_model(evaluator) not in facts.EVALUATOR_MODELS:
        raise validation(
            f"The evaluator model {evaluator} is not supported for model evaluation jobs ({facts.EVALUATORS_SOURCE})."
        )
    if is_judge_job(params):
        unknown = [name for name in names if name not in _JUDGE_METRICS]
        if unknown or evaluator is None:
            raise validation(
                "Jobs with your own inference responses are judged by an evaluator model on its metrics; "
                + (f"not these: {', '.join(unknown)}." if unknown else "the request names no evaluator model.")
            )


def may_assume(backend: Any, params: dict[str, Any], job_arn: str) -> str | None:
    """Bedrock assumes a judge job's role at once, bound to the job's ARN (aws:SourceArn)."""
    from ..authz import services
    from ..authz.world import World

    if not is_judge_job(params):
        return None
    return services.bedrock_may_assume(params["roleArn"], job_arn, World(backend.account_id, backend.region_name))


def _dataset(params: dict[str, Any]) -> tuple[str, str]:
    config = _automated(params)["datasetMetricConfigs"][0]
    return str(config["dataset"]["name"]), str((config["dataset"].get("datasetLocation") or {}).get("s3Uri", ""))


def _output_location(params: dict[str, Any], ev: Evaluation) -> tuple[str, str] | None:
    where = s3.location(params["outputDataConfig"]["s3Uri"])
    if where is None:
        return None
    bucket, prefix = where
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    name, _ = _dataset(params)
    digest = hashlib.sha256(ev.arn.encode()).hexdigest()
    job_uuid, file_uuid = digest[:32], digest[32:64]
    return bucket, facts.results_key(prefix, ev.name, job_uuid, _sources(params)[0], name, file_uuid)


def _evaluator_resources(backend: Any, evaluator: str) -> list[str]:
    if evaluator.startswith("arn:"):
        return [evaluator]
    if _base_model(evaluator) != evaluator:
        return [f"arn:aws:bedrock:{backend.region_name}:{backend.account_id}:inference-profile/{evaluator}"]
    return [f"arn:aws:bedrock:{backend.region_name}::foundation-model/{evaluator}"]


def _record_problem(number: int, line: str, source: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None, f"line {number} of the dataset is not valid JSON."
    if not isinstance(record, dict) or not isinstance(record.get("prompt"), str):
        return None, f"line {number} of the dataset has no prompt."
    responses = record.get("modelResponses")
    if not isinstance(responses, list) or len(responses) != facts.RESPONSES_PER_RECORD:
        return None, f"line {number} of the dataset must hold exactly one model response in modelResponses."
    if responses[0].get("modelIdentifier") != source or not isinstance(responses[0].get("response"), str):
        return None, (
            f"line {number} of the dataset: the model response's modelIdentifier must be the job's "
            f"inferenceSourceIdentifier {source!r}, with a response."
        )
    return record, None


def _scores(record: dict[str, Any], metric_names: list[str]) -> list[dict[str, Any]]:
    response = record["modelResponses"][0]["response"]
    reference = record.get("referenceResponse") or ""
    predicted, expected = text_metrics.tokenize(response), text_metrics.tokenize(reference)
    overlap = text_metrics.token_f1(response, reference)
    common = len(set(predicted) & set(expected))
    by_metric = {
        "Builtin.Correctness": overlap,
        "Builtin.Completeness": common / len(set(expected)) if expected else None,
        "Builtin.Faithfulness": common / len(set(predicted)) if predicted else 0.0,
    }
    scores = []
    for name in metric_names:
        if name in ("Builtin.Correctness", "Builtin.Completeness") and not expected:
            value: float | None = None  # nothing to hold the response against: not scored
        else:
            value = by_metric.get(name, text_metrics.rouge_l(response, reference) if expected else 0.5)
        scores.append(
            {
                "metricName": name,
                "result": None if value is None else round(value, 4),
                "evaluatorDetails": [{"explanation": "emulated judge: token overlap with the reference"}],
            }
        )
    return scores


def finish(backend: Any, ev: Evaluation) -> list[str]:
    """Run a judge job that is due: its failure messages, or [] once its results are written."""
    from ..authz import services
    from ..authz.world import World

    params = ev.params
    if not is_judge_job(params):
        return []
    _, uri = _dataset(params)
    bucket, keys = s3.objects_at(backend.account_id, uri)
    output = _output_location(params, ev)
    if bucket is None or not keys or output is None:
        return [f"The prompt dataset {uri} was not found."]
    evaluator = _evaluator(params) or ""
    denied = services.bedrock_evaluation_access(
        params["roleArn"],
        World(backend.account_id, backend.region_name),
        data_objects=[(bucket.name, key) for key in keys],
        output_object=output,
        evaluator_resources=_evaluator_resources(backend, evaluator),
    )
    if denied:
        return [denied]
    lines = s3.read_lines(backend.account_id, uri) or []
    if len(lines) > facts.MAX_PROMPTS_PER_JOB:
        return [
            f"The prompt dataset holds {len(lines)} prompts; at most {facts.MAX_PROMPTS_PER_JOB} ({facts.DATASET_SOURCE})."
        ]
    source = _sources(params)[0]
    metric_names = list(_automated(params)["datasetMetricConfigs"][0]["metricNames"])
    results = []
    for number, line in enumerate(lines, start=1):
        record, problem = _record_problem(number, line, source)
        if problem or record is None:
            return [problem or f"line {number} of the dataset is not valid."]
        results.append({"automatedEvaluationResult": {"scores": _scores(record, metric_names)}, "inputRecord": record})
    # Bedrock does not promise the order of its results: written reversed, so readers must match by inputRecord.
    s3.write(backend.account_id, output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in reversed(results)))
    return []
