"""REPORT.md: the model as Markdown a reviewer reads in a pull request. One section per topic, tables,
❌ on what breaks a checklist property or has no reason on record, ⚠️ on what is accepted with the reason shown.

One module per part of the report: ``overview`` (stamps, summary, changes, stage differences), ``inventory``
(roles, stores, logs, keys, network, resource policies), ``findings`` (checklist, acknowledgements, scanners),
``cost`` (standing cost), over the building blocks in ``cells``.
"""

from __future__ import annotations

from tuneforge_audit.markdown.cost import standing
from tuneforge_audit.markdown.findings import checklist, scanners, suppressions
from tuneforge_audit.markdown.inventory import iam_roles, kms, logs, net, resource_policies, stores
from tuneforge_audit.markdown.overview import changes, one_stage, stage_differences, stamps, summary


def render(model: dict, base: dict | None = None, base_label: str | None = None) -> str:
    label = base_label or ("BASE" if base is not None else None)
    lines = ["# tuneforge security review report", ""]
    lines += stamps(model)
    lines += summary(model, label)
    if base is not None:
        lines += changes(base, model, base_label or "BASE")
    full = one_stage(model, model.get("full_stage", ""))
    if model.get("stage_differences"):
        lines += stage_differences(model)
    for section in (iam_roles, stores, logs, kms, net, resource_policies):
        lines += section(full)
    for section in (checklist,):
        lines += section(model)
    lines += suppressions(full)
    for section in (scanners, standing):
        lines += section(model)
    return "\n".join(lines).rstrip() + "\n"
