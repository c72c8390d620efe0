"""Apply every extension to moto (idempotent) and run the lifecycle ticker.

Import order matters only in that all patches must be in place before the first request; call
:func:`apply` once, early (``Emulator`` and ``local.server`` do).
"""

from __future__ import annotations

from . import (
    api_faults,
    authz,
    bedrock,
    cfn_ext,
    cfn_policies,
    converse_ext,
    dns_firewall,
    events_ext,
    lambda_runtime,
    sfn_ext,
    state,
)
from .clock import Clock, Source

MOTO_VERSION = "5.2.5"


def apply() -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local/ extends moto {MOTO_VERSION} internals but moto {moto.__version__} is installed; "
            "run tests/e2e/test_emulator_smoke.py and update the patch points"
        )
    sfn_ext.apply()
    lambda_runtime.apply()
    bedrock.apply()
    converse_ext.apply()
    events_ext.apply()
    cfn_ext.apply()
    dns_firewall.apply()
    api_faults.apply()
    cfn_policies.apply()
    authz.apply()


class Ticker:
    """Runs the emulated clock's scheduler (local.clock) with the lifecycle sources: Bedrock job and
    endpoint status changes (with their terminal events) and, with ``settings.auto_schedule``, the
    scheduled rules. ``tick()`` applies what is due at the current emulated time, now."""

    def __init__(self) -> None:
        self._clock: Clock | None = None

    @property
    def errors(self) -> list[str]:
        return self._clock.errors if self._clock is not None else []

    @staticmethod
    def sources() -> list[Source]:
        return [
            Source("bedrock", bedrock.next_due, bedrock.tick_all, drives=True),
            Source("schedules", events_ext.next_schedule_due, events_ext.tick_schedules, drives=False),
        ]

    def tick(self) -> None:
        bedrock.tick_all()
        if state.current().settings.auto_schedule:
            events_ext.tick_schedules()

    def start(self) -> None:
        self._clock = state.current().clock
        self._clock.start(self.sources())

    def stop(self) -> None:
        if self._clock is not None:
            self._clock.stop()
