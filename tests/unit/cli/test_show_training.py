"""``tuneforge show``'s training section: the rewards of a reinforcement fine-tuning job, the loss of the others."""

from __future__ import annotations

from rich.console import Console

from cli.show import _print_training
from lambdas.domain.training_metrics import LossPoint, RewardPoint, TrainingCurves


def _printed(curves: TrainingCurves) -> str:
    console = Console(record=True, width=100)
    _print_training(console, curves)
    return console.export_text()


def test_an_rft_job_shows_how_its_mean_reward_moved():
    text = _printed(
        TrainingCurves(
            rewards=[
                RewardPoint(step=0, epoch=0, mean=0.375, min=0.0, max=1.0),
                RewardPoint(step=7, epoch=1, mean=0.9375, min=0.0, max=1.0),
            ]
        )
    )
    assert "mean reward 0.3750 → 0.9375 over 2 steps, 2 epoch(s)" in text
    assert "training loss" not in text


def test_a_fine_tuning_job_still_shows_its_loss():
    text = _printed(
        TrainingCurves(training=[LossPoint(step=0, epoch=0, loss=1.5), LossPoint(step=1, epoch=0, loss=1.0)])
    )
    assert "training loss 1.5000 → 1.0000 over 2 steps" in text and "reward" not in text
