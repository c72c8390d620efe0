"""Composes the stacks of each stage into one CDK app, with the delivery pipeline and the security gates attached."""

from __future__ import annotations

from typing import Any

from aws_cdk import App

from stacks.config import DeliveryConfig, StageConfig
from stacks.nag import add_security_gates
from stacks.stage import compose_stage


def new_app(*, context: dict[str, Any], outdir: str | None = None) -> App:
    """An App as tuneforge synthesizes it.

    CDK's built-in CloudFormation schema check is off: cfn-lint checks every template in the security
    gates (zero errors required), and the built-in check, which only warns, tripled synth time.
    """
    return App(context=context, outdir=outdir, builtin_cloud_formation_validation=False)


def build_app(
    stages: list[StageConfig],
    *,
    context: dict[str, Any],
    outdir: str | None = None,
    nag: bool = True,
    delivery: DeliveryConfig | None = None,
) -> App:
    """Every stage's stacks at the top of the app (``make deploy STAGE=…``, the gates, the emulator) and, when the
    configuration has a `delivery:` section, the Tuneforge-Delivery stack that deploys the listed stages."""
    app = new_app(context=context, outdir=outdir)
    for stage in stages:
        compose_stage(app, stage)
    if delivery is not None:
        from stacks.delivery_stack import DeliveryStack  # CDK Pipelines loads only for a configured pipeline

        DeliveryStack(app, delivery=delivery, stages={stage.name: stage for stage in stages})
    if nag:
        add_security_gates(app)
    return app
