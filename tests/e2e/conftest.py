"""Fixtures for the offline runs: the fixture CDK app synthesized once per session, and an emulated
account with it deployed, fresh for each test."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def fixture_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/e2e/fixture_app synthesized into a temporary cdk.out (a Stage with two stacks)."""
    sys.path.insert(0, str(HERE))
    try:
        from fixture_app.app import build
    finally:
        sys.path.remove(str(HERE))
    outdir = tmp_path_factory.mktemp("fixture-cdk.out")
    build(str(outdir))
    return outdir


@dataclass
class Deployed:
    aws: object  # local.Emulator
    result: object  # local.DeployResult

    @property
    def outputs(self) -> dict[str, str]:
        return self.result.stack("Pipeline").outputs

    @property
    def bucket(self) -> str:
        return self.outputs["BucketName"]

    @property
    def state_machine(self) -> str:
        return self.outputs["StateMachineArn"]

    def function(self, logical_prefix: str) -> str:
        return self.result.stack("Pipeline").physical_id(logical_prefix, "AWS::Lambda::Function")

    def upload_and_wait(self, key: str, body: str, timeout: float = 30.0) -> dict:
        before = len(self.aws.executions(self.state_machine))
        self.aws.upload(self.bucket, key, body)
        executions = self.aws.wait_for_executions(self.state_machine, count=before + 1, timeout=timeout)
        return self.aws.wait_for_execution(executions[-1]["executionArn"], timeout=timeout)


GOOD_DATA = "\n".join(
    [
        '{"prompt": "What is the capital of France?", "completion": "Paris"}',
        '{"prompt": "How many legs does a spider have?", "completion": "Eight"}',
        '{"prompt": "Thủ đô của Việt Nam là gì?", "completion": "Hà Nội"}',
    ]
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def emulator(request):
    """A fresh emulated account, nothing deployed (1 emulated second = 0.1 ms). On failure the
    emulator's journal (events delivered, Lambda invocations, lifecycle changes) is printed."""
    from local import Emulator
    from local.emulator import dump_journal

    with Emulator(time_scale=0.0001) as aws:
        yield aws
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print("---- emulator journal ----")
            print(dump_journal(aws.journal))


@pytest.fixture
def deployed(fixture_cdk_out: Path, emulator) -> Deployed:
    return Deployed(emulator, emulator.deploy(fixture_cdk_out))
