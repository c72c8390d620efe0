"""A reinforcement fine-tuning job's rewards: our CSV beside Bedrock's loss files, read into points, and drawn on
the run page where loss curves are drawn for the other customization types."""

from __future__ import annotations

import io
import re

import pytest

from lambdas.domain.run_page import loss_chart, reward_chart, training_chart
from lambdas.domain.training_metrics import (
    LossPoint,
    RewardPoint,
    TrainingCurves,
    TrainingMetricsError,
    metrics_keys,
    parse_reward_csv,
    read_reward_curve,
    reward_csv,
    reward_key,
)

JOB = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-2-lite-v1:0:256k/a1b2c3d4e5f6"
OUTPUT = "s3://artifacts/jobs/tf-run/"
RISING = [
    RewardPoint(step=0, epoch=0, mean=0.25, min=0.0, max=1.0),
    RewardPoint(step=1, epoch=0, mean=0.5, min=0.0, max=1.0),
    RewardPoint(step=2, epoch=1, mean=0.875, min=0.0, max=1.0),
]


class _NoSuchKey(Exception):
    response = {"Error": {"Code": "NoSuchKey"}}  # botocore's error shape


class _S3:
    def __init__(self, objects: dict[str, str]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict:
        if Key not in self.objects:
            raise _NoSuchKey(Key)
        return {"Body": io.BytesIO(self.objects[Key].encode())}


def test_the_reward_file_sits_beside_the_loss_file_of_the_job():
    bucket, key = reward_key(OUTPUT, JOB)
    _, loss_key, _ = metrics_keys(OUTPUT, JOB)
    assert bucket == "artifacts"
    assert key == "jobs/tf-run/model-customization-job-a1b2c3d4e5f6/training_artifacts/step_wise_reward_metrics.csv"
    assert key.rsplit("/", 1)[0] == loss_key.rsplit("/", 1)[0]


def test_the_csv_round_trips_in_step_order():
    text = reward_csv(list(reversed(RISING)))
    assert text.splitlines()[0] == "step_number,epoch_number,reward_mean,reward_min,reward_max"
    assert parse_reward_csv(text) == RISING


@pytest.mark.parametrize(
    "text,complaint",
    [
        ("step_number,epoch_number,reward_mean\n0,0,0.5\n", "reward_min, reward_max missing"),
        ("step_number,epoch_number,reward_mean,reward_min,reward_max\n0,0,half,0,1\n", "line 2 is not numbers"),
    ],
)
def test_a_file_that_is_not_the_layout_says_what_is_wrong(text, complaint):
    with pytest.raises(TrainingMetricsError, match=complaint):
        parse_reward_csv(text)


def test_reading_a_jobs_rewards_and_their_change():
    _, key = reward_key(OUTPUT, JOB)
    curves = read_reward_curve(_S3({key: reward_csv(RISING)}), OUTPUT, JOB)
    assert curves.rewards == RISING and curves.notes == []
    assert curves.reward_change == (0.25, 0.875)
    assert curves.rewards_uri == f"s3://artifacts/{key}"


def test_a_missing_reward_file_is_a_note_saying_aws_documents_none():
    curves = read_reward_curve(_S3({}), OUTPUT, JOB)
    assert curves.rewards == [] and curves.reward_change is None
    [note] = curves.notes
    assert "no reward metrics" in note and "AWS documents no file" in note


def test_the_run_page_draws_rewards_for_an_rft_job_and_loss_for_the_others():
    page = training_chart(TrainingCurves(rewards=RISING))
    assert page == reward_chart(TrainingCurves(rewards=RISING)) and 'class="chart reward"' in page
    series = dict(re.findall(r'data-series="([^"]+)" data-points="(\d+)"', page))
    assert series == {"mean reward": "3", "lowest reward": "3", "highest reward": "3"}
    assert "mean reward (final 0.8750)" in page
    # The mean rises: its last point is drawn higher (a smaller y) than its first.
    mean = re.search(r'data-series="mean reward" data-points="3" points="([^"]+)"', page)
    assert mean is not None
    ys = [float(pair.split(",")[1]) for pair in mean.group(1).split()]
    assert ys[-1] < ys[0]

    losses = TrainingCurves(training=[LossPoint(step=0, epoch=0, loss=1.2), LossPoint(step=1, epoch=0, loss=0.9)])
    assert training_chart(losses) == loss_chart(losses) and 'class="chart loss"' in training_chart(losses)
