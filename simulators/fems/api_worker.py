"""OpenEMS `ApiWorker`: pending API writes and the one shared `apiTimeout` (notes §1.7).

Every write, to any channel and including null, re-arms one timer; when it fires, all
pending writes are dropped together. A null write releases its channel at once. The
clock is injected and the timer is evaluated lazily (`expire_if_due`), so tests can
jump time instead of sleeping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..jsontypes import JsonScalar

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def to_java_int(value: JsonScalar) -> int:
    """Convert a posted value to an INTEGER channel value, or raise ValueError.

    The firmware accepts the POST first and converts in the next cycle, so a bad value is
    an error in the worker log, never an HTTP error.
    """
    if value is None:
        raise ValueError("value is null")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return to_java_int(int(text))
        except ValueError:
            return to_java_int(float(text))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        value = round(value)
    if not _INT_MIN <= value <= _INT_MAX:
        raise ValueError(f"out of INTEGER range: {value}")
    return value


class ApiWorker:
    """Pending writes of one REST controller and its single timeout timer."""

    def __init__(self, *, timeout_s: float, clock: Callable[[], float]) -> None:
        self.timeout_s = timeout_s
        self._clock = clock
        self._pending: dict[str, JsonScalar] = {}
        self.deadline: float | None = None
        self.expiries = 0

    @property
    def pending(self) -> Mapping[str, JsonScalar]:
        return MappingProxyType(self._pending)

    def write(self, address: str, value: JsonScalar) -> None:
        """Store (or with None: release) a write and re-arm the shared timer."""
        if value is None:
            self._pending.pop(address, None)
        else:
            self._pending[address] = value
        # 0 disables the timeout: values stay until released.
        self.deadline = self._clock() + self.timeout_s if self.timeout_s > 0 else None

    def expire_if_due(self) -> bool:
        """Drop every pending write if the timer has fired; True if anything was dropped."""
        if self.deadline is None or self._clock() < self.deadline:
            return False
        self.deadline = None
        if not self._pending:
            return False
        self._pending.clear()
        self.expiries += 1
        return True

    def clear(self) -> None:
        self._pending.clear()
        self.deadline = None

    def int_value(self, address: str) -> int | None:
        """The pending value as the channel would apply it; None if absent or invalid."""
        if address not in self._pending:
            return None
        try:
            return to_java_int(self._pending[address])
        except ValueError:
            return None

    def log_line(self) -> str:
        """What `ctrlApiRest0/ApiWorkerLog` shows: each pending write, or its error."""
        parts = []
        for address, value in self._pending.items():
            try:
                parts.append(f"{address}:{to_java_int(value)}")
            except ValueError as err:
                parts.append(f"{address}:{value}-ERROR:{err}")
        return ", ".join(parts)


class ApiWorkerView:
    """The controller-wide write pipeline as both FEMS simulators show it to tests."""

    _worker: ApiWorker

    @property
    def api_timeout_s(self) -> float:
        """Seconds after the last write at which every pending write is dropped."""
        return self._worker.timeout_s

    @api_timeout_s.setter
    def api_timeout_s(self, value: float) -> None:
        self._worker.timeout_s = value

    @property
    def pending_writes(self) -> Mapping[str, JsonScalar]:
        """Writes the controller re-asserts every cycle (channel address → value)."""
        return self._worker.pending

    @property
    def timeout_expiries(self) -> int:
        """How often the shared apiTimeout fired and dropped pending writes."""
        return self._worker.expiries
