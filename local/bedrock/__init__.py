"""Bedrock control plane: what moto 5.2.5 lacks or gets wrong (see docs/local-emulation.md).

Model ids and custom-model ARNs are the project catalogue's (``lambdas.domain.catalogue``): the
emulator accepts exactly the ids the catalogue records and reads ARNs with the domain's parser
(:mod:`.models`).

Customization jobs (:mod:`.jobs`)
    * ARNs shaped like AWS's: ``model-customization-job/<base-model-id>/<12 chars>``; lookups (get,
      stop) accept the job name or the ARN (moto matched the URL-encoded ARN against names).
    * ``clientRequestToken``: the same token returns the same job, no error.
    * base model, customization type and hyperparameters are checked against the catalogue: what
      Bedrock would refuse is a ValidationException.
    * lifecycle on the emulated clock: InProgress for ``settings.job_duration`` emulated seconds, then
      Completed (or Failed / Stopped when a fault says so, or Failed when the training data is not in
      S3); Stop -> Stopping -> Stopped. Completed jobs get training (and validation) loss, a
      ``step_wise_training_metrics.csv`` (and, given validation data, a ``validation_metrics.csv``) in
      the output location as lambdas/domain/training_metrics.py documents, and a custom model that exists:
      ``custom-model/<base-model-id>/<12 chars>`` = the job's ``outputModelArn`` (moto pointed at a
      model it never registered). The model only exists once the job has completed, as in AWS.
    * ``customizationConfig`` and ``vpcConfig`` round-trip.
    * on a terminal status the ``Model Customization Job State Change`` event goes to the default bus
      (unless a lost-event fault is armed).

Provisioned throughput and custom-model deployments (:mod:`.endpoints`), evaluation jobs
(:mod:`.evaluations`), foundation models (:mod:`.models`); :mod:`.lifecycle` moves them on with the
emulated clock and :mod:`.glue` fits all of it into moto.
"""

from __future__ import annotations

from .glue import apply
from .jobs import find_job
from .lifecycle import next_due, tick_all, tick_backend
from .models import find_custom_model
from .s3 import read_lines
from .store import LOCK, ext

__all__ = [
    "LOCK",
    "apply",
    "ext",
    "find_custom_model",
    "find_job",
    "next_due",
    "read_lines",
    "tick_all",
    "tick_backend",
]
