"""The loss curves a model customization job leaves in its output location, located and parsed into points.

Where Bedrock writes them and their columns (https://docs.aws.amazon.com/bedrock/latest/userguide/
model-customization-analyze.html, read 2026-12-07): under the job's output S3 location,

    model-customization-job-<job id>/training_artifacts/step_wise_training_metrics.csv
    model-customization-job-<job id>/validation_artifacts/post_fine_tuning_validation/validation_metrics.csv

the first with the columns step_number (from 0), epoch_number, training_loss and perplexity, the second with
the same columns but validation_loss in place of training_loss. Validation metrics exist only for some jobs
(those given validation data), so a missing validation file is normal, not an error.

Reinforcement fine-tuning jobs learn from rewards, not a loss. AWS documents reward curves in the console
("Training rewards", and "Validation rewards" given validation data:
https://docs.aws.amazon.com/bedrock/latest/userguide/rft-evaluate-model.html, read 2026-12-07) but no file in the
job's output that holds them. The layout below is therefore ours, not AWS's: next to the loss file,

    model-customization-job-<job id>/training_artifacts/step_wise_reward_metrics.csv

with the columns step_number, epoch_number, reward_mean, reward_min and reward_max (the grader's
aggregate_reward_score over the step's sampled responses). The emulator writes it; against AWS the file is absent
until a documented location is known, and the run page then says so.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

TRAINING_FILE = "training_artifacts/step_wise_training_metrics.csv"
VALIDATION_FILE = "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"
REWARD_FILE = "training_artifacts/step_wise_reward_metrics.csv"
REWARD_COLUMNS = ("step_number", "epoch_number", "reward_mean", "reward_min", "reward_max")
TRAINING_COLUMNS = ("step_number", "epoch_number", "training_loss", "perplexity")
VALIDATION_COLUMNS = ("step_number", "epoch_number", "validation_loss", "perplexity")


class TrainingMetricsError(ValueError):
    """A metrics file that is not the documented CSV; the message says what is wrong, in one line."""


class LossPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: int
    epoch: int
    loss: float
    perplexity: float | None = None


class RewardPoint(BaseModel):
    """One step of a reinforcement fine-tuning job: the grader's scores of that step's sampled responses."""

    model_config = ConfigDict(frozen=True)

    step: int
    epoch: int
    mean: float
    min: float
    max: float


class TrainingCurves(BaseModel):
    """A job's training and validation loss, or a reinforcement fine-tuning job's rewards; ``notes`` say why a
    curve is missing or unreadable."""

    training: list[LossPoint] = []
    validation: list[LossPoint] = []
    rewards: list[RewardPoint] = []
    training_uri: str | None = None
    validation_uri: str | None = None
    rewards_uri: str | None = None
    notes: list[str] = []

    @property
    def final_training_loss(self) -> float | None:
        return self.training[-1].loss if self.training else None

    @property
    def final_validation_loss(self) -> float | None:
        return self.validation[-1].loss if self.validation else None

    @property
    def reward_change(self) -> tuple[float, float] | None:
        """(first, last) mean reward: how far the job's grader scores moved."""
        return (self.rewards[0].mean, self.rewards[-1].mean) if self.rewards else None


def job_id(job_arn: str) -> str:
    """The job id of a job ARN (``...:model-customization-job/<base model>/<job id>``): its last segment."""
    return job_arn.rstrip("/").rsplit("/", 1)[-1]


def metrics_keys(output_uri: str, job_arn: str) -> tuple[str, str, str]:
    """(bucket, training CSV key, validation CSV key) of a job whose outputDataConfig.s3Uri is ``output_uri``."""
    match = re.match(r"^s3://([^/]+)/?(.*)$", output_uri or "")
    if match is None:
        raise TrainingMetricsError(f"the job's output location {output_uri!r} is not an s3:// URI")
    bucket, prefix = match.group(1), match.group(2).strip("/")
    folder = "/".join(part for part in (prefix, f"model-customization-job-{job_id(job_arn)}") if part)
    return bucket, f"{folder}/{TRAINING_FILE}", f"{folder}/{VALIDATION_FILE}"


def reward_key(output_uri: str, job_arn: str) -> tuple[str, str]:
    """(bucket, key) of a reinforcement fine-tuning job's reward CSV (our layout: see the module's docstring)."""
    bucket, training_key, _ = metrics_keys(output_uri, job_arn)
    return bucket, training_key.removesuffix(TRAINING_FILE) + REWARD_FILE


def parse_reward_csv(text: str) -> list[RewardPoint]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in REWARD_COLUMNS if c not in header]
    if missing:
        raise TrainingMetricsError(f"columns {', '.join(missing)} missing (header: {','.join(header) or 'none'})")
    points: list[RewardPoint] = []
    for row_number, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        try:
            points.append(
                RewardPoint(
                    step=int(float(row["step_number"])),
                    epoch=int(float(row["epoch_number"])),
                    mean=float(row["reward_mean"]),
                    min=float(row["reward_min"]),
                    max=float(row["reward_max"]),
                )
            )
        except ValueError:
            raise TrainingMetricsError(f"line {row_number} is not numbers: {row}") from None
    return sorted(points, key=lambda point: point.step)


def reward_csv(points: list[RewardPoint]) -> str:
    rows = [",".join(REWARD_COLUMNS)] + [f"{p.step},{p.epoch},{p.mean},{p.min},{p.max}" for p in points]
    return "\n".join(rows) + "\n"


def read_reward_curve(s3: Any, output_uri: str, job_arn: str) -> TrainingCurves:
    """A reinforcement fine-tuning job's rewards; what cannot be read is a note, never an exception."""
    try:
        bucket, key = reward_key(output_uri, job_arn)
    except TrainingMetricsError as error:
        return TrainingCurves(notes=[str(error)])
    curves = TrainingCurves(rewards_uri=f"s3://{bucket}/{key}")
    try:
        text = _read(s3, bucket, key)
    except Exception as error:  # access denied, no bucket: say so
        curves.notes.append(f"reward metrics not readable at s3://{bucket}/{key}: {error}")
        return curves
    if text is None:
        curves.notes.append(
            f"no reward metrics at s3://{bucket}/{key} (AWS documents no file for them; the emulator writes this one)"
        )
        return curves
    try:
        curves.rewards = parse_reward_csv(text)
    except TrainingMetricsError as error:
        curves.notes.append(f"reward metrics at s3://{bucket}/{key} unreadable: {error}")
    return curves


def parse_metrics_csv(text: str, loss_column: str) -> list[LossPoint]:
    """The rows of one metrics file, in step order. Extra columns are ignored; perplexity may be absent."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in ("step_number", "epoch_number", loss_column) if c not in header]
    if missing:
        raise TrainingMetricsError(f"columns {', '.join(missing)} missing (header: {','.join(header) or 'none'})")
    points: list[LossPoint] = []
    for row_number, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        try:
            perplexity = row.get("perplexity")
            points.append(
                LossPoint(
                    step=int(float(row["step_number"])),
                    epoch=int(float(row["epoch_number"])),
                    loss=float(row[loss_column]),
                    perplexity=float(perplexity) if perplexity else None,
                )
            )
        except ValueError:
            raise TrainingMetricsError(f"line {row_number} is not numbers: {row}") from None
    return sorted(points, key=lambda point: point.step)


def _read(s3: Any, bucket: str, key: str) -> str | None:
    """The object's text, or None when there is no such object."""
    try:
        return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"))
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def read_training_curves(s3: Any, output_uri: str, job_arn: str) -> TrainingCurves:
    """Both curves of a finished job; what cannot be read is a note, never an exception."""
    try:
        bucket, training_key, validation_key = metrics_keys(output_uri, job_arn)
    except TrainingMetricsError as error:
        return TrainingCurves(notes=[str(error)])
    curves = TrainingCurves(
        training_uri=f"s3://{bucket}/{training_key}", validation_uri=f"s3://{bucket}/{validation_key}"
    )
    for name, key, column in (
        ("training", training_key, "training_loss"),
        ("validation", validation_key, "validation_loss"),
    ):
        try:
            text = _read(s3, bucket, key)
        except Exception as error:  # access denied, no bucket: say so and show the rest
            curves.notes.append(f"{name} metrics not readable at s3://{bucket}/{key}: {error}")
            continue
        if text is None:
            curves.notes.append(
                f"no {name} metrics at s3://{bucket}/{key}"
                + (" (Bedrock writes them only for jobs given validation data)" if name == "validation" else "")
            )
            continue
        try:
            setattr(curves, name, parse_metrics_csv(text, column))
        except TrainingMetricsError as error:
            curves.notes.append(f"{name} metrics at s3://{bucket}/{key} unreadable: {error}")
    return curves


def metrics_csv(points: list[LossPoint], loss_column: str) -> str:
    """The documented CSV of ``points`` (what the emulator writes as Bedrock would)."""
    rows = [",".join(("step_number", "epoch_number", loss_column, "perplexity"))]
    rows += [f"{p.step},{p.epoch},{p.loss},{'' if p.perplexity is None else p.perplexity}" for p in points]
    return "\n".join(rows) + "\n"
