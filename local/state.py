"""Process-wide emulator state: the clock, the fault plan, settings, background work in flight.

moto's backends are process-global, so the extensions' settings are too. ``Emulator`` (in-process) and
``local.server`` (server mode) each install one ``EmulatorState`` with :func:`install`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .clock import Clock
from .faults import Faults

if TYPE_CHECKING:  # dns_firewall imports this module
    from .dns_firewall import Resolver


@dataclass
class Settings:
    #: emulated seconds a customization job stays InProgress (before Completed/Failed/Stopped)
    job_duration: float = 3600.0
    #: emulated seconds from Stopping to Stopped
    stop_duration: float = 60.0
    #: emulated seconds a provisioned throughput stays Creating / a deployment stays Creating
    provisioned_duration: float = 600.0
    deployment_duration: float = 300.0
    evaluation_duration: float = 1800.0
    #: how Lambda handlers run: "inprocess" (default) or "subprocess" (server mode only)
    lambda_mode: str = "inprocess"
    #: extra attempts for asynchronous Lambda invocations (EventBridge targets), as Lambda does (2)
    async_retries: int = 2
    #: emulated seconds between asynchronous retries
    async_retry_delay: float = 60.0
    #: unused: lifecycle changes happen when they are due on the emulated clock (kept for old callers)
    tick_interval: float = 0.02
    #: endpoint URL of moto as seen from a Lambda subprocess (server mode)
    endpoint_url: str | None = None
    #: fire ``rate(...)`` scheduled rules on their own as emulated time passes (else: driver fires them)
    auto_schedule: bool = False
    #: authorization of every AWS call against the deployed policies: "enforce" (denials raise, as in
    #: AWS), "record" (denials are only recorded in local.authz.DENIALS) or "off"
    authorization: str = "enforce"
    #: the emulated account (what the authorization layer evaluates policies in)
    account: str = "123456789012"


@dataclass
class EmulatorState:
    clock: Clock = field(default_factory=Clock)
    faults: Faults = field(default_factory=Faults)
    settings: Settings = field(default_factory=Settings)
    #: background deliveries (EventBridge targets) not finished yet
    inflight: int = 0
    inflight_cv: threading.Condition = field(default_factory=threading.Condition)
    #: log of what the emulator did on its own (events delivered, lifecycle changes), newest last
    journal: list = field(default_factory=list)
    #: the emulator is shutting down: executions it aborts send no status-change events
    closing: bool = False
    #: scheduled rule ARN -> emulated time it last fired (or was first seen), for ``auto_schedule``
    schedule_marks: dict = field(default_factory=dict)
    #: the Route 53 Resolver DNS Firewall and query logging deployed (local.dns_firewall.Resolver), made on first use
    resolver: Resolver | None = None

    def note(self, event: str, /, **details) -> None:
        entry = {"t": self.clock.iso(), "event": event, **details}
        with self.inflight_cv:
            self.journal.append(entry)

    def begin(self) -> None:
        with self.inflight_cv:
            self.inflight += 1

    def end(self) -> None:
        with self.inflight_cv:
            self.inflight -= 1
            self.inflight_cv.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self.inflight_cv:
            return self.inflight_cv.wait_for(lambda: self.inflight == 0, timeout=timeout)


_current = EmulatorState()


def current() -> EmulatorState:
    return _current


def install(new: EmulatorState) -> EmulatorState:
    global _current
    _current = new
    return new
