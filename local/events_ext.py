"""EventBridge delivery to Lambda and Step Functions targets, which moto does not do.

moto evaluates rule patterns (``EventPattern.matches_event``) and delivers to logs, SQS, buses,
archives and API destinations; any other target raised ``NotImplementedError`` (and the S3 path
swallowed it). ``Rule.send_to_targets`` is wrapped: for an ENABLED rule whose pattern matches, Lambda
and state-machine targets get the event (after ``Input`` / ``InputPath`` / ``InputTransformer``)
asynchronously, as EventBridge does: a Lambda target is invoked with InvocationType=Event (errors
are retried ``settings.async_retries`` times, ``async_retry_delay`` emulated seconds apart), a state
machine target gets a StartExecution with a generated name. Other targets go to moto unchanged.

S3 -> EventBridge: moto's event detail is replaced by the shape S3 sends (the key URL-encoded, ``etag``,
a per-key increasing ``sequencer``, ``reason``: ``PutObject`` ...; sources beside the code), and it is
sent to the default bus only, as S3 does.

Scheduled rules (``rate(...)``/``cron(...)``) fire when the driver calls :func:`fire_scheduled_rules`
or, with ``settings.auto_schedule``, whenever a ``rate`` period of emulated time has passed
(:func:`next_schedule_due` tells the emulated clock when; it fires them on the way to the next
timer, never on their own, see local.clock).
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote_plus

from . import state
from .clock import BusyThread
from .monkey import replace

if TYPE_CHECKING:
    from moto.events.models import EventsBackend
    from moto.events.utils import EventMessageType

_APPLIED = False
_ORIGINAL_SEND: Any = None  # moto's Rule.send_to_targets, kept by apply()


def _iso(ts: Any) -> Any:
    if isinstance(ts, (int, float)):
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(ts, datetime):
        return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ts


def _as_delivered(event: dict) -> dict:
    out = copy.deepcopy(event)
    out["time"] = _iso(out.get("time"))
    out.pop("ingestion-time", None)
    out.setdefault("version", "0")
    return out


def target_input(target: dict, event: dict) -> Any:
    """What EventBridge hands the target: the event, ``Input``, ``InputPath`` or ``InputTransformer``."""
    delivered = _as_delivered(event)
    if target.get("Input") is not None:
        try:
            return json.loads(target["Input"])
        except ValueError:
            return target["Input"]
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(delivered)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        from jsonpath_ng.ext import parse

        template = transformer.get("InputTemplate") or ""
        values = {}
        for name, path in (transformer.get("InputPathsMap") or {}).items():
            matches = parse(path).find(delivered)
            values[name] = matches[0].value if matches else None
        values["aws.events.event.json"] = delivered
        values["aws.events.event.ingestion-time"] = delivered.get("time")
        values["aws.events.rule-arn"] = event.get("_rule_arn")
        return _render_template(template, values)
    return delivered


def _render_template(template: str, values: dict) -> Any:
    """EventBridge's rule: a placeholder inside a JSON string gets the raw text, outside it the JSON."""
    out = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == '"' and (i == 0 or template[i - 1] != "\\"):
            in_string = not in_string
        if ch == "<":
            end = template.find(">", i)
            name = template[i + 1 : end] if end > 0 else None
            if name is not None and name in values:
                value = values[name]
                if in_string:
                    text = value if isinstance(value, str) else json.dumps(value)
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        out.append(ch)
        i += 1
    rendered = "".join(out)
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered


# ------------------------------------------------------------------------------------------------
def _is_ours(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 5 and (parts[2] == "lambda" or (parts[2] == "states" and parts[5] == "stateMachine"))


def _deliver(target: dict, payload: Any, account: str, region: str, rule_arn: str) -> None:
    st = state.current()
    arn = target["Arn"]
    service = arn.split(":")[2]
    target_region = arn.split(":")[3] or region
    target_account = arn.split(":")[4] or account
    try:
        from .authz import services
        from .authz.world import World

        refused = services.events_may_deliver(target, rule_arn, World(target_account, target_region))
        if refused:
            st.note("events.delivery_failed", rule=rule_arn, target=arn, error=f"AccessDenied: {refused}")
            return
        if service == "lambda":
            from moto.awslambda.utils import get_backend

            fn = get_backend(target_account, target_region).get_function(arn)
            for attempt in range(1 + max(0, st.settings.async_retries)):
                headers: dict = {}
                fn.invoke(json.dumps(payload), {"x-amz-invocation-type": "Event"}, headers)
                errored = "x-amz-function-error" in headers
                st.note("events.delivered", rule=rule_arn, target=arn, attempt=attempt + 1, errored=errored)
                if not errored:
                    break
                if attempt < st.settings.async_retries:
                    st.clock.sleep(st.settings.async_retry_delay)
        else:
            from .sfn_ext import backend

            execution = backend(target_account, target_region).start_execution(
                arn, name=None, execution_input=json.dumps(payload)
            )
            st.note("events.delivered", rule=rule_arn, target=arn, execution=execution.execution_arn)
    except Exception as exc:  # delivery is best effort, as in AWS; keep a trace
        st.note("events.delivery_failed", rule=rule_arn, target=arn, error=f"{type(exc).__name__}: {exc}")
    finally:
        st.end()


def deliver_async(rule, event: dict, targets: list[dict]) -> None:
    st = state.current()
    for target in targets:
        ev = dict(event)
        ev["_rule_arn"] = rule.arn
        payload = target_input(target, ev)
        st.begin()
        # A BusyThread: the delivery counts as work from now on, so the clock cannot move before it ran.
        thread = BusyThread(
            target=_deliver,
            args=(target, payload, rule.account_id, rule.region_name, rule.arn),
            daemon=True,
            name="eb-delivery",
        )
        thread.start()


def send_to_targets(self, original_event: dict, transform_input: bool = True) -> None:
    if getattr(self, "state", "ENABLED") != "ENABLED":
        return
    if self.scheduled_expression and not getattr(self.event_pattern, "_pattern", None):
        return  # a schedule rule matches no events (moto's empty pattern matches every event)
    if not self.event_pattern.matches_event(original_event):
        return
    ours = [t for t in self.targets if _is_ours(t["Arn"])]
    others = [t for t in self.targets if not _is_ours(t["Arn"])]
    if others:
        from .authz import services
        from .authz.world import World

        refused = {
            t["Arn"]: services.events_may_deliver(t, self.arn, World(self.account_id, self.region_name)) for t in others
        }
        for arn, reason in refused.items():
            if reason:
                state.current().note(
                    "events.delivery_failed", rule=self.arn, target=arn, error=f"AccessDenied: {reason}"
                )
        others = [t for t in others if not refused[t["Arn"]]]
    if others:
        clone = copy.copy(self)
        clone.targets = others
        _ORIGINAL_SEND(clone, original_event, transform_input)
    if ours:
        deliver_async(self, original_event, ours)


def put_event(
    account_id: str,
    region: str,
    source: str,
    detail_type: str,
    detail: dict,
    resources: list[str],
    time: float | None = None,
    bus: str = "default",
) -> None:
    """Put an AWS service event on a bus, the way the service would (rules matched, targets served)."""
    from moto.events.models import events_backends

    entry: dict[str, Any] = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "Resources": resources,
        "EventBusName": bus,
    }
    if time is not None:
        entry["Time"] = time
    events_backends[account_id][region].put_events([entry])


# ------------------------------------------------------------------------------------------------
_LAST_CREATED = threading.local()
_S3_REASONS = {
    "Put": "PutObject",
    "Post": "POST Object",
    "Copy": "CopyObject",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}
_SEQUENCERS: dict[tuple[str, str, str], int] = {}
_SEQUENCER_LOCK = threading.Lock()

# The S3 -> EventBridge event, field by field as S3 sends it. Sources (read 2026-12-03):
#   [EB] https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html  (EventBridge event message
#        structure): detail.version "0", event-version, bucket.name, object.key / size / etag (no quotes) /
#        version-id (versioned buckets) / sequencer, request-id ("Request ID in S3 response"), requester
#        ("AWS account ID or AWS service principal of requester"), source-ip-address ("only present for
#        events triggered by an S3 request"), reason (Object Created: PutObject | POST Object | CopyObject
#        | CompleteMultipartUpload; Object Deleted: DeleteObject, with deletion-type "Permanently Deleted"
#        or "Delete Marker Created", and no size). [EB] does not say how object.key is encoded.
#   [N]  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html (S3 event
#        notification structure): "The object key name value is URL encoded. For example, 'red flower.jpg'
#        becomes 'red+flower.jpg'" (application/x-www-form-urlencoded: space -> '+', '+' -> '%2B', UTF-8
#        bytes -> %XX); the sequencer is "a string representation of a hexadecimal value", greater = later,
#        comparable only between events on the same key (right-pad the shorter with zeros, then compare).
#   AWS's Powertools for Lambda (Python), S3EventBridgeNotificationObject.key, reads detail.object.key with
#   unquote_plus: the EventBridge key is taken to be encoded as in [N]. '/' stays as is (public samples of
#   both shapes show paths with plain slashes). Which other ASCII punctuation S3 leaves unencoded is not
#   documented; here it is Python's quote_plus set (letters, digits, '_.-~' and '/'), and consumers decode
#   with unquote_plus, which reads either.


def s3_event_key(key: str) -> str:
    """``detail.object.key`` as S3 writes it (see [N] above): form-URL-encoded, '/' kept."""
    return quote_plus(key, safe="/")


def _sequencer(account_id: str, bucket: str, key: str) -> str:
    """18 upper-case hex digits as in S3's samples (``0064D3901D00059242``: 00 + the epoch second + a
    counter), strictly greater than the last one for the same key, as [N] promises."""
    with _SEQUENCER_LOCK:
        candidate = (int(state.current().clock.now()) & 0xFFFFFFFF) << 32
        last = _SEQUENCERS.get((account_id, bucket, key), -1)
        value = max(candidate, last + 1)
        _SEQUENCERS[(account_id, bucket, key)] = value
    return f"00{value:016X}"


def _request_id() -> str:
    return "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(16))


def _s3_event_bridge_message(account_id: str, bucket, event_name: str, key) -> None:
    from moto.events.models import events_backends
    from moto.s3.notifications import _detail_type

    try:
        kind = event_name.split(":")[1]
        action = event_name.split(":")[-1]
        this = (bucket.name, key.name, key.version_id, threading.get_ident())
        if kind in ("ObjectAcl", "ObjectTagging") and getattr(_LAST_CREATED, "key", None) == this:
            return  # moto sets the ACL and tags of every new object through calls that notify; S3 does not
        _LAST_CREATED.key = this if kind == "ObjectCreated" else None
        obj: dict[str, Any] = {
            "key": s3_event_key(key.name),
            "size": key.size,
            "etag": (getattr(key, "etag", "") or "").replace('"', ""),
        }
        if key.version_id and key.version_id != "null":
            obj["version-id"] = key.version_id
        if kind in ("ObjectCreated", "ObjectRemoved"):
            obj["sequencer"] = _sequencer(account_id, bucket.name, key.name)
        detail: dict[str, Any] = {
            "version": "0",
            "event-version": "1.0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": _request_id(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
        }
        if kind == "ObjectCreated":
            detail["reason"] = _S3_REASONS.get(action, action)
        elif kind == "ObjectRemoved":
            obj.pop("size", None)
            detail["reason"] = "DeleteObject"
            detail["deletion-type"] = (
                "Delete Marker Created" if type(key).__name__ == "FakeDeleteMarker" else "Permanently Deleted"
            )
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": _detail_type(event_name),
            "source": "aws.s3",
            "account": account_id,
            "time": state.current().clock.now(),
            "region": bucket.region_name,
            "resources": [bucket.arn],
            "detail": detail,
            "ingestion-time": state.current().clock.now(),
        }
        bus = events_backends[account_id][bucket.region_name].event_buses.get("default")
        for rule in list(bus.rules.values()) if bus else []:
            rule.send_to_targets(cast("EventMessageType", event), transform_input=False)
    except Exception as exc:  # as in AWS, the upload succeeds whatever happens here
        state.current().note("events.s3_failed", error=f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------------------------
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")


def rate_seconds(expression: str | None) -> float | None:
    match = _RATE.match((expression or "").strip())
    if not match:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


def _scheduled_rules(account_id: str | None = None, region: str | None = None):
    from moto.events.models import events_backends

    for acct, reg, backend in list(events_backends.iter_backends()):
        if (account_id and acct != account_id) or (region and reg != region):
            continue
        for bus in list(cast("EventsBackend", backend).event_buses.values()):
            for rule in list(bus.rules.values()):
                if rule.scheduled_expression and rule.state == "ENABLED":
                    yield rule


def _fire(rule) -> None:
    st = state.current()
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": st.clock.now(),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
        "ingestion-time": st.clock.now(),
    }
    st.schedule_marks[rule.arn] = st.clock.now()
    st.note("events.scheduled", rule=rule.arn)
    ours = [t for t in rule.targets if _is_ours(t["Arn"])]
    others = [t for t in rule.targets if not _is_ours(t["Arn"])]
    if others:
        clone = copy.copy(rule)
        clone.targets = others
        clone.event_pattern = type(rule.event_pattern).load(None)
        _ORIGINAL_SEND(clone, event, True)
    deliver_async(rule, event, ours)


def fire_scheduled_rules(
    name_contains: str | None = None, account_id: str | None = None, region: str | None = None
) -> list[str]:
    """Fire every enabled scheduled rule now (optionally only those whose name contains a string)."""
    fired = []
    for rule in _scheduled_rules(account_id, region):
        if name_contains and name_contains not in rule.name:
            continue
        _fire(rule)
        fired.append(rule.arn)
    return fired


def _rate_rules():
    st = state.current()
    now = st.clock.now()
    for rule in _scheduled_rules():
        period = rate_seconds(rule.scheduled_expression)
        if period is not None:
            yield rule, st.schedule_marks.setdefault(rule.arn, now) + period


def tick_schedules() -> None:
    """Fire every ``rate(...)`` rule whose period has passed since it last fired (or was first seen)."""
    now = state.current().clock.now()
    for rule, due in list(_rate_rules()):
        if due <= now:
            _fire(rule)


def next_schedule_due() -> float | None:
    """Emulated time the next ``rate(...)`` rule is due (None without ``settings.auto_schedule``)."""
    if not state.current().settings.auto_schedule:
        return None
    return min((due for _rule, due in _rate_rules()), default=None)


def apply() -> None:
    global _APPLIED, _ORIGINAL_SEND
    if _APPLIED:
        return
    from moto.events import models as events_models
    from moto.s3 import notifications

    _ORIGINAL_SEND = events_models.Rule.send_to_targets
    replace(events_models.Rule, "send_to_targets", send_to_targets)
    replace(notifications, "_send_event_bridge_message", _s3_event_bridge_message)
    _APPLIED = True
