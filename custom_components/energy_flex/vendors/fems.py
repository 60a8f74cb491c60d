"""FENECON FEMS on the Home Assistant side, for every FEMS transport.

REST and Modbus both deliver a `FemsSnapshot` and write the same OpenEMS channels, so
the entity descriptions and the control adapter here serve both. OpenEMS already uses
Home Assistant's sign convention (ESS + discharge, grid + import); the one conversion
is the charge limit, shown as a positive "maximum charge power" and written negative.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

import probatio
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo

from ..api.fems import FemsGridMode, FemsSnapshot, FemsState
from ..const import (
    CONF_KEEPALIVE_INTERVAL,
    DEFAULT_KEEPALIVE_INTERVAL,
    MAX_KEEPALIVE_INTERVAL,
    MIN_KEEPALIVE_INTERVAL,
)
from ..control import SetpointKind
from ..coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexDevice,
    EnergyFlexRuntime,
    build_controller,
)
from ..number import BATTERY_POWER_SETPOINT, EnergyFlexNumberDescription, power_setpoint
from ..sensor import (
    EnergyFlexSensorDescription,
    energy_counter,
    power_sensor,
    state_of_charge_sensor,
    stored_energy_sensor,
)

SET_ACTIVE_POWER_EQUALS = "SetActivePowerEquals"
SET_ACTIVE_POWER_LESS_OR_EQUALS = "SetActivePowerLessOrEquals"
SET_ACTIVE_POWER_GREATER_OR_EQUALS = "SetActivePowerGreaterOrEquals"

# Each held setpoint is one OpenEMS write channel of ess0.
_CHANNEL_BY_KIND = {
    SetpointKind.BATTERY_POWER: SET_ACTIVE_POWER_EQUALS,
    SetpointKind.DISCHARGE_LIMIT: SET_ACTIVE_POWER_LESS_OR_EQUALS,
    SetpointKind.CHARGE_LIMIT: SET_ACTIVE_POWER_GREATER_OR_EQUALS,
}


class FemsChannelWriter(Protocol):
    """A FEMS client that writes ess0 channels by OpenEMS channel id."""

    async def async_set_channel(self, channel: str, value: float | None) -> None:
        """Write `value`, or release the channel with `None`."""


def _charge(power: float | None) -> float | None:
    return None if power is None else max(0.0, -power)


def _discharge(power: float | None) -> float | None:
    return None if power is None else max(0.0, power)


def _stored_energy(data: FemsSnapshot) -> float | None:
    if data.capacity is None or data.soc is None:
        return None
    return round(data.capacity * data.soc / 100)


FEMS_SENSORS: tuple[EnergyFlexSensorDescription, ...] = (
    state_of_charge_sensor(lambda data: data.soc),
    power_sensor("battery_power", lambda data: data.battery_power),
    power_sensor("battery_charge_power", lambda data: _charge(data.battery_power)),
    power_sensor("battery_discharge_power", lambda data: _discharge(data.battery_power)),
    power_sensor("grid_power", lambda data: data.grid_power),
    power_sensor("production_power", lambda data: data.production_power),
    power_sensor("consumption_power", lambda data: data.consumption_power),
    power_sensor(
        "max_charge_power",
        lambda data: _charge(data.allowed_charge_power),
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    power_sensor(
        "max_discharge_power",
        lambda data: _discharge(data.allowed_discharge_power),
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    stored_energy_sensor("stored_energy", _stored_energy),
    stored_energy_sensor(
        "usable_capacity", lambda data: data.capacity, entity_category=EntityCategory.DIAGNOSTIC
    ),
    energy_counter("battery_charged_energy", lambda data: data.battery_charged_energy),
    energy_counter("battery_discharged_energy", lambda data: data.battery_discharged_energy),
    energy_counter("grid_imported_energy", lambda data: data.grid_imported_energy),
    energy_counter("grid_exported_energy", lambda data: data.grid_exported_energy),
    energy_counter("produced_energy", lambda data: data.produced_energy),
    energy_counter("consumed_energy", lambda data: data.consumed_energy),
    EnergyFlexSensorDescription(
        key="grid_mode",
        translation_key="grid_mode",
        device_class=SensorDeviceClass.ENUM,
        options=[mode.value for mode in FemsGridMode],
        value_fn=lambda data: data.grid_mode,
    ),
    EnergyFlexSensorDescription(
        key="system_state",
        translation_key="system_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in FemsState],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.state,
    ),
)

FEMS_NUMBERS: tuple[EnergyFlexNumberDescription, ...] = (
    BATTERY_POWER_SETPOINT,
    # SetActivePowerLessOrEquals / GreaterOrEquals: for experts, so off by default.
    power_setpoint("discharge_power_limit", SetpointKind.DISCHARGE_LIMIT, enabled_default=False),
    power_setpoint("charge_power_limit", SetpointKind.CHARGE_LIMIT, enabled_default=False),
)


class FemsControlAdapter:
    """Drives ess0's write channels; FEMS forgets them 60 s after the last write."""

    def __init__(
        self,
        writer: FemsChannelWriter,
        coordinator: EnergyFlexCoordinator[FemsSnapshot],
        keepalive_interval: timedelta,
    ) -> None:
        """Write through `writer`; read the allowed power from the last poll."""
        self._writer = writer
        self._coordinator = coordinator
        self._keepalive_interval = keepalive_interval

    @property
    def keepalive_interval(self) -> timedelta:
        """Re-send held setpoints well inside the 60 s apiTimeout."""
        return self._keepalive_interval

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """The ESS's allowed charge (negative) and discharge power from the last poll."""
        data = self._coordinator.data
        if data is None or data.allowed_charge_power is None:
            return None
        if data.allowed_discharge_power is None:
            return None
        max_charge = max(0.0, -data.allowed_charge_power)
        max_discharge = max(0.0, data.allowed_discharge_power)
        if kind is SetpointKind.BATTERY_POWER:
            return (0.0 - max_charge, max_discharge)  # 0.0 - x: never a "-0" bound
        if kind is SetpointKind.DISCHARGE_LIMIT:
            return (0.0, max_discharge)
        return (0.0, max_charge)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """FEMS takes commands whenever it reports its allowed power."""
        return None

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Write one ess0 channel; the charge limit goes out negative (OpenEMS sign)."""
        channel_value = -value if kind is SetpointKind.CHARGE_LIMIT else value
        await self._writer.async_set_channel(_CHANNEL_BY_KIND[kind], channel_value)

    async def async_release(self, kind: SetpointKind) -> None:
        """`{"value": null}` drops the pending write at once."""
        await self._writer.async_set_channel(_CHANNEL_BY_KIND[kind], None)


def keepalive_options_schema(options: Mapping[str, Any]) -> probatio.Schema:
    """How often held setpoints are repeated: inside FEMS's 60 s apiTimeout."""
    return probatio.Schema(
        {
            probatio.Required(
                CONF_KEEPALIVE_INTERVAL,
                default=options.get(CONF_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_INTERVAL),
            ): probatio.All(
                probatio.Coerce(int),
                probatio.Range(min=MIN_KEEPALIVE_INTERVAL, max=MAX_KEEPALIVE_INTERVAL),
            )
        }
    )


def fems_runtime(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    coordinator: EnergyFlexCoordinator[Any],
    *,
    info: DeviceInfo,
    writer: FemsChannelWriter | None,
    diagnostics: Callable[[], dict[str, Any]],
) -> EnergyFlexRuntime:
    """One FEMS device, whatever the transport; control only when `writer` can write."""
    assert entry.unique_id is not None  # every entry is created with one
    device = EnergyFlexDevice(identity=entry.unique_id, info=info)
    if writer is not None:
        keepalive = entry.options.get(CONF_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_INTERVAL)
        adapter = FemsControlAdapter(writer, coordinator, timedelta(seconds=keepalive))
        device.controller = build_controller(hass, coordinator, adapter, entry.entry_id)
    return EnergyFlexRuntime(
        coordinator=coordinator,
        devices=[device],
        sensors=FEMS_SENSORS,
        numbers=FEMS_NUMBERS,
        diagnostics=diagnostics,
    )
