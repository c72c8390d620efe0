"""What changed in the security posture between two models: set differences of their facts, per topic.

Both models must come from the same generator (``make audit BASE=<ref>`` synthesizes the base ref and models it
with the current code), so a fact that did not change reads exactly the same on both sides and never shows up.
A changed fact shows as one line removed and one line added.
"""

from __future__ import annotations

TOPIC_ORDER = ("roles", "trust", "permissions", "encryption", "retention", "keys", "network", "resource policies", "suppressions")


def diff_models(base: dict, head: dict) -> dict[str, dict[str, list[str]]]:
    """topic -> {"added": [...], "removed": [...]}, only topics with a change, each list sorted."""
    out: dict[str, dict[str, list[str]]] = {}
    base_facts, head_facts = base.get("facts", {}), head.get("facts", {})
    for topic in [*TOPIC_ORDER, *sorted(set(base_facts) | set(head_facts) - set(TOPIC_ORDER))]:
        before, after = set(base_facts.get(topic, [])), set(head_facts.get(topic, []))
        added, removed = sorted(after - before), sorted(before - after)
        if added or removed:
            out[topic] = {"added": added, "removed": removed}
    return out


def stacks_changed(base: dict, head: dict) -> dict[str, list[str]]:
    before, after = set(base.get("stacks", {})), set(head.get("stacks", {}))
    return {"added": sorted(after - before), "removed": sorted(before - after)}
