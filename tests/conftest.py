"""Shared fixtures. The real app is synthesized once per test session: synth costs seconds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks import node_runtime

ROOT = Path(__file__).resolve().parents[1]
# jsii starts on the first `node` on PATH: the pinned one from `make node`, refused when unsupported, before
# any test imports aws_cdk (and for every subprocess a test starts, which inherits this PATH).
try:
    node_runtime.ensure()
except node_runtime.UnsupportedNode as problem:
    pytest.exit(f"tests: {problem}", returncode=2)


@dataclass(frozen=True)
class CloudAssembly:
    directory: Path
    templates: dict[str, dict]  # stack name -> CloudFormation template

    def stacks(self, suffix: str) -> dict[str, dict]:
        return {name: template for name, template in self.templates.items() if name.endswith(suffix)}


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    """The whole app as `make synth` builds it (every stage and the Tuneforge-Delivery pipeline), with every nag
    pack attached: synth itself fails on an open finding."""
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_delivery, load_stages

    outdir = tmp_path_factory.mktemp("cdk.out")
    config = ROOT / "config" / "tuneforge.yaml"
    stages = load_stages(config)
    app = build_app(stages, context=cdk_context(), outdir=str(outdir), delivery=load_delivery(config, stages))
    app.synth()
    templates = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }
    return CloudAssembly(outdir, templates)
