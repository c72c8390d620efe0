"""The job's loss curves: where Bedrock writes them and how their CSV reads (lambdas/domain/training_metrics.py)."""

from __future__ import annotations

import io

import pytest

from lambdas.domain.training_metrics import (
    LossPoint,
    TrainingMetricsError,
    metrics_csv,
    metrics_keys,
    parse_metrics_csv,
    read_training_curves,
)

JOB = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/c5357ce456e1"


def test_the_files_sit_in_the_jobs_folder_under_its_output_location():
    bucket, training, validation = metrics_keys("s3://artifacts/jobs/tf-run/", JOB)
    assert bucket == "artifacts"
    assert (
        training == "jobs/tf-run/model-customization-job-c5357ce456e1/training_artifacts/step_wise_training_metrics.csv"
    )
    assert validation == (
        "jobs/tf-run/model-customization-job-c5357ce456e1/"
        "validation_artifacts/post_fine_tuning_validation/validation_metrics.csv"
    )
    assert metrics_keys("s3://artifacts", JOB)[1].startswith("model-customization-job-c5357ce456e1/")
    with pytest.raises(TrainingMetricsError):
        metrics_keys("artifacts/jobs", JOB)


def test_the_documented_columns_parse_into_points_in_step_order():
    text = "step_number,epoch_number,training_loss,perplexity\n1,0,2.0,7.389\n0,0,2.5,12.18\n\n2,1,1.5,4.48\n"
    assert parse_metrics_csv(text, "training_loss") == [
        LossPoint(step=0, epoch=0, loss=2.5, perplexity=12.18),
        LossPoint(step=1, epoch=0, loss=2.0, perplexity=7.389),
        LossPoint(step=2, epoch=1, loss=1.5, perplexity=4.48),
    ]


def test_validation_files_name_their_loss_validation_loss_and_perplexity_may_be_missing():
    points = parse_metrics_csv("\ufeffstep_number,epoch_number,validation_loss\n9,0,1.25\n", "validation_loss")
    assert points == [LossPoint(step=9, epoch=0, loss=1.25)]
    with pytest.raises(TrainingMetricsError, match="validation_loss"):
        parse_metrics_csv("step_number,epoch_number,training_loss\n0,0,1\n", "validation_loss")
    with pytest.raises(TrainingMetricsError, match="line 2"):
        parse_metrics_csv("step_number,epoch_number,training_loss\n0,0,nan-ish\n", "training_loss")


def test_what_the_emulator_writes_reads_back_the_same():
    points = [LossPoint(step=0, epoch=0, loss=1.5, perplexity=4.4817), LossPoint(step=1, epoch=0, loss=1.2)]
    text = metrics_csv(points, "training_loss")
    assert text.splitlines()[0] == "step_number,epoch_number,training_loss,perplexity"
    assert parse_metrics_csv(text, "training_loss") == points


class _NoSuchKey(Exception):
    response = {"Error": {"Code": "NoSuchKey"}}


class _S3:
    def __init__(self, objects: dict[str, str]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict:
        if Key not in self.objects:
            raise _NoSuchKey(Key)
        return {"Body": io.BytesIO(self.objects[Key].encode())}


def test_a_job_without_validation_data_has_a_training_curve_and_a_note_for_the_other():
    _, training_key, _ = metrics_keys("s3://b/jobs/x/", JOB)
    curves = read_training_curves(
        _S3({training_key: "step_number,epoch_number,training_loss,perplexity\n0,0,1.1,3.0\n"}), "s3://b/jobs/x/", JOB
    )
    assert [p.loss for p in curves.training] == [1.1] and curves.validation == []
    assert curves.final_training_loss == 1.1 and curves.final_validation_loss is None
    assert len(curves.notes) == 1 and "no validation metrics" in curves.notes[0]
