"""Every Bedrock lifecycle moved on by the emulated clock: :func:`next_due` tells local.clock when the
next status change is due, :func:`tick_all` applies what is due."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from moto.bedrock.models import bedrock_backends

from .. import state
from .endpoints import endpoints_due, tick_endpoints
from .evaluations import evaluations_due, tick_evaluations
from .jobs import jobs_due, tick_jobs
from .store import LOCK


def tick_backend(backend: Any, now: float | None = None) -> None:
    """Advance every lifecycle in one Bedrock backend to emulated ``now``."""
    now = state.current().clock.now() if now is None else now
    with LOCK:
        tick_jobs(backend, now)
        tick_endpoints(backend, now)
        tick_evaluations(backend, now)


def _extended_backends() -> Iterator[Any]:
    for _account, _region, backend in list(bedrock_backends.iter_backends()):
        if backend.__dict__.get("_tuneforge") is not None:
            yield backend


def tick_all() -> None:
    now = state.current().clock.now()
    for backend in _extended_backends():
        tick_backend(backend, now)


def next_due() -> float | None:
    """Emulated time of the next lifecycle change in any Bedrock backend (None: nothing pending);
    the clock jumps there when nothing else is due first (see local.clock)."""
    now = state.current().clock.now()
    dues: list[float] = []
    with LOCK:
        for backend in _extended_backends():
            dues += jobs_due(backend) + endpoints_due(backend) + evaluations_due(backend, now)
    return min(dues, default=None)
