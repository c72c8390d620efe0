"""The steps are listed once (stacks/steps/PipelineSteps) and each mirrors its handler module."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import get_type_hints

from stacks.steps import PipelineSteps

ROOT = Path(__file__).resolve().parents[2]


def test_every_step_module_is_named_as_its_handler_and_runs_it():
    step_types = get_type_hints(PipelineSteps)
    for field in fields(PipelineSteps):
        step_type = step_types[field.name]
        assert step_type.HANDLER == field.name
        assert step_type.__module__ == f"stacks.steps.{field.name}"
        assert (ROOT / "lambdas" / "handlers" / f"{field.name}.py").is_file()


def test_every_handler_has_a_step_or_is_the_janitors_or_the_rft_grader():
    # The grader is no step of the state machine: Bedrock's reinforcement fine-tuning job invokes it.
    handlers = {p.stem for p in (ROOT / "lambdas" / "handlers").glob("*.py") if not p.stem.startswith("_")}
    assert handlers - {field.name for field in fields(PipelineSteps)} == {"janitor", "grader"}


def test_the_synthesized_functions_run_the_handlers_their_steps_name(assembly):
    template = assembly.templates["Tuneforge-dev-Pipeline"]
    handlers = {
        resource["Properties"]["Handler"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and "Handler" in resource["Properties"]
    }
    assert {f"lambdas.handlers.{field.name}.handler" for field in fields(PipelineSteps)} <= handlers
