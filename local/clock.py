"""The emulated clock: how emulated seconds (Wait states, retries, job durations) map to wall time.

``scale`` is wall seconds per emulated second:

* ``scale=1``      real time (a 300 s Wait takes 300 s).
* ``scale=0.001``  1000x faster: an emulated 1-hour job takes 3.6 s, a Wait of 300 s takes 0.3 s.
* ``scale=0``      frozen: emulated time moves only when the driver calls :meth:`advance`, or when a
                   Wait state / retry backoff "sleeps" (it advances the clock by its duration instead
                   of blocking), so polling loops still terminate.

Timeouts (TimeoutSeconds, HeartbeatSeconds, execution timeout) are scaled by ``timeout_scale``, which
defaults to "not scaled": a timeout that fires early would change the outcome of a run, a Wait that
ends early does not.

Emulated time stands still while the emulator runs handler code (:meth:`hold`, used around every
Lambda invocation): a 200 ms cold start is nothing in AWS but would be 33 emulated minutes at
``scale=0.0001``, enough for a one-hour job to finish before the next state could park its task
token. Waits sleep until the emulated clock reaches their end, so :meth:`advance` also ends them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime, timezone


class Clock:
    def __init__(self, scale: float = 0.001, timeout_scale: float | None = None, start: float | None = None):
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = float(scale)
        self.timeout_scale = timeout_scale
        self._epoch0 = time.time() if start is None else start
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._holds = 0
        self._held_at = 0.0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    # -- reading -------------------------------------------------------------------------------
    def now(self) -> float:
        """Emulated time, seconds since the Unix epoch."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        if self.scale == 0:
            elapsed = 0.0
        else:
            mono = self._held_at if self._holds else time.monotonic()
            elapsed = (mono - self._mono0) / self.scale
        return self._epoch0 + elapsed + self._offset

    @contextlib.contextmanager
    def hold(self):
        """Stop emulated time from passing with wall time inside the block (re-entrant, shared)."""
        with self._lock:
            if self._holds == 0:
                self._held_at = time.monotonic()
            self._holds += 1
        try:
            yield
        finally:
            with self._changed:
                self._holds -= 1
                if self._holds == 0:
                    self._mono0 += time.monotonic() - self._held_at
                self._changed.notify_all()

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def iso(self) -> str:
        return self.now_dt().strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- moving ------------------------------------------------------------------------------
    def advance(self, seconds: float) -> float:
        """Jump emulated time forward; returns the new emulated time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._changed:
            self._offset += seconds
            self._changed.notify_all()
            return self._now_locked()

    def sleep(self, seconds: float, interrupt: threading.Event | None = None, stopped=None) -> None:
        """Let ``seconds`` of emulated time pass for the caller (a Wait state or a retry backoff);
        ``stopped()`` true (checked when ``interrupt`` fires, and every 50 ms) ends it early."""
        if seconds <= 0:
            return
        if self.scale == 0:
            self.advance(seconds)
            return
        target = self.now() + seconds
        while True:
            remaining = target - self.now()
            if remaining <= 0:
                return
            step = min(remaining * self.scale, 0.05)
            if stopped is not None and stopped():
                return
            if interrupt is not None:
                interrupt.wait(step)
            else:
                with self._changed:
                    self._changed.wait(step)

    def wall_seconds(self, emulated_seconds: float) -> float:
        return emulated_seconds * self.scale

    def scale_timeout(self, seconds: float) -> float:
        if self.timeout_scale is None:
            return seconds
        return max(seconds * self.timeout_scale, 0.01)
