"""The janitor: delete what a run left billing, retry what Bedrock refuses, report what must wait.

Cleanup (``lambdas.domain.cleanup``) deletes a run's endpoints when the run ends. What it cannot
delete, and the custom model of a run that was not promoted, stay in the run registry marked for a
sweep (``RunRegistry.mark_for_sweep``); the scheduled janitor visits only marked runs whose time has
come, so its work grows with what is left behind, never with the history of runs.

Per run it deletes the endpoints nobody promoted, then, once the model retention has passed and no
endpoint of the run serves it any more, the run's custom model. It never touches a promoted endpoint,
nor anything the profile's champion item names, nor the model of the champion's run. A refused delete
is retried with back-off (first retry after an hour, then twice as long each time, at most a day),
recorded per resource on the run item under ``janitor``. A committed throughput is not retried before
its term ends: it is reported once with its end date and visited again then. Whatever still bills
``alarm_after`` past the moment it should have been gone is overdue: reported on the topic at most
once a day per resource, and counted in the ``BillableLeftoversOverdue`` metric the alarm watches.

What Bedrock does, as this module relies on it (read 2026-12-04):

* A Provisioned Throughput with a commitment cannot be deleted before the commitment term is over;
  it is billed hourly until it is deleted, so after the term it must still be deleted:
  https://docs.aws.amazon.com/bedrock/latest/userguide/prov-throughput.html,
  https://docs.aws.amazon.com/bedrock/latest/userguide/prov-thru-delete.html,
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_DeleteProvisionedModelThroughput.html
* ``GetProvisionedModelThroughput`` returns ``commitmentExpirationTime``, "the timestamp for when the
  commitment term for the Provisioned Throughput expires":
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetProvisionedModelThroughput.html
* Deleting a Provisioned Throughput does not delete its custom model (prov-thru-delete.html above);
  a (distilled) custom model can be deleted only after the Provisioned Throughput or custom-model
  deployment serving it: https://docs.aws.amazon.com/bedrock/latest/userguide/model-customization-delete.html
* The deletes answer ``ConflictException`` (400), ``ValidationException`` or
  ``ResourceNotFoundException`` (404), among others:
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_DeleteCustomModel.html,
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_DeleteCustomModelDeployment.html and the
  DeleteProvisionedModelThroughput page above. No page says which of them a refusal uses (nor whether a
  throughput still Creating can be deleted), so every error but "not found" counts as a refusal to retry.

Clients are passed in (boto3 ``bedrock``, the registry, the champions ``Table``), so the same code runs
against AWS, moto and the offline emulator.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Final, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel

from lambdas.domain.awaiting_manifest import FolderLook, look_at_folder
from lambdas.domain.champion import current_champion
from lambdas.domain.endpoints import PROVISIONED, delete_endpoint
from lambdas.domain.registry import AWAITING_MANIFEST_PREFIX, RunRegistry

# The tag every model and endpoint of a run carries (``runs.lineage_tags``); the janitor's role may delete
# only what carries one of its stage's profiles (stacks/janitor.py).
PROFILE_TAG = "tuneforge:profile"
CUSTOM_MODEL: Final = "custom-model"
Kind = Literal["provisioned-throughput", "custom-model-deployment", "custom-model"]
State = Literal["deleted", "gone", "waiting", "refused", "committed", "kept"]
ENDED = frozenset({"SUCCEEDED", "FAILED", "REJECTED"})
# Reports of the same overdue resource are at least this far apart, however often the janitor runs.
NOTIFY_EVERY = timedelta(days=1)


class JanitorSettings(BaseModel):
    model_retention: timedelta = timedelta(days=7)
    alarm_after: timedelta = timedelta(hours=6)
    # The state machine's own timeout: a run older than this has ended, whatever its item says.
    execution_timeout: timedelta = timedelta(days=7)
    first_retry: timedelta = timedelta(hours=1)
    longest_retry: timedelta = timedelta(days=1)


class Leftover(BaseModel):
    """One billable resource of a run, as the janitor left it."""

    run_id: str
    profile: str
    kind: Kind
    arn: str
    state: State
    reason: str | None = None
    attempts: int = 0
    due_since: str | None = None  # when it should have been gone
    next_try: str | None = None
    commitment_ends: str | None = None
    blocked_by: str | None = None  # another leftover of the run that must go first; that one is reported
    overdue: bool = False
    notify: bool = False  # the handler reports it on the topic now

    @property
    def billing(self) -> bool:
        return self.state in ("waiting", "refused", "committed")


class RunSweep(BaseModel):
    run_id: str
    profile: str
    ended: bool
    leftovers: list[Leftover] = []
    next_sweep: str | None = None  # None: nothing left, the run left the janitor's index


def iso(moment: datetime) -> str:
    """The registry's time format (``runs.utc_now``), which the sweep index compares as text."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _recorded(value: str) -> datetime:
    """A time the janitor wrote itself (``iso``), so always readable."""
    parsed = _parse(value)
    if parsed is None:
        raise ValueError(f"the janitor's own record holds {value!r}, not a time")
    return parsed


def _promoted(item: dict[str, Any]) -> bool:
    """Promoted and still the champion: a retired champion's model is kept only for the retention."""
    return (item.get("outcome") == "promoted" or item.get("decision") == "PROMOTED") and not item.get("retired_at")


def _open_endpoints(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Endpoints nobody promoted that are not known to be gone: cleanup's or the janitor's to delete."""
    return [
        e
        for e in item.get("endpoints") or []
        if (e.get("arn") or e.get("name")) and not e.get("promoted") and not e.get("deleted_at")
    ]


def leaves_billable(item: dict[str, Any]) -> bool:
    """Whether a run that cleanup just finished still holds something billable for the janitor."""
    model_kept = bool(item.get("output_model_arn")) and not _promoted(item) and not item.get("model_deleted_at")
    return bool(_open_endpoints(item)) or model_kept


def _error(refused: ClientError) -> tuple[str, str]:
    error = refused.response.get("Error", {})
    return error.get("Code", "Error"), error.get("Message", str(refused))


def _not_found(refused: ClientError) -> bool:
    return _error(refused)[0] in ("ResourceNotFoundException", "NotFoundException")


class _Sweeper:
    def __init__(
        self,
        bedrock: Any,
        item: dict[str, Any],
        champion: dict[str, Any] | None,
        settings: JanitorSettings,
        now: datetime,
    ) -> None:
        self.bedrock, self.item, self.settings, self.now = bedrock, item, settings, now
        self.run_id, self.profile = item["run_id"], item.get("profile", "unknown")
        self.state: dict[str, dict[str, Any]] = dict(item.get("janitor") or {})
        champion = champion or {}
        self.protected = {
            champion.get(key) for key in ("invocable_arn", "provisioned_model_arn", "custom_model_arn")
        } - {None}
        self.champion_run = champion.get("run_id") == self.run_id
        self.leftovers: list[Leftover] = []

    # -- bookkeeping ---------------------------------------------------------------------------
    def _record(
        self,
        kind: Kind,
        arn: str,
        state: State,
        *,
        due: datetime,
        reason: str | None = None,
        next_try: datetime | None = None,
        commitment_ends: datetime | None = None,
        attempted: bool = False,
        blocked_by: str | None = None,
    ) -> Leftover:
        entry = dict(self.state.get(arn) or {"kind": kind, "attempts": 0})
        entry.setdefault("due_since", iso(due))
        if attempted:
            entry["attempts"] = int(entry.get("attempts", 0)) + 1
        if reason is not None:
            entry["last_error"] = reason
        leftover = Leftover(
            run_id=self.run_id,
            profile=self.profile,
            kind=kind,
            arn=arn,
            state=state,
            reason=reason,
            attempts=entry["attempts"],
            due_since=entry["due_since"],
            blocked_by=blocked_by,
        )
        if state in ("deleted", "gone", "kept"):
            entry.update(resolved=state, resolved_at=iso(self.now))
            entry.pop("next_try", None)
        elif blocked_by is not None:
            entry["next_try"] = leftover.next_try = iso(next_try or self.now + self.settings.first_retry)
        else:
            overdue_at = _recorded(entry["due_since"]) + self.settings.alarm_after
            leftover.overdue = self.now >= overdue_at
            if next_try is not None and not leftover.overdue:
                next_try = min(next_try, overdue_at)  # come back when it turns overdue, to report it then
            if commitment_ends is not None:
                entry["commitment_ends"] = leftover.commitment_ends = iso(commitment_ends)
                if "reported_at" not in entry:
                    entry["reported_at"] = iso(self.now)
                    leftover.notify = True
            if leftover.overdue:
                last = _parse(entry.get("notified_at"))
                if last is None or self.now - last >= NOTIFY_EVERY:
                    entry["notified_at"] = iso(self.now)
                    leftover.notify = True
            entry["next_try"] = leftover.next_try = iso(next_try or self.now + self.settings.first_retry)
        self.state[arn] = entry
        self.leftovers.append(leftover)
        return leftover

    def _back_off(self, arn: str) -> datetime:
        attempts = int((self.state.get(arn) or {}).get("attempts", 0)) + 1
        doubling: int = 2 ** (attempts - 1)  # attempts >= 1, so a whole number
        return self.now + min(self.settings.first_retry * doubling, self.settings.longest_retry)

    # -- endpoints -----------------------------------------------------------------------------
    def endpoint(self, entry: dict[str, Any], ended: datetime) -> None:
        identifier = entry.get("arn") or entry["name"]
        kind: Kind = entry["kind"]
        if identifier in self.protected:
            self._record(kind, identifier, "kept", due=ended, reason="the profile's champion serves from it")
            return
        try:
            if kind == PROVISIONED:
                described = self.bedrock.get_provisioned_model_throughput(provisionedModelId=identifier)
            else:
                described = self.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=identifier)
        except ClientError as failed:
            if _not_found(failed):
                entry["deleted_at"] = iso(self.now)
                self._record(kind, identifier, "gone", due=ended)
            else:
                self._record(
                    kind,
                    identifier,
                    "refused",
                    due=ended,
                    reason="{}: {}".format(*_error(failed)),
                    next_try=self._back_off(identifier),
                    attempted=True,
                )
            return
        term_ends = _parse(described.get("commitmentExpirationTime")) if kind == PROVISIONED else None
        if term_ends is not None and self.now < term_ends:
            # Bedrock refuses the delete until the term ends: report the date, come back then.
            self._record(
                kind,
                identifier,
                "committed",
                due=term_ends,
                reason=f"a {described.get('commitmentDuration', '')} commitment runs until {iso(term_ends)}",
                next_try=term_ends,
                commitment_ends=term_ends,
            )
            return
        try:
            delete_endpoint(self.bedrock, kind, identifier)
        except ClientError as refused:
            if _not_found(refused):
                entry["deleted_at"] = iso(self.now)
                self._record(kind, identifier, "gone", due=ended)
                return
            self._record(
                kind,
                identifier,
                "refused",
                due=term_ends or ended,
                reason="{}: {}".format(*_error(refused)),
                next_try=self._back_off(identifier),
                attempted=True,
            )
            return
        entry.update(deleted_at=iso(self.now), deleted_by="janitor")
        self._record(kind, identifier, "deleted", due=term_ends or ended)

    # -- the run's custom model ----------------------------------------------------------------
    def model(self, ended: datetime) -> None:
        arn = self.item.get("output_model_arn")
        if not arn or _promoted(self.item) or self.item.get("model_deleted_at"):
            return
        due = max(ended, _parse(self.item.get("retired_at")) or ended) + self.settings.model_retention
        if arn in self.protected or self.champion_run:
            self._record(CUSTOM_MODEL, arn, "kept", due=due, reason="the profile's champion was trained as this model")
            return
        if self.now < due:
            self._record(
                CUSTOM_MODEL,
                arn,
                "waiting",
                due=due,
                reason=f"kept for the model retention, until {iso(due)}",
                next_try=due,
            )
            return
        serving = [
            e.get("arn") or e["name"]
            for e in _open_endpoints(self.item)
            if (e.get("arn") or e.get("name")) not in self.protected
        ]
        if serving:
            # Bedrock refuses to delete a model an endpoint serves: try again with the endpoint, which is reported.
            waits = [_parse((self.state.get(endpoint) or {}).get("next_try")) for endpoint in serving]
            self._record(
                CUSTOM_MODEL,
                arn,
                "waiting",
                due=due,
                reason=f"{serving[0]} still serves it",
                next_try=min((w for w in waits if w), default=self._back_off(arn)),
                blocked_by=serving[0],
            )
            return
        try:
            self.bedrock.get_custom_model(modelIdentifier=arn)
            self.bedrock.delete_custom_model(modelIdentifier=arn)
        except ClientError as refused:
            if _not_found(refused):
                self.item["model_deleted_at"] = iso(self.now)
                self._record(CUSTOM_MODEL, arn, "gone", due=due)
                return
            self._record(
                CUSTOM_MODEL,
                arn,
                "refused",
                due=due,
                reason="{}: {}".format(*_error(refused)),
                next_try=self._back_off(arn),
                attempted=True,
            )
            return
        self.item["model_deleted_at"] = iso(self.now)
        self._record(CUSTOM_MODEL, arn, "deleted", due=due)


def ended_at(item: dict[str, Any], settings: JanitorSettings, now: datetime) -> datetime | None:
    """When the run ended, or None while it may still be running."""
    started = _parse(item.get("started_at"))
    if item.get("status") in ENDED:
        return _parse(item.get("finished_at")) or _parse(item.get("updated_at")) or started or now
    if started is not None and now >= started + settings.execution_timeout:
        return started + settings.execution_timeout
    return None


def sweep_run(
    bedrock: Any, registry: RunRegistry, champions: Any, run_id: str, *, settings: JanitorSettings, now: datetime
) -> RunSweep:
    """Delete what the run left billing, as far as Bedrock lets it now; record the rest and when to come back."""
    item = registry.get(run_id)
    if item is None:
        registry.clear_sweep(run_id)
        return RunSweep(run_id=run_id, profile="unknown", ended=True)
    profile = item.get("profile", "unknown")
    ended = ended_at(item, settings, now)
    if ended is None:
        started = _parse(item.get("started_at")) or now
        later = min(now + settings.first_retry, max(started + settings.execution_timeout, now))
        registry.mark_for_sweep(run_id, after=iso(later))
        return RunSweep(run_id=run_id, profile=profile, ended=False, next_sweep=iso(later))

    sweeper = _Sweeper(
        bedrock, item, current_champion(champions, profile) if profile != "unknown" else None, settings, now
    )
    for entry in _open_endpoints(item):  # the item's own entries: what the sweep learns is written back
        sweeper.endpoint(entry, ended)
    sweeper.model(ended)

    pending = [leftover for leftover in sweeper.leftovers if leftover.billing]
    fields: dict[str, Any] = {"janitor": sweeper.state}
    if item.get("endpoints"):
        fields["endpoints"] = item["endpoints"]
    if item.get("model_deleted_at"):
        fields["model_deleted_at"] = item["model_deleted_at"]
    registry.update(run_id, **fields)
    next_sweep = min((leftover.next_try for leftover in pending if leftover.next_try), default=None)
    deadlines = sorted(
        iso(_recorded(leftover.due_since) + settings.alarm_after)
        for leftover in pending
        if leftover.due_since and not leftover.blocked_by
    )
    if next_sweep is None:
        registry.clear_sweep(run_id)
    else:
        registry.mark_for_sweep(run_id, after=next_sweep, deadlines=deadlines)
    return RunSweep(run_id=run_id, profile=profile, ended=True, leftovers=sweeper.leftovers, next_sweep=next_sweep)


class SweepResult(BaseModel):
    runs: list[RunSweep] = []
    folders: list[FolderLook] = []  # dataset folders whose manifest was awaited (lambdas.domain.awaiting_manifest)
    overdue: int = 0  # billable resources of every marked run, past their bound now

    @property
    def leftovers(self) -> list[Leftover]:
        return [leftover for run in self.runs for leftover in run.leftovers]

    def count(self, state: State) -> int:
        return sum(1 for leftover in self.leftovers if leftover.state == state)


def sweep(
    bedrock: Any,
    registry: RunRegistry,
    champions: Any,
    *,
    settings: JanitorSettings,
    now: datetime,
    limit: int = 25,
    s3: Any = None,
    publish: Callable[[dict[str, Any]], None] | None = None,
) -> SweepResult:
    """One pass: the marked runs and dataset folders whose time has come (at most ``limit``, the longest waiting
    first). A folder is looked at through ``s3`` and its notice sent through ``publish``."""
    result = SweepResult()
    for run_id in registry.runs_due_for_sweep(now=iso(now), limit=limit):
        if run_id.startswith(AWAITING_MANIFEST_PREFIX):
            if s3 is None or publish is None:
                raise ValueError(f"{run_id} is a dataset folder: the sweep needs s3 and publish to look at it")
            result.folders.append(look_at_folder(s3, registry, run_id, publish=publish))
            continue
        result.runs.append(sweep_run(bedrock, registry, champions, run_id, settings=settings, now=now))
    result.overdue = registry.overdue_leftovers(now=iso(now))
    return result
