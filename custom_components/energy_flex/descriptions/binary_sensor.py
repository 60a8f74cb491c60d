"""Binary sensor descriptions: a flag and how to read it from a device's data.

Apart from the common descriptions, so a device without flags of its own (a FEMS) never
loads this class; `binary_sensor.py` turns them into entities.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntityDescription

from . import ListenFn


@dataclass(frozen=True, kw_only=True)
class EnergyFlexBinarySensorDescription(BinarySensorEntityDescription):
    """A flag and how to read it from its device's data."""

    value_fn: Callable[[Any], bool | None]
    # Whether the device has this flag at all (see `entity.device_has`).
    has_fn: Callable[[Any], bool] = lambda data: True
    listen_fn: ListenFn | None = None
