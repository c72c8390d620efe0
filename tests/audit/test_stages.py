"""REPORT.md shows dev in full and prod as what differs from dev, with what only prod flags called out."""

from __future__ import annotations

import copy
import re

from tests.audit.test_report import inject
from tuneforge_audit import markdown, model


def test_prod_differs_from_dev_only_in_retention_and_its_named_data_owner(app_model):
    (prod,) = app_model["stage_differences"]
    assert (prod["base"], prod["stage"]) == ("dev", "prod")
    # roles, trust, permissions, network and suppressions read the same once names are placeholders; the key
    # policy's decrypt deny leaves prod's named data owner out, as the bucket policies do
    assert set(prod["topics"]) == {"retention", "resource policies", "keys"}
    assert prod["topics"]["keys"]["added"] and all(
        "tuneforge-data-owners" in f for f in prod["topics"]["keys"]["added"]
    )
    assert all("365 days" in f or "DeletionPolicy Retain" in f for f in prod["topics"]["retention"]["added"])
    added = prod["topics"]["resource policies"]["added"]
    # prod's alert_email subscription dead-letters into the queue: SNS may send to it there
    assert [f for f in added if "tuneforge-data-owners" not in f] == [
        next(f for f in added if "DeadLettersPolicy" in f and "Allow sns.amazonaws.com sqs:SendMessage" in f)
    ]
    only = prod["flags"]["added"]
    assert only and all(
        f["level"] == model.REVIEW
        and "arn:aws:iam::<account>:role/tuneforge-data-owners is exempt from this deny: The platform team names"
        in f["message"]
        for f in only
    )
    assert prod["flags"]["removed"] == []


def test_report_shows_dev_in_full_and_prod_once_as_differences(app_model):
    report = markdown.render(app_model)
    body = report.split("\n## IAM roles", 1)[1]
    assert re.findall(r"^### (Tuneforge-\S+)", body.split("\n## Data stores")[0], re.M) == [
        "Tuneforge-dev-Foundation",
        "Tuneforge-dev-Pipeline",
    ]
    assert (
        "| Tuneforge-prod-" not in body.split("\n## Checklist")[0]
    )  # stores, logs, network, resource policies: dev only
    section = report.split("## Stage differences", 1)[1].split("\n## ")[0]
    assert "### prod, compared with dev" in section and "#### Flagged in prod only (2)" in section
    assert section.count("tuneforge-data-owners is exempt from this deny") == 2  # one per bucket
    # every stack still in the summary, the checklist and the standing cost
    for stack in app_model["stacks"]:
        assert f"| {stack} |" in report.split("## Stage differences")[0]
    assert len(report.splitlines()) < 0.75 * len(
        markdown.render({**app_model, "stage_differences": [], "full_stage": ""}).splitlines()
    )


def test_a_change_only_prod_has_is_listed_and_flagged_as_prod_only(assembly):
    templates = copy.deepcopy(assembly.templates)
    prod = next(name for name in templates if name.startswith("Tuneforge-prod-Foundation"))
    templates[prod] = inject(templates[prod])
    m = model.build_from_templates(templates)
    (diff,) = m["stage_differences"]
    assert "Tuneforge-<stage>-Foundation/InjectedRole" in diff["topics"]["roles"]["added"]
    assert diff["topics"]["network"]["added"] and not diff["topics"]["network"]["removed"]
    failed = [f["message"] for f in diff["flags"]["added"] if f["level"] == model.FAIL]
    assert any(f.startswith("InjectedRole InjectedPolicy ReadEverything: wildcard Resource *") for f in failed), failed
    section = markdown.render(m).split("## Stage differences", 1)[1].split("\n## ")[0]
    assert "| ❌ | IAM roles | InjectedRole InjectedPolicy ReadEverything: wildcard Resource *" in section
    # the same change in dev instead is in the full sections, and prod then lacks it
    templates = copy.deepcopy(assembly.templates)
    dev = prod.replace("prod", "dev")
    templates[dev] = inject(templates[dev])
    (diff,) = model.build_from_templates(templates)["stage_differences"]
    assert diff["topics"]["roles"] == {"added": [], "removed": ["Tuneforge-<stage>-Foundation/InjectedRole"]}
    assert not any("Injected" in f["message"] for f in diff["flags"]["added"])
