"""One Home Assistant device of an entry: its identity, its info and its controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo

from .control import SetpointController


@dataclass(kw_only=True)
class EnergyFlexDevice:
    """One Home Assistant device of an entry, and how to find its data in a poll."""

    identity: str
    info: DeviceInfo
    # Picks this device's part of the coordinator's data; `None` = unavailable.
    data: Callable[[Any], Any] = lambda data: data
    controller: SetpointController | None = None
    # What the device says it can do (W) from its data, if it says; bounds its powers.
    rated_power: Callable[[Any], float | None] = lambda data: None
