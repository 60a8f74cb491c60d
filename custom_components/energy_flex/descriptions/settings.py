"""Descriptions of settings a device keeps and Energy Flex changes through its vendor.

A setting number (an EV site's cap), a choice (a select) and an on/off setting (a switch).

Apart from the common descriptions, so a battery that has none of them (a FEMS) never
loads these classes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.number import NumberDeviceClass, NumberEntityDescription
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.switch import SwitchEntityDescription

from ..device import EnergyFlexDevice


@dataclass(frozen=True, kw_only=True)
class EnergyFlexSettingNumberDescription(NumberEntityDescription):
    """A setting the device keeps (e.g. a site's power cap), changed through the vendor.

    Shown from the poll; unlike a setpoint nothing is held or released.
    Unit, device class and bounds may follow the data (a cap in kW or in A) and options.
    `value_fn` returning `None` makes the entity unavailable (the device has no such
    setting now).
    """

    value_fn: Callable[[Any], float | None]
    set_fn: Callable[[EnergyFlexDevice, float], Awaitable[None]]
    unit_fn: Callable[[Any], str | None] | None = None
    device_class_fn: Callable[[Any], NumberDeviceClass | None] | None = None
    range_fn: Callable[[Any], tuple[float, float]] | None = None


@dataclass(frozen=True, kw_only=True)
class EnergyFlexSelectDescription(SelectEntityDescription):
    """A choice: what is chosen now (from the device's data) and how to choose."""

    current_fn: Callable[[Any], str | None]
    select_fn: Callable[[EnergyFlexDevice, str], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class EnergyFlexSwitchDescription(SwitchEntityDescription):
    """An on/off setting the device keeps: read from the poll, switched through the vendor.

    `is_on_fn` returning `None` makes the switch unavailable.
    """

    is_on_fn: Callable[[Any], bool | None]
    set_fn: Callable[[EnergyFlexDevice, bool], Awaitable[None]]
