"""Names every layer shares: S3 prefixes, table indexes, parameter paths, environment variables, stack names.

The stacks create resources under these names, the handlers and the CLI find them by these names and the
emulator deploys what the stacks wrote, so each name is written once, here. This module imports nothing:
the Lambda asset, the CDK app and the CLI all load it.
"""

from __future__ import annotations

from typing import Final

# Data bucket: what data owners upload (incoming/), evaluation sets (evaluation/) and each valid run's frozen
# copy of the versions it validated (snapshots/<run id>/), which only Validate writes and the Bedrock role reads.
INCOMING_PREFIX: Final = "incoming/"
EVALUATION_PREFIX: Final = "evaluation/"
SNAPSHOT_PREFIX: Final = "snapshots/"
# Artifacts bucket: job outputs (jobs/) and every run's reports (reports/<profile>/<run id>/).
JOB_OUTPUT_PREFIX: Final = "jobs/"
REPORTS_PREFIX: Final = "reports/"
# Validate sets a run's held-out split aside under its report folder with this name; Evaluate reads it back.
HELD_OUT_FILE: Final = "holdout.jsonl"
# Evaluation in batches writes each batch's input and results, and the manifest the Map state reads, here.
EVALUATION_BATCHES_FOLDER: Final = "batches/"
BATCH_MANIFEST_FILE: Final = "manifest.json"
BATCH_INPUT_SUFFIX: Final = ".input.jsonl"
BATCH_RESULTS_SUFFIX: Final = ".results.jsonl"

# Bedrock's managed judge (evaluation jobs with the run's own responses): the datasets the start step writes and
# the evaluation jobs' service role reads (judge-datasets/<profile>/<run id>/), the jobs' output it writes
# (judge-output/<profile>/<run id>/), and the per-example scores the check step leaves in the run's report folder.
JUDGE_DATASETS_PREFIX: Final = "judge-datasets/"
JUDGE_OUTPUT_PREFIX: Final = "judge-output/"
JUDGE_SCORES_FILE: Final = "judge-scores.json"

# Run registry (DynamoDB) global secondary indexes.
RUNS_BY_PROFILE_INDEX: Final = "by-profile"
RUNS_BY_JOB_INDEX: Final = "by-job"
RUNS_BY_STATUS_INDEX: Final = "by-status"
# Every run, newest first: one constant partition (RUNS_LISTED) sorted by started_at (stacks/storage.py).
RUNS_BY_START_INDEX: Final = "by-start"
# The janitor's sparse index of runs that may still hold something billable.
SWEEP_INDEX: Final = "by-sweep"

STACK_PREFIX: Final = "Tuneforge"


def stack_prefix(stage: str) -> str:
    return f"{STACK_PREFIX}-{stage}"


def foundation_stack_name(stage: str) -> str:
    return f"{stack_prefix(stage)}-Foundation"


def pipeline_stack_name(stage: str) -> str:
    return f"{stack_prefix(stage)}-Pipeline"


def profile_parameter_prefix(stage: str) -> str:
    """SSM path of a stage's tuning profiles, one parameter per profile (written by deploy, read by StartRun)."""
    return f"/tuneforge/{stage}/profiles"


def profile_parameter(stage: str, profile: str) -> str:
    return f"{profile_parameter_prefix(stage)}/{profile}"


def champion_parameter_prefix(stage: str) -> str:
    """SSM path where applications read each profile's champion (written by FinalizePromotion)."""
    return f"/tuneforge/{stage}/champions"


def state_machine_name(stage: str) -> str:
    return f"tuneforge-{stage}-retraining"


class Env:
    """Environment variables the stacks set on the functions and the handlers read."""

    RUNS_TABLE: Final = "RUNS_TABLE"
    CHAMPIONS_TABLE: Final = "CHAMPIONS_TABLE"
    DATA_BUCKET: Final = "DATA_BUCKET"
    ARTIFACTS_BUCKET: Final = "ARTIFACTS_BUCKET"
    BEDROCK_ROLE_ARN: Final = "BEDROCK_ROLE_ARN"
    # The service role Bedrock's managed-judge evaluation jobs run as (StartJudgeEvaluation passes it).
    JUDGE_ROLE_ARN: Final = "JUDGE_ROLE_ARN"
    SUBNET_IDS: Final = "SUBNET_IDS"
    JOB_SECURITY_GROUP_IDS: Final = "JOB_SECURITY_GROUP_IDS"
    KMS_KEY_ARN: Final = "KMS_KEY_ARN"
    STATE_MACHINE_ARN: Final = "STATE_MACHINE_ARN"
    PROFILE_PARAMETER_PREFIX: Final = "PROFILE_PARAMETER_PREFIX"
    PROFILE_FINGERPRINTS: Final = "PROFILE_FINGERPRINTS"
    CHAMPION_PARAMETER_PREFIX: Final = "CHAMPION_PARAMETER_PREFIX"
    NOTIFICATION_TOPIC_ARN: Final = "NOTIFICATION_TOPIC_ARN"
    # The janitor's settings (stacks/config.py: model_retention_days, janitor_alarm_after_hours, execution_timeout_hours).
    MODEL_RETENTION_DAYS: Final = "MODEL_RETENTION_DAYS"
    ALARM_AFTER_HOURS: Final = "ALARM_AFTER_HOURS"
    EXECUTION_TIMEOUT_HOURS: Final = "EXECUTION_TIMEOUT_HOURS"
    # The RFT grader function's grader: a GraderSettings as JSON (lambdas/domain/profiles.py, lambdas/handlers/grader.py).
    GRADER: Final = "GRADER"
