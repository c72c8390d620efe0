"""Checklist properties 18-20: the state machine and the S3 event rules that start it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from tuneforge_audit.checklist.template import Template, as_list, key_reference_ok, props, render, resources, target


def state_machine_definition(resource: dict) -> dict | None:
    """The state machine's definition, with intrinsics inside it replaced by placeholders."""
    p = props(resource)
    if isinstance(p.get("Definition"), dict):
        return p["Definition"]
    raw = p.get("DefinitionString")
    if raw is None:
        return None
    if isinstance(raw, dict) and "Fn::Join" in raw:
        text = raw["Fn::Join"][0].join(
            part if isinstance(part, str) else "__INTRINSIC__" for part in raw["Fn::Join"][1]
        )
    else:
        text = raw if isinstance(raw, str) else render(raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(re.sub(r"(?<=[:\[,])\s*__INTRINSIC__", " 0", text))


def _states(definition: dict) -> Iterator[tuple[str, dict]]:
    for name, state, _ in _states_in_maps(definition):
        yield name, state


def _states_in_maps(definition: dict, enclosing_map: dict | None = None) -> Iterator[tuple[str, dict, dict | None]]:
    """Every state, with the Map state whose iterations run it (None outside any Map)."""
    for name, state in (definition.get("States") or {}).items():
        yield name, state, enclosing_map
        for branch in state.get("Branches", []):
            yield from _states_in_maps(branch, enclosing_map)
        for nested in (state.get("Iterator"), state.get("ItemProcessor")):
            if isinstance(nested, dict):
                yield from _states_in_maps(nested, state)


def check_18_state_machine_settings(template: Template, stage: str) -> list[str]:
    """18. Log ALL without execution data, X-Ray on, encrypted with a customer-managed key."""
    out = []
    for lid, sm in resources(template, "AWS::StepFunctions::StateMachine").items():
        p = props(sm)
        logging = p.get("LoggingConfiguration") or {}
        if logging.get("Level") != "ALL":
            out.append(f"{lid}: LoggingConfiguration.Level is {logging.get('Level')!r}, not ALL")
        if logging.get("IncludeExecutionData") is not False:
            out.append(f"{lid}: LoggingConfiguration.IncludeExecutionData is not false (payloads would reach the logs)")
        if not as_list(logging.get("Destinations")):
            out.append(f"{lid}: LoggingConfiguration has no log destination")
        if (p.get("TracingConfiguration") or {}).get("Enabled") is not True:
            out.append(f"{lid}: TracingConfiguration.Enabled is not true")
        encryption = p.get("EncryptionConfiguration") or {}
        if encryption.get("Type") != "CUSTOMER_MANAGED_KMS_KEY" or not key_reference_ok(
            template, encryption.get("KmsKeyId")
        ):
            out.append(f"{lid}: EncryptionConfiguration is not CUSTOMER_MANAGED_KMS_KEY with the stack's key")
    return out


def check_19_state_machine_definition(template: Template, stage: str) -> list[str]:
    """19. Every Task retries and catches (a Task inside a Map iteration may leave its Catch to the Map: a failed
    iteration ends at the Map, which must catch); a direct customization task pins VPC, key and idempotency
    token; TimeoutSeconds."""
    out = []
    for lid, sm in resources(template, "AWS::StepFunctions::StateMachine").items():
        definition = state_machine_definition(sm)
        if definition is None:
            out.append(f"{lid}: no readable definition")
            continue
        if not definition.get("TimeoutSeconds"):
            out.append(f"{lid}: definition has no TimeoutSeconds")
        for name, state, enclosing_map in _states_in_maps(definition):
            if state.get("Type") == "Map" and not state.get("Catch"):
                out.append(f"{lid}: Map {name!r} has no Catch")
            if state.get("Type") != "Task":
                continue
            caught = state.get("Catch") or (enclosing_map is not None and enclosing_map.get("Catch"))
            out += [f"{lid}: Task {name!r} has no Retry"] * (not state.get("Retry"))
            out += [f"{lid}: Task {name!r} has no Catch"] * (not caught)
            if "createmodelcustomizationjob" in str(state.get("Resource", "")).lower():
                params = {k.removesuffix(".$") for k in (state.get("Parameters") or state.get("Arguments") or {})}
                out += [
                    f"{lid}: customization Task {name!r} has no {field}"
                    for field in ("VpcConfig", "CustomModelKmsKeyId", "ClientRequestToken")
                    if field not in params
                ]
    return out


def _rule_bucket_filter(pattern: dict) -> tuple[list, list]:
    detail = pattern.get("detail") or {}
    return as_list((detail.get("bucket") or {}).get("name")), as_list((detail.get("object") or {}).get("key"))


def check_20_s3_event_rules(template: Template, stage: str) -> list[str]:
    """20. The S3-triggered rule names the exact bucket and a key prefix; its targets have a DLQ and a retry policy."""
    out = []
    for lid, rule in resources(template, "AWS::Events::Rule").items():
        pattern = props(rule).get("EventPattern") or {}
        if isinstance(pattern, str):
            pattern = json.loads(pattern)
        if "aws.s3" not in as_list(pattern.get("source")):
            continue
        names, keys = _rule_bucket_filter(pattern)
        exact = len(names) == 1 and (
            (isinstance(names[0], str) and "*" not in names[0])
            or (
                isinstance(names[0], dict)
                and (target(names[0]) in resources(template, "AWS::S3::Bucket") or "Fn::ImportValue" in names[0])
            )
        )
        if not exact:  # a list of names, a {"prefix"/"wildcard"} matcher or an untraceable value
            out.append(f"{lid}: does not filter on one exact bucket name (got {json.dumps(names)})")
        if not keys or not all(isinstance(k, dict) and isinstance(k.get("prefix"), str) and k["prefix"] for k in keys):
            out.append(f"{lid}: does not filter on an object key prefix (got {keys})")
        for t in as_list(props(rule).get("Targets")):
            if not (t.get("DeadLetterConfig") or {}).get("Arn"):
                out.append(f"{lid}: target {t.get('Id')!r} has no DeadLetterConfig")
            if not t.get("RetryPolicy"):
                out.append(f"{lid}: target {t.get('Id')!r} has no RetryPolicy")
    return out
