"""``os.environ`` as in-process Lambda invocations share it with every other thread of the emulator:
each invocation puts its function's environment in place and takes it away again (local.lambda_runtime)."""

from __future__ import annotations

import os


class SnapshotEnviron(os._Environ[str]):  # the class of os.environ
    """``os.environ`` whose iteration works on a snapshot. A function's environment is put in place and
    taken away while other threads (the Step Functions executor, EventBridge deliveries, the test driver)
    build boto3 clients, which iterate the environment (proxy settings): iterating the live mapping
    raised ``KeyError`` or "dictionary changed size during iteration" when a key went away meanwhile."""

    def _snapshot(self) -> dict:
        data = dict(self.__dict__["_data"])  # one C-level copy, atomic under the GIL (_data: typeshed omits it)
        return {self.decodekey(k): self.decodevalue(v) for k, v in data.items()}

    def __iter__(self):
        return iter(list(self._snapshot()))

    def keys(self):
        return self._snapshot().keys()

    def items(self):
        return self._snapshot().items()

    def values(self):
        return self._snapshot().values()

    def copy(self):
        return self._snapshot()


def install_snapshot_environ() -> None:
    if type(os.environ) is not SnapshotEnviron and type(os.environ).__name__ == "_Environ":
        os.environ.__class__ = SnapshotEnviron


def set_environ(target: dict[str, str]) -> None:
    """Make ``os.environ`` equal ``target`` key by key: never empty in between (``clear()`` then
    ``update()`` left other threads without credentials or region for a moment), and keys that
    both share (credentials, region, endpoint) never disappear."""
    for key in [k for k in os.environ.keys() if k not in target]:
        os.environ.pop(key, None)
    for key, value in target.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
