"""One champion per profile, by a stated rule, whatever order runs finish in.

The rule: **a profile's champion is the promoted model of the most recently uploaded dataset.** Runs
are ordered by when S3 reported their upload (the ``Object Created`` event's ``time``, for a manifest
the manifest's), then by the event's ``sequencer``, then by run id, so two uploads never tie. A run that
passes its gate after a newer upload's run was promoted is *superseded*: it buys no throughput, or
gives back what it bought, and the champion stays.

Runs of one profile may train at the same time (each upload is its own run; Bedrock's job quota bounds
them); they meet only here. The champion item is written with a condition on the item it replaces
(optimistic concurrency), so two promotions finishing together are serialized: one wins, the other
re-reads and either replaces the winner (it is newer) or is superseded by it.

S3 sequencers are hexadecimal strings to be compared after padding the shorter with leading zeros
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html, read
2026-12-04); they order events of one key, so across keys they only break ties deterministically.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel

from lambdas.domain.registry import from_dynamodb, is_conditional_failure
from lambdas.domain.runs import RunInput

_SEQUENCER_WIDTH = 32
MAX_ATTEMPTS = 8  # conditional writes lost in a row before giving up (each loss means another run won)


def upload_order(run: RunInput) -> str:
    """A string that sorts runs of a profile by upload; the run's own start time when the event had none."""
    dataset = run.dataset
    sequencer = (dataset.sequencer or "").rjust(_SEQUENCER_WIDTH, "0")
    return f"{dataset.uploaded_at or run.started_at}|{sequencer}|{run.run_id}"


class ChampionDecision(BaseModel):
    won: bool
    champion: dict[str, Any] | None  # the champion item after the decision
    replaced: dict[str, Any] | None = None  # the item this run replaced, when it won
    reason: str = ""


def current_champion(champions: Any, profile: str) -> dict[str, Any] | None:
    item = champions.get_item(Key={"profile": profile}, ConsistentRead=True).get("Item")
    return from_dynamodb(item) if item else None


def newer_champion(champions: Any, run: RunInput) -> dict[str, Any] | None:
    """The profile's champion when it comes from a newer upload than ``run`` (the run is superseded)."""
    current = current_champion(champions, run.profile.name)
    if current and current.get("run_id") != run.run_id and current.get("upload_order", "") > upload_order(run):
        return current
    return None


def claim_champion(
    champions: Any,
    run: RunInput,
    item: dict[str, Any],
    *,
    before_write: Callable[[dict[str, Any] | None], None] | None = None,
) -> ChampionDecision:
    """Make ``item`` the profile's champion unless a newer upload's run holds it (``champions`` is a
    boto3 DynamoDB Table resource).

    ``before_write`` is called with the item about to be replaced, before each attempt to replace it,
    so the caller can remember it (a retried step must still know what to retire).
    """
    mine = upload_order(run)
    item = {**item, "profile": run.profile.name, "run_id": run.run_id, "upload_order": mine}
    for _ in range(MAX_ATTEMPTS):
        current = current_champion(champions, run.profile.name)
        if current and current.get("run_id") == run.run_id:
            return ChampionDecision(won=True, champion=current, reason="already the champion (a retried step)")
        if current and current.get("upload_order", "") > mine:
            return ChampionDecision(
                won=False,
                champion=current,
                reason=f"superseded: run {current.get('run_id')} of a newer upload is the champion",
            )
        if before_write is not None:
            before_write(current)
        if current is None:
            condition: dict[str, Any] = {
                "ConditionExpression": "attribute_not_exists(#profile)",
                "ExpressionAttributeNames": {"#profile": "profile"},
            }
        else:
            condition = {
                "ConditionExpression": "#run_id = :previous",
                "ExpressionAttributeNames": {"#run_id": "run_id"},
                "ExpressionAttributeValues": {":previous": current["run_id"]},
            }
        try:
            champions.put_item(Item=item, **condition)
        except Exception as error:
            if not is_conditional_failure(error):
                raise
            continue  # another promotion got there between the read and the write: decide again
        return ChampionDecision(won=True, champion=item, replaced=current)
    raise RuntimeError(f"could not settle the champion of {run.profile.name} after {MAX_ATTEMPTS} conflicting writes")


def publish_champion(champions: Any, ssm: Any, profile: str, parameter: str) -> str | None:
    """Point the profile's parameter at the champion the table holds, until the two agree: two
    promotions may write the parameter out of order, but the last writer always leaves the table's."""
    for _ in range(MAX_ATTEMPTS):
        arn = (current_champion(champions, profile) or {}).get("invocable_arn")
        if not arn:
            return None
        ssm.put_parameter(
            Name=parameter,
            Value=arn,
            Type="String",
            Overwrite=True,
            Description=f"tuneforge champion of {profile}: invoke this ARN",
        )
        if (current_champion(champions, profile) or {}).get("invocable_arn") == arn:
            return str(arn)
    raise RuntimeError(f"the champion of {profile} kept changing while its parameter was written")
