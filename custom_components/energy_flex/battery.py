"""What a battery reports for planning, read from a poll by its vendor (no machinery).

Kept apart from `control.py` and `planner.py`, so that a device only read, never
controlled, loads neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BatteryFacts:
    """What planning (`planner.py`) needs from one poll of a battery; `None` = not known.

    `usable_capacity` is the energy (Wh) between 0 % and 100 % of `state_of_charge`;
    `reserve` the state of charge (%) the battery keeps for itself (backup buffer).
    """

    state_of_charge: float | None
    usable_capacity: float | None
    reserve: float | None = None


# Reads a device's facts from the coordinator's data (`EnergyFlexDevice.battery_facts`).
type BatteryFactsFn = Callable[[Any], BatteryFacts | None]
