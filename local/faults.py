"""Faults on demand. Each fault is armed by the driver and consumed when it fires.

API-level faults (any JSON service; meant for ``bedrock`` and ``bedrock-runtime``)::

    faults.throttle("CreateModelCustomizationJob", times=3)        # 3 x ThrottlingException, then success
    faults.deny("CreateProvisionedModelThroughput")                 # AccessDeniedException until cleared
    faults.api_error("GetModelCustomizationJob", "InternalServerException", 500, times=1)

Lifecycle faults (Bedrock control plane)::

    faults.fail_job(message="...")       # the next job (or the job named ``job_name``) ends Failed
    faults.stop_job()                    # ... ends Stopped (as if someone called StopModelCustomizationJob)
    faults.lose_job_event(times=1)       # the terminal EventBridge event of the next job is not delivered
    faults.fail_endpoint("provisioned")  # the next provisioned throughput ends Failed ("deployment" too)
    faults.stall_endpoint("provisioned") # the next provisioned throughput stays Creating until deleted
    faults.degrade_candidate()           # Converse on custom models answers badly: evaluation below the gate

Every fault that fires is appended to ``faults.fired`` (what, when, detail), for assertions.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass, field


@dataclass
class _ApiFault:
    service: str
    operation: str
    code: str
    status: int
    message: str
    remaining: int | None  # None: until cleared


@dataclass
class _Match:
    pattern: str | None  # fnmatch pattern on a name or ARN; None matches anything
    remaining: int | None
    payload: dict = field(default_factory=dict)

    def matches(self, *names: str) -> bool:
        return self.pattern is None or any(n and fnmatch.fnmatchcase(n, self.pattern) for n in names)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._api: list[_ApiFault] = []
            self._job_outcomes: list[_Match] = []
            self._lost_events: list[_Match] = []
            self._endpoint_failures: dict[str, list[_Match]] = {"provisioned": [], "deployment": [], "evaluation": []}
            self._endpoint_stalls: dict[str, list[_Match]] = {"provisioned": [], "deployment": []}
            self._degraded: list[_Match] = []
            self.fired: list[dict] = []

    # -- arming ------------------------------------------------------------------------------
    def api_error(
        self,
        operation: str,
        code: str,
        status: int,
        times: int | None = 1,
        service: str = "bedrock",
        message: str | None = None,
    ) -> None:
        with self._lock:
            self._api.append(_ApiFault(service, operation, code, status, message or f"{code} (emulated fault)", times))

    def throttle(self, operation: str, times: int = 1, service: str = "bedrock") -> None:
        self.api_error(
            operation,
            "ThrottlingException",
            429,
            times,
            service,
            "Too many requests, please wait before trying again. (emulated fault)",
        )

    def deny(self, operation: str, times: int | None = None, service: str = "bedrock") -> None:
        self.api_error(
            operation,
            "AccessDeniedException",
            403,
            times,
            service,
            f"User is not authorized to perform: {service}:{operation} (emulated fault)",
        )

    def fail_job(
        self, message: str = "Internal server error (emulated fault)", job_name: str | None = None, times: int = 1
    ) -> None:
        with self._lock:
            self._job_outcomes.append(_Match(job_name, times, {"status": "Failed", "message": message}))

    def stop_job(self, job_name: str | None = None, times: int = 1) -> None:
        with self._lock:
            self._job_outcomes.append(_Match(job_name, times, {"status": "Stopped", "message": None}))

    def lose_job_event(self, job_name: str | None = None, times: int | None = 1) -> None:
        with self._lock:
            self._lost_events.append(_Match(job_name, times))

    def fail_endpoint(
        self,
        kind: str = "provisioned",
        message: str = "Failed to create the endpoint (emulated fault)",
        name: str | None = None,
        times: int = 1,
    ) -> None:
        kinds = ["provisioned", "deployment"] if kind == "any" else [kind]
        with self._lock:
            for k in kinds:
                self._endpoint_failures[k].append(_Match(name, times, {"message": message}))

    def stall_endpoint(self, kind: str = "provisioned", name: str | None = None, times: int = 1) -> None:
        """The next endpoint of ``kind`` ("provisioned", "deployment" or "any") stays Creating until deleted."""
        kinds = ["provisioned", "deployment"] if kind == "any" else [kind]
        with self._lock:
            for k in kinds:
                self._endpoint_stalls[k].append(_Match(name, times))

    def degrade_candidate(self, mode: str = "wrong", model: str | None = None) -> None:
        """Custom models answer badly: ``wrong`` returns another record's answer, ``baseline`` the
        foundation model's generic answer. ``model``: fnmatch pattern on the custom-model ARN/name."""
        if mode not in ("wrong", "baseline"):
            raise ValueError("mode is 'wrong' or 'baseline'")
        with self._lock:
            self._degraded.append(_Match(model, None, {"mode": mode}))

    # -- consuming ---------------------------------------------------------------------------
    def _fire(self, what: str, **detail) -> None:
        self.fired.append({"fault": what, "at": time.time(), **detail})

    @staticmethod
    def _take(items: list[_Match], *names: str) -> _Match | None:
        for item in items:
            if item.matches(*names):
                if item.remaining is not None:
                    item.remaining -= 1
                    if item.remaining <= 0:
                        items.remove(item)
                return item
        return None

    def take_api_fault(self, service: str, operation: str) -> _ApiFault | None:
        with self._lock:
            for fault in self._api:
                if fault.service == service and fault.operation == operation:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._api.remove(fault)
                    self._fire(fault.code, service=service, operation=operation)
                    return fault
        return None

    def take_job_outcome(self, job_name: str, job_arn: str) -> dict | None:
        with self._lock:
            item = self._take(self._job_outcomes, job_name, job_arn)
            if item:
                self._fire("job_" + item.payload["status"].lower(), job=job_arn)
                return item.payload
        return None

    def take_lost_event(self, job_name: str, job_arn: str) -> bool:
        with self._lock:
            item = self._take(self._lost_events, job_name, job_arn)
            if item:
                self._fire("lost_job_event", job=job_arn)
            return item is not None

    def take_endpoint_failure(self, kind: str, name: str) -> str | None:
        with self._lock:
            item = self._take(self._endpoint_failures[kind], name)
            if item:
                self._fire(f"{kind}_failed", name=name)
                return item.payload["message"]
        return None

    def take_endpoint_stall(self, kind: str, name: str) -> bool:
        with self._lock:
            item = self._take(self._endpoint_stalls.get(kind, []), name)
            if item:
                self._fire(f"{kind}_stalled", name=name)
            return item is not None

    def degradation(self, *names: str) -> str | None:
        with self._lock:
            for item in self._degraded:
                if item.matches(*names):
                    return item.payload["mode"]
        return None
