"""Fixtures for the offline runs: the fixture CDK app synthesized once per session, and an emulated
account with it deployed, fresh for each test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .stage import HERE, ROOT, Deployed, TuneforgeStage


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def emulator(request):
    """A fresh emulated account, nothing deployed; emulated time moves on its own (discrete-event:
    to the next due wait or lifecycle change whenever nothing works). On failure the emulator's
    journal (events delivered, Lambda invocations, lifecycle changes) is printed."""
    from local import Emulator
    from local.emulator import dump_journal

    with Emulator() as aws:
        yield aws
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print("---- emulator journal ----")
            print(dump_journal(aws.journal))


@pytest.fixture
def deployed(fixture_cdk_out: Path, emulator) -> Deployed:
    return Deployed(emulator, emulator.deploy(fixture_cdk_out))


# ------------------------------------------------------------------------------------------------
# The real app (tuneforge's dev stage) in the emulator.


@pytest.fixture(scope="session")
def tuneforge_cdk_out(assembly) -> Path:
    """The app's cdk.out, synthesized once per session by tests/conftest.py (both stages; tests deploy
    the dev stage with ``stacks=DEV_STACKS``)."""
    return assembly.directory


@pytest.fixture(scope="session")
def short_timeout_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stage with a 4-hour execution timeout (a stage setting; same code), for the timeout case:
    with the 168-hour default the case would take 672 fallback checks."""
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].model_copy(
        update={"execution_timeout_hours": 4}
    )
    outdir = tmp_path_factory.mktemp("short-timeout-cdk.out")
    build_app([stage], context=cdk_context(), outdir=str(outdir), nag=False).synth()
    return outdir


@pytest.fixture(scope="session")
def long_job_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stage with a 15-day execution timeout and a fallback check every 10 hours (heartbeat
    30 h), so a 14-day job fits in one run and waiting for it takes a few dozen checks, not 1,344."""
    from app import cdk_context
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0].model_copy(
        update={"execution_timeout_hours": 15 * 24, "job_fallback_check_minutes": 600}
    )
    outdir = tmp_path_factory.mktemp("long-job-cdk.out")
    build_app([stage], context=cdk_context(), outdir=str(outdir), nag=False).synth()
    return outdir


@pytest.fixture(scope="session")
def committed_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stage with support-qa-vi buying a one-month commitment for its winner (a profile setting;
    same code), so a run whose promotion fails leaves a throughput Bedrock refuses to delete for a month."""
    from app import cdk_context
    from lambdas.domain.profiles import Commitment
    from stacks.app_builder import build_app
    from stacks.config import load_stages

    stage = load_stages(ROOT / "config" / "tuneforge.yaml", only=["dev"])[0]
    profile = stage.profiles["support-qa-vi"]
    # A month of one committed model unit (55 USD x 730 h = 40,150 USD) is over the bundled promotion cap
    # only if that cap is lower: the team buying one raises the monthly cap with the commitment.
    committed = profile.model_copy(
        update={
            "throughput": profile.throughput.model_copy(update={"commitment": Commitment.ONE_MONTH}),
            "promotion_monthly_cap_usd": 100_000,
        }
    )
    stage = stage.model_copy(update={"profiles": {**stage.profiles, profile.name: committed}})
    outdir = tmp_path_factory.mktemp("committed-cdk.out")
    build_app([stage], context=cdk_context(), outdir=str(outdir), nag=False).synth()
    return outdir


@pytest.fixture
def tuneforge(tuneforge_cdk_out: Path, emulator) -> TuneforgeStage:
    """tuneforge's dev stage deployed from its cdk.out into a fresh emulated account. Its scheduled
    rules fire on their own as emulated time passes, as in AWS: the fallback check's heartbeats keep
    WaitForJob alive (its heartbeat timeout, 45 min, is shorter than the 1-hour job)."""
    emulator.settings.auto_schedule = True
    return TuneforgeStage(emulator, tuneforge_cdk_out)


@pytest.fixture(scope="module")
def cli_stage(tuneforge_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory):
    """The dev stage deployed in an emulator server of its own, with the support-qa-vi evaluation set uploaded
    through the CLI; tests drive ``tuneforge`` against it as a user would (tests/e2e/cli_harness.py)."""
    from local.remote import RemoteEmulator

    from .cli_harness import EVALUATION_SET, PROFILE, CliStage

    workdir = tmp_path_factory.mktemp("cli")
    with RemoteEmulator.launch(time_scale=0.0001, auto_schedule=True, log=workdir / "server.log") as aws:
        aws.deploy(tuneforge_cdk_out, stacks="Tuneforge-dev-*")
        stage = CliStage(url=aws.endpoint_url, workdir=workdir)
        uploaded = stage.run("evaluation-set", str(EVALUATION_SET), "--profile", PROFILE)
        assert uploaded.code == 0, uploaded.err
        yield stage
