"""Apply every extension to moto (idempotent) and run the lifecycle ticker.

Import order matters only in that all patches must be in place before the first request; call
:func:`apply` once, early (``Emulator`` and ``local.server`` do).
"""

from __future__ import annotations

import threading

from . import api_faults, authz, bedrock_ext, cfn_ext, cfn_policies, converse_ext, events_ext, lambda_runtime, sfn_ext, state

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
    bedrock_ext.apply()
    converse_ext.apply()
    events_ext.apply()
    cfn_ext.apply()
    api_faults.apply()
    cfn_policies.apply()
    authz.apply()


class Ticker:
    """Moves lifecycles forward on the emulated clock: job/endpoint statuses, terminal events, and
    (with ``settings.auto_schedule``) scheduled rules."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    def tick(self) -> None:
        bedrock_ext.tick_all()
        if state.current().settings.auto_schedule:
            events_ext.tick_schedules()

    def _run(self) -> None:
        while not self._stop.wait(state.current().settings.tick_interval):
            try:
                self.tick()
            except Exception as exc:  # keep ticking; surface it to the driver
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="emulator-ticker")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
