"""Plausibility gates: a value that cannot be true is unknown, never shown (DESIGN §4).

One gate per kind of value, in the value's base unit (W, Wh, V, A, Hz, %). Powers are
bounded by what the device says it can do (its rated power) where it says so, and by a
generous absolute bound where it says nothing. The sensors apply the gates (one place,
`sensor.py`); the energy integrator applies the power gates to the samples it
integrates. Home Assistant free, so the bounds are plain numbers anyone can check.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Final


class ValueKind(StrEnum):
    """What a value measures, which decides its gate."""

    PERCENTAGE = "percentage"
    # Power through the battery (and its limits): bounded by the rated power.
    BATTERY_POWER = "battery_power"
    # Grid, PV, house: more than the battery moves, so a wider multiple and a floor.
    POWER = "power"
    ENERGY_COUNTER = "energy_counter"
    # Energy held in or fitting into a battery.
    STORED_ENERGY = "stored_energy"
    VOLTAGE = "voltage"
    CURRENT = "current"
    FREQUENCY = "frequency"
    # Anything else numeric: finite, nothing more is known.
    NUMBER = "number"


# Without a rated power: far beyond any home or commercial site, far below int32's 2.1 GW.
ABSOLUTE_POWER_LIMIT_W: Final = 1_000_000.0
# A battery never moves twice its rated power (inverters peak at 1.1-1.5x).
BATTERY_POWER_MULTIPLE: Final = 2.0
# Grid, PV and house loads can exceed the battery's inverter, within reason.
SITE_POWER_MULTIPLE: Final = 10.0
SITE_POWER_FLOOR_W: Final = 50_000.0
# 1 TWh: a home counter in W-hours would need a megawatt for a century to get there.
ENERGY_COUNTER_LIMIT_WH: Final = 1e12
STORED_ENERGY_LIMIT_WH: Final = 1e8  # 100 MWh
VOLTAGE_LIMIT_V: Final = 1500.0  # the low-voltage directive's DC bound; mains are far below
CURRENT_LIMIT_A: Final = 5000.0
FREQUENCY_RANGE_HZ: Final = (40.0, 70.0)  # or exactly 0: no grid

# The range of each kind in its base unit; powers are bounded by `power_limit` instead.
_RANGES: Final[dict[ValueKind, tuple[float, float]]] = {
    ValueKind.PERCENTAGE: (0.0, 100.0),
    ValueKind.ENERGY_COUNTER: (0.0, ENERGY_COUNTER_LIMIT_WH),
    ValueKind.STORED_ENERGY: (0.0, STORED_ENERGY_LIMIT_WH),
    ValueKind.VOLTAGE: (0.0, VOLTAGE_LIMIT_V),
    ValueKind.CURRENT: (-CURRENT_LIMIT_A, CURRENT_LIMIT_A),
    ValueKind.FREQUENCY: FREQUENCY_RANGE_HZ,
}
_BASE_UNIT: Final[dict[ValueKind, str]] = {
    ValueKind.PERCENTAGE: "%",
    ValueKind.BATTERY_POWER: "W",
    ValueKind.POWER: "W",
    ValueKind.ENERGY_COUNTER: "Wh",
    ValueKind.STORED_ENERGY: "Wh",
    ValueKind.VOLTAGE: "V",
    ValueKind.CURRENT: "A",
    ValueKind.FREQUENCY: "Hz",
    ValueKind.NUMBER: "",
}

# Factor from a native unit to the kind's base unit.
_UNIT_SCALE: Final[dict[str, float]] = {
    "W": 1.0,
    "kW": 1e3,
    "MW": 1e6,
    "VA": 1.0,
    "kVA": 1e3,
    "Wh": 1.0,
    "kWh": 1e3,
    "MWh": 1e6,
    "V": 1.0,
    "mV": 1e-3,
    "kV": 1e3,
    "A": 1.0,
    "mA": 1e-3,
    "Hz": 1.0,
    "%": 1.0,
}


def rated_power(raw: float | None) -> float | None:
    """A rated power the device reported, if it is one a gate can trust."""
    if raw is None or not math.isfinite(raw) or not 0 < raw <= ABSOLUTE_POWER_LIMIT_W:
        return None
    return raw


def power_limit(kind: ValueKind, rated_power_w: float | None) -> float:
    """The largest magnitude (W) a power of `kind` can have on a device of that rating."""
    rating = rated_power(rated_power_w)
    if rating is None:
        return ABSOLUTE_POWER_LIMIT_W
    if kind is ValueKind.BATTERY_POWER:
        return BATTERY_POWER_MULTIPLE * rating
    return max(SITE_POWER_MULTIPLE * rating, SITE_POWER_FLOOR_W)


def implausible(
    kind: ValueKind,
    value: float,
    *,
    unit: str | None = None,
    rated_power_w: float | None = None,
) -> str | None:
    """Why `value` (in `unit`) cannot be true, or `None` when it can."""
    if not math.isfinite(value):
        return "not a finite number"
    base = value * (_UNIT_SCALE.get(unit, 1.0) if unit is not None else 1.0)
    if kind in (ValueKind.BATTERY_POWER, ValueKind.POWER):
        limit = power_limit(kind, rated_power_w)
        low, high = -limit, limit
    elif kind is ValueKind.FREQUENCY and base == 0:
        return None  # no grid
    else:
        low, high = _RANGES.get(kind, (-math.inf, math.inf))
    if low <= base <= high:
        return None
    return f"outside {low:g} to {high:g} {_BASE_UNIT[kind]}"


def plausible(
    kind: ValueKind,
    value: float | None,
    *,
    unit: str | None = None,
    rated_power_w: float | None = None,
) -> float | None:
    """`value` if it can be true, else `None` (for values other values are derived from)."""
    if value is None:
        return None
    return (
        value if implausible(kind, value, unit=unit, rated_power_w=rated_power_w) is None else None
    )
