"""One way to put the emulator's code in place of moto's: every extension replaces methods and
attributes on moto's classes by design, which a plain assignment states less plainly (and mypy
refuses for methods)."""

from __future__ import annotations


def replace(owner: object, name: str, value: object) -> None:
    """``owner.<name>`` becomes ``value`` (a moto class's method, a module's function)."""
    setattr(owner, name, value)
