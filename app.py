#!/usr/bin/env python3
"""Builds every configured stage of tuneforge. The only place that reads config, context or environment."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from stacks import node_runtime

# jsii starts with the first aws_cdk import (stacks.config has one) and runs on the first `node` on PATH: make
# that the pinned Node, and stop in one line when it is not a supported LTS.
try:
    node_runtime.ensure()
except node_runtime.UnsupportedNode as problem:
    sys.exit(f"tuneforge: {problem}")

from stacks.config import ConfigError, load_delivery, load_stages  # noqa: E402

ROOT = Path(__file__).resolve().parent


def cdk_context() -> dict:
    """Feature flags from cdk.json and the committed AZ lookups, so `python app.py` synthesizes exactly what
    `cdk synth` would, with no credentials (missing AZs would otherwise become invented `dummy1a` zones)."""
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update(json.loads((ROOT / "cdk.context.json").read_text()))
    return context


def main() -> None:
    config_path = Path(os.environ.get("TUNEFORGE_CONFIG", ROOT / "config" / "tuneforge.yaml"))
    only = [name for name in os.environ.get("TUNEFORGE_STAGES", "").split(",") if name]
    try:
        stages = load_stages(config_path, only=only or None)
        # TUNEFORGE_STAGES builds a subset of the stages (a sandbox); the pipeline deploys the configured ones, so it
        # is built only with every stage at hand.
        delivery = None if only else load_delivery(config_path, stages)
    except ConfigError as mistake:
        # One line and no cdk.out: nothing half-written for later steps to trust.
        print(f"tuneforge: configuration error: {mistake}", file=sys.stderr)
        sys.exit(2)

    from stacks.app_builder import build_app  # CDK (jsii) starts only once the config is known to be sound

    app = build_app(stages, context=cdk_context(), outdir=os.environ.get("CDK_OUTDIR"), delivery=delivery)
    app.synth()


if __name__ == "__main__":
    main()
