"""The emulated clock: discrete-event virtual time.

Emulated time never passes with wall time. It stands still while anything in the emulator works
(an API request, a Lambda handler, a Step Functions state between two waits, an EventBridge
delivery) and jumps, once nothing is working, straight to the next thing that is due:

* a thread waiting on the clock: a Wait state's end, a Retry backoff, a heartbeat or
  ``TimeoutSeconds``, an execution's timeout, an asynchronous delivery's retry delay;
* a *source* registered with :meth:`Clock.start`: a Bedrock job finishing, a provisioned throughput
  or deployment becoming ready, a scheduled rule's next firing (``settings.auto_schedule``).

So a run's outcome does not depend on how fast the machine is: a cold Lambda that takes 3 s of wall
time takes no emulated time, and a 4-hour execution timeout fires after exactly 4 emulated hours of
waits, however long the handlers took.

Two modes (``auto``):

* ``auto=True``   time moves on its own whenever the emulator is idle and something is due. Scheduled
                  rules fire on the way to the next due timer or lifecycle change, but never on
                  their own: with nothing else pending, the clock stops (a finished run does not
                  make the clock race through days of fallback checks).
* ``auto=False``  manual: time moves only when the driver calls :meth:`advance` (what is due on the
                  way happens in order, each step once the emulator is idle again); what is due *now*
                  still happens.

``scale`` and ``timeout_scale`` are kept for the constructor's old signature: ``scale=0`` means
manual (it used to mean "frozen"), any other value means auto; ``timeout_scale`` is ignored
(timeouts are emulated durations like every other wait, so nothing needs scaling).

Accounting: a thread is *busy* inside :meth:`busy` (alias :meth:`hold`) and for the whole life of a
:class:`BusyThread`, except while it waits on the clock (:meth:`sleep`, :class:`VirtualEvent`,
:meth:`BusyThread.join`). Whoever wakes a waiter (a timer firing, ``VirtualEvent.set``, a joined
thread ending) hands it its busy count back before anyone else can look, so there is no gap in
which the clock could jump between "a task token arrived" and "the task went on".

A thread that blocks on anything else (a plain lock, a wall-clock sleep, a subprocess) stays busy,
so the clock waits for it: handler code that polls with ``time.sleep`` holds emulated time still,
as handler time always did here.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import threading
import time
import types
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

_THREAD = threading.local()  # .clock: the clock a BusyThread was started under


def current() -> "Clock":
    """The clock of the calling thread: the one its BusyThread was started under, else the emulator's."""
    clock = getattr(_THREAD, "clock", None)
    if clock is not None:
        return clock
    from . import state

    return state.current().clock


class EmulatorBusy(TimeoutError):
    """The emulator did not become idle within the wall-clock timeout (something is stuck working)."""


@dataclass
class Source:
    """Something that becomes due by itself: ``next_due()`` is the emulated time of its next change
    (None: nothing pending), ``fire()`` applies everything due at the clock's current time.
    ``drives``: its dues move time on their own (False for scheduled rules, see the module doc)."""

    name: str
    next_due: Callable[[], float | None]
    fire: Callable[[], None]
    drives: bool = True


@dataclass(eq=False, slots=True)  # eq=False: each waiter is its own key in the waiter dicts
class _Waiter:
    due: float | None
    seq: int
    tokens: int
    event: Any  # the VirtualEvent waited on, or None
    label: str
    cond: threading.Condition
    woken: bool = False
    signaled: bool = False


class Clock:
    def __init__(
        self,
        scale: float = 0.001,
        timeout_scale: float | None = None,
        start: float | None = None,
        *,
        auto: bool | None = None,
    ):
        if scale < 0:
            raise ValueError("scale must be >= 0")
        self.scale = float(scale)
        self.timeout_scale = timeout_scale  # accepted for compatibility; timeouts are not scaled
        self.auto = (self.scale != 0) if auto is None else bool(auto)
        self._now = float(time.time() if start is None else start)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # busy count or epoch changed
        self._busy = 0
        self._epoch = 0  # bumped on every change a mover must look at again
        self._waiters: dict[_Waiter, None] = {}
        self._seq = itertools.count()
        self._sources: list[Source] = []
        self._spent: dict[int, float] = {}  # source index -> a due it fired without consuming
        self._closed = False
        self._driven = False  # a scheduler runs: waits block; else a wait moves time itself
        self._mover = threading.RLock()
        self._tls = threading.local()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.jumps = 0
        self.errors: list[str] = []

    # -- reading -------------------------------------------------------------------------------
    def now(self) -> float:
        """Emulated time, seconds since the Unix epoch."""
        return self._now

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self._now, tz=timezone.utc)

    def iso(self) -> str:
        return self.now_dt().strftime("%Y-%m-%dT%H:%M:%SZ")

    def busy_count(self) -> int:
        return self._busy

    def pending(self) -> list[tuple[float | None, str]]:
        """(due, label) of every thread waiting on the clock, for debugging."""
        with self._lock:
            return sorted(((w.due, w.label) for w in self._waiters), key=lambda p: (p[0] is None, p[0] or 0))

    # -- busy accounting -------------------------------------------------------------------------
    def _depth(self) -> int:
        return getattr(self._tls, "depth", 0)

    def _acquire(self, n: int = 1) -> None:
        with self._lock:
            self._busy += n

    def _release(self, n: int = 1) -> None:
        with self._lock:
            self._busy -= n
            self._epoch += 1
            self._changed.notify_all()

    @contextlib.contextmanager
    def busy(self):
        """The block is work: emulated time does not move until it ends (re-entrant)."""
        self._acquire(1)
        self._tls.depth = self._depth() + 1
        try:
            yield
        finally:
            self._tls.depth -= 1
            self._release(1)

    hold = busy  # the name the extensions used when time still passed with wall time

    # -- waiting ---------------------------------------------------------------------------------
    def _wait(self, due: float | None, event: "VirtualEvent | None" = None, label: str = "") -> bool:
        """Block until ``event`` is set (True) or emulated time reaches ``due`` (False). The caller
        is not busy meanwhile."""
        with self._lock:
            if event is not None and event._flag:
                return True
            if self._closed or (due is not None and due <= self._now):
                return False
            if due is not None and not self._driven:
                # Nobody moves time (a bare Clock, as in unit tests): the wait moves it.
                self._now = due
                self._epoch += 1
                return False
            w = _Waiter(due, next(self._seq), self._depth(), event, label, threading.Condition(self._lock))
            self._waiters[w] = None
            if event is not None:
                event._waiters[w] = None
            self._busy -= w.tokens
            self._epoch += 1
            self._changed.notify_all()
            while not w.woken:
                w.cond.wait()
            return w.signaled

    def _wake(self, w: _Waiter, signaled: bool) -> None:  # under self._lock
        if w.woken:
            return
        w.woken, w.signaled = True, signaled
        self._waiters.pop(w, None)
        if w.event is not None:
            w.event._waiters.pop(w, None)
        self._busy += w.tokens
        self._epoch += 1
        w.cond.notify()

    def sleep(
        self,
        seconds: float,
        interrupt: "VirtualEvent | None" = None,
        stopped: Callable[[], bool] | None = None,
        label: str = "sleep",
    ) -> None:
        """Let ``seconds`` of emulated time pass for the caller (a Wait state, a retry backoff).
        ``interrupt`` (a VirtualEvent) wakes it early to check ``stopped()``; true ends the sleep."""
        if seconds <= 0:
            return
        due = self._now + seconds
        event = interrupt if isinstance(interrupt, VirtualEvent) and interrupt._bind() is self else None
        while True:
            if stopped is not None and stopped():
                return
            if self._closed or self._now >= due:
                return
            woke = self._wait(due, event, label)
            if woke and event is not None and event._flag:
                event = None  # left set: do not spin on it

    # -- moving ----------------------------------------------------------------------------------
    def _quiet(self, deadline: float | None) -> int:
        """Wait until nothing but the caller is busy; returns the epoch seen then."""
        own = self._depth()
        with self._lock:
            while self._busy > own and not self._closed and not (deadline is None and self._stop.is_set()):
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise EmulatorBusy(f"the emulator is still busy ({self._busy - own} at work)")
                    self._changed.wait(min(remaining, 0.5))
                else:
                    self._changed.wait(0.5)
            return self._epoch

    def _step(self, limit: float, drive: bool | None, deadline: float | None) -> bool:
        """Once the emulator is idle, apply the earliest due thing if it is due by ``limit`` (or by
        now), or whatever it is when ``drive`` and something pending drives time. False: nothing."""
        own = self._depth()
        while True:
            if self._closed or (deadline is None and self._stop.is_set()):
                return False
            epoch = self._quiet(deadline)
            candidates: list[tuple] = []
            for index, source in enumerate(self._sources):
                try:
                    due = source.next_due()
                except Exception as exc:  # keep time going; surface it to the driver
                    self.errors.append(f"{source.name}: {type(exc).__name__}: {exc}")
                    due = None
                if due is None or not math.isfinite(due) or self._spent.get(index) == due:
                    continue
                self._spent.pop(index, None)
                candidates.append((due, 0, index, source))
            with self._lock:
                if self._busy > own or self._epoch != epoch:
                    continue  # something happened meanwhile: look again
                candidates += [(w.due, 1, w.seq, w) for w in self._waiters if w.due is not None]
                if not candidates:
                    return False
                due, kind, index, item = min(candidates, key=lambda c: c[:3])
                driving = any(c[1] == 1 or c[3].drives for c in candidates)
                # None: the scheduler's own step, which drives time only if the clock is in auto mode at
                # this moment (read under the lock, so a pause() that returned is never overtaken)
                drives = self.auto if drive is None else drive
                if not (due <= max(limit, self._now) or (drives and driving)):
                    return False
                if due > self._now:
                    self._now = due
                    self.jumps += 1
                self._epoch += 1
                if kind == 1:
                    self._wake(item, False)
                    return True
            with self.busy():
                try:
                    item.fire()
                except Exception as exc:
                    self.errors.append(f"{item.name}: {type(exc).__name__}: {exc}")
            try:
                if item.next_due() == due and due <= self._now:
                    self._spent[index] = due  # fired, still due: do not fire it again for this due
            except Exception:
                pass
            return True

    def advance(self, seconds: float, timeout: float = 120.0) -> float:
        """Let ``seconds`` of emulated time pass: everything due on the way happens in order, each
        once the emulator is idle again. Returns the new emulated time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        deadline = time.monotonic() + timeout
        with self._mover:
            target = self._now + seconds
            while self._step(target, False, deadline):
                pass
            with self._lock:
                if target > self._now:
                    self._now = target
                    self._epoch += 1
                self._changed.notify_all()
            return self._now

    def settle(self, timeout: float = 60.0) -> float:
        """Return once the emulator is idle and nothing is due that the clock would move to by itself
        (manual mode: nothing due now). Raises EmulatorBusy after ``timeout`` wall seconds."""
        deadline = time.monotonic() + timeout
        with self._mover:
            while self._step(self._now, None, deadline):
                if time.monotonic() > deadline:
                    raise EmulatorBusy(f"the emulator kept working for {timeout} s (emulated time {self.iso()})")
        return self._now

    def set_auto(self, auto: bool) -> None:
        """Switch between moving on its own (True) and moving only with :meth:`advance` (False)."""
        with self._lock:
            self.auto = bool(auto)
            self._epoch += 1
            self._changed.notify_all()

    # -- the scheduler ---------------------------------------------------------------------------
    def start(self, sources: list[Source] | tuple = ()) -> None:
        """Run the scheduler thread: moves time (auto mode) and applies what is due."""
        self._sources = list(sources)
        self._driven = True
        self._stop.clear()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, daemon=True, name="emulator-clock")
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            moved = False
            try:
                with self._mover:
                    moved = self._step(self._now, None, None)
            except Exception as exc:  # keep the clock alive; surface it to the driver
                self.errors.append(f"clock: {type(exc).__name__}: {exc}")
            if not moved:
                with self._lock:
                    self._changed.wait_for(functools.partial(self._moved_on, self._epoch), timeout=0.25)

    def _moved_on(self, epoch: int) -> bool:  # under self._lock
        return self._epoch != epoch or self._stop.is_set() or self._closed

    def stop(self) -> None:
        """Stop the scheduler (time stays where it is)."""
        self._stop.set()
        with self._lock:
            self._changed.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def close(self) -> None:
        """Stop the scheduler and release every waiter; later waits return at once."""
        self.stop()
        with self._lock:
            self._closed = True
            for w in list(self._waiters):
                self._wake(w, False)
            self._changed.notify_all()


class VirtualEvent:
    """``threading.Event`` whose ``wait(timeout)`` waits in emulated time (and does not count as work)."""

    def __init__(self, clock: Clock | None = None):
        self._clock = clock
        self._flag = False
        self._waiters: dict[_Waiter, None] = {}

    def _bind(self) -> Clock:
        if self._clock is None:
            self._clock = current()
        return self._clock

    def is_set(self) -> bool:
        return self._flag

    isSet = is_set

    def set(self) -> None:
        clock = self._bind()
        with clock._lock:
            self._flag = True
            for w in list(self._waiters):
                clock._wake(w, True)

    def clear(self) -> None:
        clock = self._bind()
        with clock._lock:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        clock = self._bind()
        due = None if timeout is None else clock.now() + max(0.0, float(timeout))
        return clock._wait(due, self, "event")


class BusyThread(threading.Thread):
    """A thread that counts as work from ``start()`` until it ends, except while it waits on the
    clock; ``join(timeout)`` waits in emulated time."""

    def start(self) -> None:
        clock = current()
        self._tf_clock = clock
        self._tf_done = VirtualEvent(clock)
        clock._acquire(1)
        try:
            super().start()
        except BaseException:
            clock._release(1)
            raise

    def run(self) -> None:
        clock = self._tf_clock
        _THREAD.clock = clock
        clock._tls.depth = 1
        try:
            super().run()
        finally:
            self._tf_done.set()
            clock._tls.depth = 0
            clock._release(1)

    def join(self, timeout: float | None = None) -> None:
        done = getattr(self, "_tf_done", None)
        if done is None or threading.current_thread() is self:
            return super().join(timeout)
        if done.wait(timeout):
            super().join()


# ------------------------------------------------------------------------------------------------
# Emulated "now" for code that reads the wall clock (Lambda handlers, moto's Step Functions).
class _DateTimeType(type):  # datetime's metaclass is type
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, datetime)

    def __subclasscheck__(cls, sub) -> bool:
        return issubclass(sub, datetime)


def _emulated_datetime_class(now: Callable[[], float]):
    class EmulatedDateTime(datetime, metaclass=_DateTimeType):
        """``datetime`` whose ``now()``, ``utcnow()`` and ``today()`` read the emulated clock."""

        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(now(), tz)

        @classmethod
        def utcnow(cls):
            return datetime.fromtimestamp(now(), timezone.utc).replace(tzinfo=None)

        @classmethod
        def today(cls):
            return datetime.fromtimestamp(now())

    return EmulatedDateTime


def emulated_time_modules(now: Callable[[], float]) -> tuple[type, types.ModuleType, types.ModuleType]:
    """(datetime class, ``datetime`` module, ``time`` module) whose notion of now is ``now()``."""
    import datetime as datetime_module

    cls = _emulated_datetime_class(now)
    dt_mod = types.ModuleType("datetime")
    dt_mod.__dict__.update({k: v for k, v in vars(datetime_module).items() if not k.startswith("__")})
    dt_mod.__dict__["datetime"] = cls
    time_mod = types.ModuleType("time")
    time_mod.__dict__.update({k: v for k, v in vars(time).items() if not k.startswith("__")})
    time_mod.__dict__.update(time=lambda: now(), time_ns=lambda: int(now() * 1e9))
    return cls, dt_mod, time_mod


def use_emulated_time(module: types.ModuleType, replacements: tuple[type, types.ModuleType, types.ModuleType]) -> None:
    """Point a module's ``datetime`` / ``time`` names (class or module) at the emulated ones."""
    import datetime as datetime_module

    cls, dt_mod, time_mod = replacements
    for name, value in list(vars(module).items()):
        if value is datetime:
            setattr(module, name, cls)
        elif value is datetime_module:
            setattr(module, name, dt_mod)
        elif value is time:
            setattr(module, name, time_mod)


def threading_module() -> types.ModuleType:
    """``threading`` with Thread and Event on the emulated clock."""
    mod = types.ModuleType("threading")
    mod.__dict__.update({k: v for k, v in vars(threading).items() if not k.startswith("__")})
    mod.__dict__.update(Thread=BusyThread, Event=VirtualEvent)
    return mod


def use_emulated_threads(module: types.ModuleType, shim: types.ModuleType) -> None:
    for name, value in list(vars(module).items()):
        if value is threading:
            setattr(module, name, shim)
        elif value is threading.Thread:
            setattr(module, name, BusyThread)
        elif value is threading.Event:
            setattr(module, name, VirtualEvent)
