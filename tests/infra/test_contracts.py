"""The synthesized state machine against the step contracts (lambdas/domain/contracts.py): every JSONPath it
reads names a field, every task sends its step's input model and keeps its output where ExecutionState says."""

from __future__ import annotations

import json
import types
import typing
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from lambdas.domain.contracts import CONTRACTS, BatchItem, Decision, ExecutionState, StepResult
from lambdas.domain.registry import RECORD_DECISION
from lambdas.domain.runs import RunInput

STAGES = ("dev", "prod")
RESOLVED = object()  # a path ended in a value whose inside the model does not describe (a dict, Any)


def _render(value: Any) -> str:
    """CDK writes the definition as Fn::Join of strings and references; a function reference becomes <logical id>."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        return f"<{value['Fn::GetAtt'][0]}>"
    if "Ref" in value:
        return f"<{value['Ref']}>"
    return "REF"


def _definition(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    body = machine["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(_render(part) for part in parts))


def _handlers(template: dict[str, Any]) -> dict[str, str]:
    """Function logical id -> handler module name."""
    return {
        logical_id: resource["Properties"]["Handler"].split(".")[-2]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Handler", "").startswith("lambdas.")
    }


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state by name, those of Map states' item processors too (state names are unique machine-wide)."""
    found = {}
    for name, state in definition["States"].items():
        found[name] = state
        if state["Type"] == "Map":
            found.update(_states(state["ItemProcessor"]))
    return found


def _processor_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The states that run inside a Map iteration, whose ``$`` is the item the ItemSelector built."""
    found = {}
    for state in definition["States"].values():
        if state["Type"] == "Map":
            found.update(_states(state["ItemProcessor"]))
    return found


def _lambda_tasks(definition: dict[str, Any], handlers: dict[str, str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """State name -> (handler module, state) for every state that invokes one of the pipeline's functions."""
    found = {}
    for name, state in _states(definition).items():
        function = (state.get("Parameters") or {}).get("FunctionName", "")
        if state["Type"] == "Task" and function.startswith("<"):
            found[name] = (handlers[function.strip("<>")], state)
    return found


def _models_in(annotation: Any) -> list[Any]:
    """The alternatives of an annotation (X | None -> [X]), None left out."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def resolve(model: Any, path: list[str]) -> Any:
    """The annotation at ``path`` inside ``model``; AssertionError naming the first segment that is no field."""
    if not path:
        return model
    head, *rest = path
    for candidate in _models_in(model):
        if candidate is Any:
            return RESOLVED
        if get_origin(candidate) is dict or candidate is dict:
            return RESOLVED
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            fields = candidate.model_fields
            if head in fields:
                return resolve(fields[head].annotation, rest)
    raise AssertionError(f"{head!r} is not a field of {model}")


def _paths(value: Any, where: str = "") -> list[tuple[str, str]]:
    """(where, path) for every JSONPath in a Parameters-like object (keys ending in .$)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(".$") and isinstance(item, str):
                found.append((f"{where}/{key}", item))
            else:
                found += _paths(item, f"{where}/{key}")
    return found


def _state_paths(state: dict[str, Any]) -> list[tuple[str, str]]:
    found = _paths(state.get("Parameters"), "Parameters")
    for key in ("ItemsPath", "MaxConcurrencyPath"):
        if isinstance(state.get(key), str):
            found.append((key, state[key]))
    for key in ("InputPath", "OutputPath", "SecondsPath", "ErrorPath", "CausePath"):
        if isinstance(state.get(key), str):
            found.append((key, state[key]))
    for choice in state.get("Choices", []):
        found.append(("Choices/Variable", choice["Variable"]))
    return found


CONTEXT_PATHS = ("$$.Execution.Id", "$$.Execution.Input", "$$.State.EnteredTime", "$$.Task.Token")


def _check_path(path: str, state: type[BaseModel] = ExecutionState) -> None:
    if path.startswith("$$.Execution.Input"):
        resolve(RunInput, [p for p in path.removeprefix("$$.Execution.Input").split(".") if p])
    elif path.startswith("$$."):
        inside_a_map = ("$$.State.RetryCount",) if state is BatchItem else ()
        assert path in CONTEXT_PATHS + inside_a_map, path
    else:
        assert path.startswith("$"), path
        resolve(state, [p for p in path.removeprefix("$").split(".") if p])


@pytest.fixture(scope="module", params=STAGES)
def pipeline(request: pytest.FixtureRequest, assembly: Any) -> dict[str, Any]:
    return assembly.templates[f"Tuneforge-{request.param}-Pipeline"]


def test_every_path_the_state_machine_reads_names_a_field_of_the_contracts(pipeline):
    checked = 0
    definition = _definition(pipeline)
    in_a_map = _processor_states(definition)
    for name, state in _states(definition).items():
        paths = _state_paths(state)
        if state["Type"] == "Map":
            # The ItemSelector reads the Map's input, and the item itself; it builds the iteration's BatchItem.
            selector = state["ItemSelector"]
            assert {key.removesuffix(".$") for key in selector} == set(BatchItem.model_fields), name
            paths += [(f"ItemSelector/{key}", path) for key, path in selector.items() if path != "$$.Map.Item.Value"]
        for where, path in paths:
            try:
                _check_path(path, BatchItem if name in in_a_map else ExecutionState)
            except AssertionError as error:
                raise AssertionError(f"state {name} {where}: {path}: {error}") from None
            checked += 1
    assert checked > 40
    assert in_a_map, "the evaluation's batches run in a Map state"


def test_every_task_sends_its_steps_input_model(pipeline):
    tasks = _lambda_tasks(_definition(pipeline), _handlers(pipeline))
    assert {handler for handler, _ in tasks.values()} == set(CONTRACTS)
    for name, (handler, state) in tasks.items():
        model = CONTRACTS[handler].input
        sent = {key.removesuffix(".$") for key in state["Parameters"]["Payload"]}
        required = {field for field, info in model.model_fields.items() if info.is_required()}
        assert sent <= set(model.model_fields), f"{name} sends {sent - set(model.model_fields)} {model.__name__} lacks"
        assert required <= sent, f"{name} leaves out {required - sent}, which {model.__name__} requires"


def test_every_task_keeps_its_steps_output_where_the_execution_state_says(pipeline):
    definition = _definition(pipeline)
    in_a_map = _processor_states(definition)
    for name, (handler, state) in _lambda_tasks(definition, _handlers(pipeline)).items():
        output = CONTRACTS[handler].output
        if state["ResultPath"] is None:  # discarded: only a Map iteration's task, whose results are in S3
            assert name in in_a_map, f"{name} discards its {output.__name__}"
            continue
        field = state["ResultPath"].removeprefix("$.")
        declared = ExecutionState.model_fields[field].annotation
        selector = state.get("ResultSelector")
        if selector == {"value.$": "$.Payload"}:
            assert declared == StepResult[output], f"{name} keeps {output.__name__} at $.{field}, declared {declared}"
        elif selector is None:  # the task token's result: what JobEvents sends, not the handler's return
            assert handler == "wait_for_job"
        else:
            # A selector keeps some fields of the output: each is read from the output and declared in the state.
            for key, path in selector.items():
                resolve(output, path.removeprefix("$.Payload").strip(".").split("."))
                resolve(declared, [key.removesuffix(".$")])


def test_the_decisions_the_state_machine_writes_are_the_contracts(pipeline):
    written = {
        state["Result"]
        for state in _definition(pipeline)["States"].values()
        if state["Type"] == "Pass" and state.get("ResultPath") == "$.decision"
    }
    assert written == set(get_args(Decision))


def test_the_run_record_the_state_machine_writes_is_the_registrys(pipeline):
    (record,) = [
        state for state in _definition(pipeline)["States"].values() if state.get("Resource", "").endswith(":updateItem")
    ]
    parameters = record["Parameters"]
    assert parameters["UpdateExpression"] == RECORD_DECISION.expression
    assert parameters["ExpressionAttributeNames"] == RECORD_DECISION.names
    values = parameters["ExpressionAttributeValues"]
    assert {k: v["S"] for k, v in values.items() if "S" in v} == RECORD_DECISION.literals
    assert {k: v["S.$"] for k, v in values.items() if "S.$" in v} == RECORD_DECISION.paths


def test_a_path_to_a_field_that_does_not_exist_is_refused():
    with pytest.raises(AssertionError, match="'valid' is not a field"):
        resolve(ExecutionState, ["evaluation", "value", "valid"])
    # Estimate keeps selected fields, not the whole payload under "value".
    with pytest.raises(AssertionError, match="'value' is not a field"):
        resolve(ExecutionState, ["estimate", "value", "within_budget"])
