"""Helpers shared by CLI commands: model and type resolution, dataset locations, exit codes."""

from __future__ import annotations

import argparse
import os
from typing import Any

from lambdas.domain.catalogue import (
    MODELS,
    CatalogueError,
    CustomizationType,
    ModelSpec,
    did_you_mean,
    resolve_base_model,
)
from lambdas.domain.outcomes import Outcome
from lambdas.domain.sources import DatasetSource, S3Object, local_file, s3_object

EXIT_OK, EXIT_NO, EXIT_USAGE = 0, 1, 2
# The estimate is only a lower bound (a line has no price), so the budget cannot be verified.
EXIT_UNPRICED = 3
# `submit --watch` and `watch`: a run's outcome (lambdas/domain/outcomes.py) as the exit code. A decided run is a
# success whatever the decision; each other end has its own code, so a script tells them apart without parsing.
EXIT_REJECTED = 4  # the dataset (or its estimate) was refused; nothing was started
EXIT_FAILED = 5  # a step failed; Cleanup tore down what the run had started
EXIT_TIMED_OUT = 6  # the execution ran past the stage's timeout
EXIT_ABORTED = 7  # someone stopped the execution
EXIT_STILL_RUNNING = 8  # --timeout passed before the run ended (it goes on; `tuneforge watch RUN` follows it again)
OUTCOME_EXIT = {
    Outcome.PROMOTED: EXIT_OK,
    Outcome.NOT_PROMOTED: EXIT_OK,
    Outcome.REJECTED: EXIT_REJECTED,
    Outcome.FAILED: EXIT_FAILED,
    Outcome.TIMED_OUT: EXIT_TIMED_OUT,
    Outcome.ABORTED: EXIT_ABORTED,
}
OUTCOME_EXIT_HELP = (
    "exit codes: 0 PROMOTED or NOT_PROMOTED (the run was decided), 2 usage error (unknown run or profile), "
    f"{EXIT_REJECTED} REJECTED, {EXIT_FAILED} FAILED, {EXIT_TIMED_OUT} TIMED_OUT, {EXIT_ABORTED} ABORTED, "
    f"{EXIT_STILL_RUNNING} still running when --timeout passed"
)


class UsageError(Exception):
    """A mistake in the command line: exit code 2 with the message (and the valid choices)."""


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        metavar="MODEL_ID",
        help="base model id (e.g. amazon.nova-micro-v1:0:128k; `tuneforge models` lists them) or custom-model ARN",
    )
    parser.add_argument(
        "--type",
        dest="customization_type",
        metavar="TYPE",
        help=f"customization type: {' | '.join(t.value for t in CustomizationType)} (default FINE_TUNING, or the model's only type)",
    )
    parser.add_argument(
        "--hp",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="hyperparameter, repeatable (e.g. --hp epochCount=3 --hp batchSize=2)",
    )


def resolve_model(identifier: str) -> ModelSpec:
    try:
        return resolve_base_model(identifier)
    except CatalogueError:
        raise UsageError(
            f"unknown model {identifier!r}{did_you_mean(identifier)}\n"
            "valid models (`tuneforge models` describes them):\n  " + "\n  ".join(sorted(MODELS))
        ) from None


def resolve_type(model: ModelSpec, value: str | None) -> CustomizationType:
    supported = sorted(t.value for t in model.customization_types)
    if value is None:
        if model.supports(CustomizationType.FINE_TUNING):
            return CustomizationType.FINE_TUNING
        return CustomizationType(supported[0])
    try:
        ctype = CustomizationType(value.upper().replace("-", "_"))
    except ValueError:
        raise UsageError(
            f"unknown customization type {value!r}; {model.name} supports: {', '.join(supported)}"
        ) from None
    if not model.supports(ctype):
        raise UsageError(f"{model.name} does not support {ctype.value}; it supports: {', '.join(supported)}")
    return ctype


def parse_hyperparameters(
    model: ModelSpec, pairs: list[str], customization_type: CustomizationType | None = None
) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--hp takes NAME=VALUE, got {pair!r}")
        values[name.strip()] = value.strip()
    problems = model.hyperparameter_problems(values, customization_type)
    if problems:
        raise UsageError("; ".join(f"{name} {reason}" for name, reason in problems))
    return values


_s3_client: Any = None


def s3_client() -> Any:
    """The default boto3 S3 client, created on first use so local commands never import boto3."""
    global _s3_client
    if _s3_client is None:
        import boto3

        _s3_client = boto3.client("s3")
    return _s3_client


def dataset_source(location: str) -> DatasetSource:
    if location.startswith("s3://"):
        try:
            source = s3_object(s3_client(), location)
        except ValueError as error:
            raise UsageError(str(error)) from None
        _check_credentials(source)
        return source
    if not os.path.isfile(location):
        raise UsageError(f"no such file: {location}")
    return local_file(location)


class CredentialsError(UsageError):
    """No usable AWS credentials: the data was never read, so nothing can be said about it."""


def _check_credentials(source: S3Object) -> None:
    """Reading an s3:// dataset without credentials must not look like invalid data: the validator turns any
    read failure into a finding about the file, so ask S3 first and say what is wrong with the setup. Only a
    client with no credentials at all is caught here; S3 answers a refused HEAD with a bare 403, which the
    validator reports with the file."""
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    try:
        source.size()
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise CredentialsError(
            f"cannot read {source.name}: {error}; nothing was validated. Configure AWS credentials "
            "(AWS_PROFILE, `aws configure` or `aws sso login`) or validate a local copy of the file"
        ) from None
    except Exception:  # a missing object or a refusal: the validator reports it as a finding about the file
        return
