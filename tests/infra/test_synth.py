from __future__ import annotations

from collections import Counter


def test_every_stage_synthesizes_its_stacks(assembly):
    assert {"Tuneforge-dev-Foundation", "Tuneforge-prod-Foundation"} <= set(assembly.templates)


# Resources that exist only when an optional setting is given (prod sets alert_email, dev does not).
OPTIONAL_BY_CONFIG = {"AWS::SNS::Subscription"}


def test_stages_differ_in_configuration_only(assembly):
    for dev_name, dev in assembly.templates.items():
        if "-dev-" not in dev_name:
            continue
        prod = assembly.templates[dev_name.replace("-dev-", "-prod-")]
        count = lambda template: Counter(
            r["Type"] for r in template["Resources"].values() if r["Type"] not in OPTIONAL_BY_CONFIG
        )  # noqa: E731
        assert count(dev) == count(prod), f"{dev_name}: both stages must build the same kinds and numbers of resources"
