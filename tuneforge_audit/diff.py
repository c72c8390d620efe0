"""What changed in the security posture between two models: set differences of their facts, per topic.

Both models must come from the same generator (``make audit BASE=<ref>`` synthesizes the base ref and models it
with the current code), so a fact that did not change reads exactly the same on both sides and never shows up.
A changed fact shows as one line removed and one line added.
"""

from __future__ import annotations

import re
from collections import Counter

TOPIC_ORDER = (
    "roles",
    "trust",
    "permissions",
    "encryption",
    "retention",
    "keys",
    "network",
    "resource policies",
    "suppressions",
)


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


# ----------------------------------------------------------------- one stage against another

ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")


def stage_account(model: dict, stage: str) -> str | None:
    """The stage's account, as the most frequent 12-digit number in its facts (the templates carry no other
    record of it, and every ARN CDK renders for the stage names it)."""
    counts = Counter(
        n
        for topic in model.get("facts", {}).values()
        for fact in topic
        if f"Tuneforge-{stage}-" in fact
        for n in ACCOUNT.findall(fact)
    )
    return counts.most_common(1)[0][0] if counts else None


def normalizer(stage: str, account: str | None):
    """Text of ``stage`` with its name and account replaced by placeholders, so that what two stages share
    reads the same. Logical ids CDK derives from a stack name end in a hash of the whole path; that is dropped."""
    names = [
        (f"Tuneforge-{stage}-", "Tuneforge-<stage>-"),
        (f"tuneforge-{stage}-", "tuneforge-<stage>-"),
        (f"/tuneforge/{stage}/", "/tuneforge/<stage>/"),
    ]
    derived = re.compile(rf"\w*Tuneforge{re.escape(stage)}\w*")

    def unhashed(token: str) -> str:
        # CDK appends (and, for long ids, embeds after truncating) hex hashes of the path: each run of hex
        # capitals holding a digit reads as "…" on both sides.
        token = token.replace(f"Tuneforge{stage}", "Tuneforge<stage>")
        return re.sub(r"[0-9A-F]{3,}", lambda m: "…" if any(c.isdigit() for c in m.group()) else m.group(), token)

    def normal(text: str) -> str:
        text = derived.sub(lambda m: unhashed(m.group()), text)
        for old, new in names:
            text = text.replace(old, new)
        return text.replace(account, "<account>") if account else text

    return normal


def diff_stages(model: dict, base: str, other: str) -> dict:
    """What stage ``other`` has that ``base`` has not, and the reverse: facts per topic and flags, both sides
    normalized (``normalizer``). ``{"topics": {topic: {"added": [...], "removed": [...]}}, "flags": {...}}``:
    "added" is only in ``other``, "removed" only in ``base``."""
    sides = {}
    for stage in (base, other):
        normal = normalizer(stage, stage_account(model, stage))
        facts = {
            topic: {normal(f) for f in lines if f"Tuneforge-{stage}-" in f}
            for topic, lines in model.get("facts", {}).items()
        }
        flags = {
            (f["level"], f["topic"], normal(f["message"]))
            for f in model.get("flags", [])
            if f.get("stack", "").startswith(f"Tuneforge-{stage}-")
        }
        sides[stage] = (facts, flags)
    (base_facts, base_flags), (other_facts, other_flags) = sides[base], sides[other]
    topics = {}
    for topic in [*TOPIC_ORDER, *sorted(set(base_facts) | set(other_facts) - set(TOPIC_ORDER))]:
        added, removed = (
            sorted(other_facts.get(topic, set()) - base_facts.get(topic, set())),
            sorted(base_facts.get(topic, set()) - other_facts.get(topic, set())),
        )
        if added or removed:
            topics[topic] = {"added": added, "removed": removed}
    as_dicts = lambda flags: [{"level": lvl, "topic": t, "message": m} for lvl, t, m in sorted(flags)]  # noqa: E731
    return {
        "base": base,
        "stage": other,
        "topics": topics,
        "flags": {"added": as_dicts(other_flags - base_flags), "removed": as_dicts(base_flags - other_flags)},
    }
