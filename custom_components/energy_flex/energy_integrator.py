"""Energy counters integrated from polled powers, for devices that report none.

Some devices (sonnen's API v1) report powers but no energy counters, yet the Energy
dashboard needs total-increasing energy. `EnergyIntegrator` integrates each power between
consecutive polls with the trapezoid rule, splitting it into the energy of its positive
and of its negative part (battery: discharged / charged; grid: imported / exported).
It never invents energy: an interval longer than `max_gap` (a device or Home Assistant
that was away) or one with an unknown end is skipped, and so is one with a power that
cannot be true (beyond what the device's rated power allows, or the plausibility gate's
absolute bound without a rating): one absurd sample must not add energy that a
total-increasing counter can never give back. Each interval therefore adds at most
`limit × elapsed time`. Rejected samples are counted for diagnostics. Totals and the
last sample are stored per entry, so the counters continue across restarts.

Vendor-neutral: any vendor feeds `PowerSample`s in Home Assistant's signs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .plausibility import ValueKind, implausible

_LOGGER = logging.getLogger(__name__)
_STORAGE_VERSION: Final = 1
# Saving every poll would wear flash storage; Home Assistant flushes pending saves at stop.
DEFAULT_SAVE_DELAY: Final = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerSample:
    """Powers in W with Home Assistant's signs; `None` when unknown in this poll."""

    battery_power: float | None = None  # + discharge, − charge
    grid_power: float | None = None  # + import, − export
    production_power: float | None = None
    consumption_power: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyCounters:
    """Integrated energy in Wh; `None` until the power behind it was first seen."""

    battery_charged_energy: float | None = None
    battery_discharged_energy: float | None = None
    grid_imported_energy: float | None = None
    grid_exported_energy: float | None = None
    produced_energy: float | None = None
    consumed_energy: float | None = None


# Each power feeds the counter of its positive part and that of its negative part.
_SPLITS: Final[dict[str, tuple[str, str | None]]] = {
    "battery_power": ("battery_discharged_energy", "battery_charged_energy"),
    "grid_power": ("grid_imported_energy", "grid_exported_energy"),
    "production_power": ("produced_energy", None),
    "consumption_power": ("consumed_energy", None),
}
_COUNTERS: Final = frozenset(field.name for field in dataclasses.fields(EnergyCounters))
# The battery's own power is bounded by its rating; the others by the site's bound.
_KINDS: Final[dict[str, ValueKind]] = {
    "battery_power": ValueKind.BATTERY_POWER,
    "grid_power": ValueKind.POWER,
    "production_power": ValueKind.POWER,
    "consumption_power": ValueKind.POWER,
}


class _StoredSample(TypedDict):
    at: str
    powers: dict[str, float]


class _StoredEnergy(TypedDict):
    counters: dict[str, float]
    last: _StoredSample | None


def positive_area(start_w: float, end_w: float, hours: float) -> float:
    """Energy (Wh) of the positive part of a power that moves linearly from start to end."""
    if start_w >= 0 and end_w >= 0:
        return (start_w + end_w) / 2 * hours
    if start_w <= 0 and end_w <= 0:
        return 0.0
    # The power crosses zero: only the triangle above the axis counts.
    peak = max(start_w, end_w)
    return peak * peak / (2 * (abs(start_w) + abs(end_w))) * hours


class EnergyIntegrator:
    """Total-increasing energy counters of one device, integrated and stored."""

    def __init__(
        self,
        hass: HomeAssistant,
        storage_key: str,
        *,
        max_gap: timedelta,
        save_delay: float = DEFAULT_SAVE_DELAY,
        rated_power_w: float | None = None,
    ) -> None:
        """Count nothing yet; call `async_load` before the first sample."""
        self._store: Store[_StoredEnergy] = Store(
            hass, _STORAGE_VERSION, f"{DOMAIN}.energy.{storage_key}"
        )
        self._max_gap = max_gap
        self._save_delay = save_delay
        self._totals: dict[str, float] = {}
        self._last_at: datetime | None = None
        self._last_powers: dict[str, float] = {}
        # What the device says it can do (W); may be learnt after the first sample.
        self.rated_power_w = rated_power_w
        self.rejected_samples = 0
        self.last_rejected: str | None = None
        # Powers refused in the previous sample, so a lasting fault is logged once.
        self._refusing: set[str] = set()

    @property
    def counters(self) -> EnergyCounters:
        """The totals now (rounded to mWh)."""
        return EnergyCounters(**{name: round(wh, 3) for name, wh in self._totals.items()})

    async def async_load(self) -> None:
        """Continue from what an earlier run stored; ignore anything unusable."""
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        counters = stored.get("counters")
        if isinstance(counters, dict):
            for name, raw in counters.items():
                wh = _as_finite(raw)
                if name in _COUNTERS and wh is not None and _plausible_total(wh):
                    self._totals[name] = wh
        last = stored.get("last")
        if isinstance(last, dict) and isinstance(powers := last.get("powers"), dict):
            at = dt_util.parse_datetime(str(last.get("at")))
            self._last_at = at if at is not None and at.tzinfo is not None else None
            for name, raw in powers.items():
                if name in _SPLITS and (watts := _as_finite(raw)) is not None:
                    self._last_powers[name] = watts

    def diagnostics(self) -> dict[str, object]:
        """What support needs to see: how many samples were refused and why the last."""
        return {
            "rated_power_w": self.rated_power_w,
            "rejected_samples": self.rejected_samples,
            "last_rejected": self.last_rejected,
        }

    def add(self, sample: PowerSample, at: datetime) -> EnergyCounters:
        """Integrate from the previous sample to this one and return the totals."""
        hours: float | None = None
        if self._last_at is not None:
            elapsed = (at - self._last_at).total_seconds()
            if 0 < elapsed <= self._max_gap.total_seconds():
                hours = elapsed / 3600
            else:
                _LOGGER.debug("Not integrating an interval of %s s", elapsed)
        powers: dict[str, float] = {}
        refusing: set[str] = set()
        for name, (positive, negative) in _SPLITS.items():
            watts = getattr(sample, name)
            if watts is None:
                continue  # unknown now: the next interval starts afresh
            if (reason := self._implausible(name, watts)) is not None:
                refusing.add(name)
                self._reject(name, watts, reason)
                continue  # as unknown: neither interval around it counts
            powers[name] = watts
            self._totals.setdefault(positive, 0.0)
            if negative is not None:
                self._totals.setdefault(negative, 0.0)
            previous = self._last_powers.get(name)
            # The previous sample is checked again: the rating may be known only now.
            if hours is None or previous is None or self._implausible(name, previous):
                continue
            self._totals[positive] += positive_area(previous, watts, hours)
            if negative is not None:
                self._totals[negative] += positive_area(-previous, -watts, hours)
        self._last_at = at
        self._last_powers = powers
        self._refusing = refusing
        self._store.async_delay_save(self._data_to_store, self._save_delay)
        return self.counters

    def _implausible(self, name: str, watts: float) -> str | None:
        return implausible(_KINDS[name], watts, rated_power_w=self.rated_power_w)

    def _reject(self, name: str, watts: float, reason: str) -> None:
        self.rejected_samples += 1
        self.last_rejected = f"{name} {watts:g} W: {reason}"
        if name not in self._refusing:
            _LOGGER.debug("Not integrating %s = %g W: %s", name, watts, reason)

    async def async_save(self) -> None:
        """Write now (on unload), instead of after the save delay."""
        await self._store.async_save(self._data_to_store())

    def _data_to_store(self) -> _StoredEnergy:
        last: _StoredSample | None = None
        if self._last_at is not None:
            last = {"at": self._last_at.isoformat(), "powers": dict(self._last_powers)}
        return {"counters": dict(self._totals), "last": last}


def _as_finite(value: object) -> float | None:
    """A stored number, or `None` when the store holds something else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _plausible_total(wh: float) -> bool:
    return implausible(ValueKind.ENERGY_COUNTER, wh) is None
