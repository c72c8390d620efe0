"""What Amazon Bedrock's managed evaluation jobs (CreateEvaluationJob, LLM as a judge, your own inference
responses) accept and produce: the facts the managed judge (``lambdas.domain.managed_judge``), its service role
(``stacks/judge_role.py``) and the emulator (``local/bedrock/evaluations.py``) rely on, each with where it was read.

Read 2026-12-07 unless a line says otherwise. "The service model" is botocore 1.44.18's
``bedrock/2023-04-20/service-2.json`` (what ``lambdas.domain.bedrock_requests`` checks every request against).
"""

from __future__ import annotations

from typing import Final

READ: Final = "2026-12-07"

# --- what a job is ---------------------------------------------------------------------------------------
# "For model evaluation jobs, automated jobs support a single model or inference profile, and jobs that use
# human workers support two models or inference profiles." (CreateEvaluationJob's inferenceConfig,
# https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/bedrock/aws.sdk.kotlin.services.bedrock.model/-create-evaluation-job-request/inference-config.html;
# the service model's EvaluationInferenceConfig: "For automated model evaluation jobs, only a single model is
# supported"). The list shape admits two (EvaluationModelConfigs, 1-2 items) for human jobs only, so the
# candidate and the baseline are judged by two jobs.
MODELS_PER_AUTOMATED_JOB: Final = 1
MODELS_SOURCE: Final = "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_EvaluationInferenceConfig.html"

# "There can be up to 1000 prompts in your dataset per evaluation job."
# (https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-prompt-datasets-judge.html)
MAX_PROMPTS_PER_JOB: Final = 1000
DATASET_SOURCE: Final = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-prompt-datasets-judge.html"
)

# Dataset records with your own inference responses (DATASET_SOURCE, section "Prepare a dataset for an
# evaluation job using your own inference response data"): ``prompt`` (required), ``referenceResponse``
# (optional; used by Builtin.Correctness and Builtin.Completeness when given), ``category`` (optional) and
# ``modelResponses``: a list holding one ``{"response": ..., "modelIdentifier": ...}`` whose modelIdentifier is
# the job's ``precomputedInferenceSource.inferenceSourceIdentifier``. Custom datasets are JSON Lines in S3
# with the ``.jsonl`` extension. (That one response per record and one identifier per job are required is
# written in aws-samples-derived guides, e.g. github.com/antstackio/skills aws-bedrock-evals/SKILL.md, not in
# the excerpt of the user guide read here; the emulator holds datasets to it.)
RESPONSES_PER_RECORD: Final = 1

# The task type. The service model's EvaluationTaskType enum: Summarization | Classification |
# QuestionAndAnswer | Generation | Custom (also the API reference, API_EvaluationDatasetMetricConfig.html).
# Third-party guides write "General" for judge jobs, a value the model does not list; the documented value
# that fits evaluation sets of questions and reference answers is used.
TASK_TYPE: Final = "QuestionAndAnswer"

# --- metrics ------------------------------------------------------------------------------------------------
# The service model's EvaluationDatasetMetricConfig.metricNames (and API_EvaluationDatasetMetricConfig.html):
# "In model evaluation jobs that use a LLM as judge you can specify Builtin.Correctness, Builtin.Completeness,
# Builtin.Faithfulness, Builtin.Helpfulness, Builtin.Coherence, Builtin.Relevance, Builtin.FollowingInstructions,
# Builtin.ProfessionalStyleAndTone", and the responsible-AI Builtin.Harmfulness, Builtin.Stereotyping,
# Builtin.Refusal. Scores are normalized to [0, 1] in the output (MODEL_EVALUATION_METRICS_SOURCE). The
# responsible-AI three are left out: for them a higher score is not a better answer, and the gate only asks
# "at least" and "better than the baseline by".
METRICS_SOURCE: Final = "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_EvaluationDatasetMetricConfig.html"
MODEL_EVALUATION_METRICS_SOURCE: Final = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-metrics.html"
)
BUILTIN_JUDGE_METRICS: Final[dict[str, str]] = {
    "correctness": "Builtin.Correctness",
    "completeness": "Builtin.Completeness",
    "faithfulness": "Builtin.Faithfulness",
    "helpfulness": "Builtin.Helpfulness",
    "coherence": "Builtin.Coherence",
    "relevance": "Builtin.Relevance",
    "following_instructions": "Builtin.FollowingInstructions",
    "professional_style_and_tone": "Builtin.ProfessionalStyleAndTone",
}
# The gate's name for each (``judge_correctness``…): "judge" alone is the project's own Converse judge.
GATE_METRIC_PREFIX: Final = "judge_"
GATE_METRICS: Final[tuple[str, ...]] = tuple(f"{GATE_METRIC_PREFIX}{name}" for name in BUILTIN_JUDGE_METRICS)


def gate_metric(metric: str) -> str:
    return f"{GATE_METRIC_PREFIX}{metric}"


# --- evaluator models ------------------------------------------------------------------------------------
# The evaluator models AWS documents built-in judge prompts for
# (https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-type-judge-prompt.html: Amazon Nova Pro,
# Nova 2 Lite, Nova Micro, Nova Premier, Anthropic Claude 3.5 Sonnet, 3.5 Sonnet v2, 3.7 Sonnet, Haiku 4.5,
# Opus 4.5, Sonnet 4.6, Opus 4.6, OpenAI GPT-5.4, … ; the list read was cut short). Kept here: those of them whose
# model id and on-demand route (own id or inference profile) the catalogue records, so the job's
# evaluatorModelConfig and the service role's bedrock:InvokeModel name the same thing. "Both models must be
# available in the same AWS Region" (https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-type-judge.html).
EVALUATORS_SOURCE: Final = (
    "https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-type-judge-prompt.html"
)
EVALUATOR_MODELS: Final[dict[str, str]] = {
    "amazon.nova-pro-v1:0": "Amazon Nova Pro",
    "amazon.nova-micro-v1:0": "Amazon Nova Micro",
    "amazon.nova-premier-v1:0": "Amazon Nova Premier",
    "anthropic.claude-3-5-sonnet-20240620-v1:0": "Anthropic Claude 3.5 Sonnet",
    "anthropic.claude-3-5-sonnet-20241022-v2:0": "Anthropic Claude 3.5 Sonnet v2",
}

# --- results -------------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-report-s3.html: for automatic jobs the
# results are JSON Lines at
#   s3://<output path>/<job name>/<job uuid>/models/<model id>/taskTypes/<task type>/datasets/<dataset>/<file uuid>_output.jsonl
# written when the job is Completed. Each line is one prompt: ``automatedEvaluationResult.scores`` (one
# ``{"metricName", "result", ...}`` per metric; ``result`` null when the judge could not score it) and
# ``inputRecord``, a copy of the dataset record.
RESULTS_SOURCE: Final = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-report-s3.html"
RESULTS_SUFFIX: Final = "_output.jsonl"


def results_prefix(output_s3_prefix: str, job_name: str) -> str:
    """The key prefix under which a job writes its results (``output_s3_prefix`` is the key part of its
    outputDataConfig.s3Uri, ending in '/')."""
    return f"{output_s3_prefix}{job_name}/"


def results_key(output_s3_prefix: str, job_name: str, job_uuid: str, model: str, dataset: str, file_uuid: str) -> str:
    """Where a job writes the results of one model on one dataset (what the emulator writes)."""
    return (
        f"{results_prefix(output_s3_prefix, job_name)}{job_uuid}/models/{model}/taskTypes/{TASK_TYPE}"
        f"/datasets/{dataset}/{file_uuid}{RESULTS_SUFFIX}"
    )


# --- status and events ---------------------------------------------------------------------------------------
# The service model's EvaluationJobStatus; GetEvaluationJob's failureMessages (0-20 strings) say why a job failed.
RUNNING_STATUSES: Final = frozenset({"InProgress", "Stopping"})
FAILED_STATUSES: Final = frozenset({"Failed", "Stopped", "Deleting"})
COMPLETED_STATUS: Final = "Completed"
# Bedrock sends no EventBridge event for evaluation jobs: the events it sends are "Model Customization Job State
# Change", "Batch Inference Job State Change" and the Data Automation ones
# (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-bedrock.html), so a job is polled.
EVENTS_SOURCE: Final = "https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-bedrock.html"

# --- the service role ---------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/bedrock/latest/userguide/judge-service-roles.html: the trust policy names
# bedrock.amazonaws.com; the role invokes the evaluator model (statement BedrockModelInvoke: bedrock:InvokeModel,
# bedrock:CreateModelInvocationJob, bedrock:StopModelInvocationJob), reads the prompt dataset and
# writes the output (S3; the automatic-job page lists s3:GetObject and s3:ListBucket for datasets, s3:GetObject,
# s3:ListBucket, s3:PutObject, s3:GetBucketLocation and s3:AbortMultipartUpload for the output:
# https://docs.aws.amazon.com/bedrock/latest/userguide/automatic-service-roles.html) and, for data encrypted with a
# customer managed key, uses the key. The job ARN names the job for aws:SourceArn.
SERVICE_ROLE_SOURCE: Final = "https://docs.aws.amazon.com/bedrock/latest/userguide/judge-service-roles.html"
S3_PERMISSIONS_SOURCE: Final = "https://docs.aws.amazon.com/bedrock/latest/userguide/automatic-service-roles.html"
# CreateEvaluationJob takes no vpcConfig (the service model), so the job reaches S3 from outside the stage's VPC.
