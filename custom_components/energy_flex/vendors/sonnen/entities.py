"""sonnenBatterie entities: the one place where sonnen's measured signs become Home Assistant's.

- `Pac_total_W` is already + discharge / − charge;
- `GridFeedIn_W` is + export, so grid power is its negation (+ import); units without it
  get `Consumption_W − Production_W − Pac_total_W` (ecoLinx v7.2).

Setpoints (which have no sign at sonnen) are split by direction in `control.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
)
from homeassistant.helpers.typing import StateType

from ...api.sonnen import SonnenGridState, SonnenOperatingMode, SonnenStatus
from ...descriptions import EnergyFlexSensorDescription, energy_counter, power_sensor
from ...descriptions.binary_sensor import EnergyFlexBinarySensorDescription
from ...energy_integrator import EnergyCounters, PowerSample


@dataclass(frozen=True, slots=True)
class SonnenData:
    """One poll: the unit's status and the energy integrated from it so far."""

    status: SonnenStatus
    energy: EnergyCounters


# --- sign conversion (the only place) ---------------------------------------------------


def grid_power(status: SonnenStatus) -> float | None:
    """Grid power, + import / − export."""
    if status.grid_feed_in_w is not None:
        return 0.0 - status.grid_feed_in_w  # 0.0 - x: never a "-0"
    if None in (status.consumption_w, status.production_w, status.pac_total_w):
        return None
    assert status.consumption_w is not None
    assert status.production_w is not None
    assert status.pac_total_w is not None
    return status.consumption_w - status.production_w - status.pac_total_w


def _charge(power: float | None) -> float | None:
    return None if power is None else max(0.0, -power)


def _discharge(power: float | None) -> float | None:
    return None if power is None else max(0.0, power)


def power_sample(status: SonnenStatus) -> PowerSample:
    """The powers the energy counters integrate, in Home Assistant's signs."""
    return PowerSample(
        battery_power=status.pac_total_w,
        grid_power=grid_power(status),
        production_power=status.production_w,
        consumption_power=status.consumption_w,
    )


def is_off_grid(status: SonnenStatus) -> bool:
    """Off grid by `SystemStatus`, or no AC voltage at all (notes §5.5)."""
    return status.grid_state is SonnenGridState.OFF_GRID or status.ac_voltage_v == 0


def usable_capacity(status: SonnenStatus) -> float | None:
    """Wh between 0 % and 100 % USOC, derived: the v1 status reports no capacity.

    The remaining energy follows RSOC, so the whole battery holds remaining ÷ RSOC. USOC
    spans only the part above the bottom reserve; the energy still missing to full is the
    same on both scales, so the USOC span is whole × (100 − RSOC) ÷ (100 − USOC). A full
    unit (either at 100 %) cannot tell the two apart: the whole battery, then.
    """
    remaining, rsoc, usoc = status.remaining_capacity_wh, status.rsoc, status.usoc
    if remaining is None or rsoc is None or usoc is None or rsoc <= 0 or remaining <= 0:
        return None
    whole = remaining * 100 / rsoc
    if rsoc >= 100 or usoc >= 100:
        return whole
    return min(whole, whole * (100 - rsoc) / (100 - usoc))


def _operating_mode(status: SonnenStatus) -> str | None:
    if status.operating_mode is None:
        return None
    try:
        return SonnenOperatingMode(status.operating_mode).name.lower()
    except ValueError:
        return None


# --- entities ---------------------------------------------------------------------------

type _StatusFn = Callable[[SonnenStatus], StateType]


def _sensor(
    key: str,
    value_fn: _StatusFn,
    *,
    unit: str | None = None,
    device_class: SensorDeviceClass | None = None,
    state_class: SensorStateClass | None = SensorStateClass.MEASUREMENT,
    category: EntityCategory | None = None,
    enabled: bool = True,
    suggested_unit: str | None = None,
) -> EnergyFlexSensorDescription:
    return EnergyFlexSensorDescription(
        key=key,
        translation_key=key,
        native_unit_of_measurement=unit,
        suggested_unit_of_measurement=suggested_unit,
        device_class=device_class,
        state_class=state_class,
        entity_category=category,
        entity_registry_enabled_default=enabled,
        value_fn=lambda data: value_fn(data.status),
    )


def _power(
    key: str,
    value_fn: _StatusFn,
    *,
    enabled: bool = True,
    derived_from: _StatusFn | None = None,
) -> EnergyFlexSensorDescription:
    return power_sensor(
        key,
        lambda data: value_fn(data.status),
        enabled=enabled,
        derived_from=None if derived_from is None else lambda data: derived_from(data.status),
    )


def _counter(key: str) -> EnergyFlexSensorDescription:
    # Integrated by Energy Flex from the polled powers: the v1 status has no counters.
    return energy_counter(key, lambda data: getattr(data.energy, key))


_SENSORS: tuple[EnergyFlexSensorDescription, ...] = (
    # USOC is what the sonnen app shows and what evcc, openWB and ioBroker call "soc".
    _sensor(
        "state_of_charge",
        lambda status: status.usoc,
        unit=PERCENTAGE,
        device_class=SensorDeviceClass.BATTERY,
    ),
    _sensor(
        "relative_state_of_charge",
        lambda status: status.rsoc,
        unit=PERCENTAGE,
        device_class=SensorDeviceClass.BATTERY,
    ),
    _power("battery_power", lambda status: status.pac_total_w),
    _power(
        "battery_charge_power",
        lambda status: _charge(status.pac_total_w),
        derived_from=lambda status: status.pac_total_w,
    ),
    _power(
        "battery_discharge_power",
        lambda status: _discharge(status.pac_total_w),
        derived_from=lambda status: status.pac_total_w,
    ),
    _power("grid_power", grid_power),
    _power("production_power", lambda status: status.production_w),
    _power("consumption_power", lambda status: status.consumption_w),
    _power("consumption_average_power", lambda status: status.consumption_avg_w, enabled=False),
    _sensor(
        "apparent_power",
        lambda status: status.apparent_output_va,
        unit=UnitOfApparentPower.VOLT_AMPERE,
        device_class=SensorDeviceClass.APPARENT_POWER,
        enabled=False,
    ),
    _sensor(
        "stored_energy",
        lambda status: status.remaining_capacity_wh,
        unit=UnitOfEnergy.WATT_HOUR,
        suggested_unit=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY_STORAGE,
    ),
    _sensor(
        "ac_frequency",
        lambda status: status.frequency_hz,
        unit=UnitOfFrequency.HERTZ,
        device_class=SensorDeviceClass.FREQUENCY,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _sensor(
        "ac_voltage",
        lambda status: status.ac_voltage_v,
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _sensor(
        "battery_voltage",
        lambda status: status.battery_voltage_v,
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _sensor(
        "backup_buffer",
        lambda status: status.backup_buffer,
        unit=PERCENTAGE,
        category=EntityCategory.DIAGNOSTIC,
    ),
    EnergyFlexSensorDescription(
        key="operating_mode",
        translation_key="operating_mode",
        device_class=SensorDeviceClass.ENUM,
        options=[mode.name.lower() for mode in SonnenOperatingMode],
        value_fn=lambda data: _operating_mode(data.status),
    ),
    EnergyFlexSensorDescription(
        key="grid_mode",
        translation_key="grid_mode",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in SonnenGridState],
        value_fn=lambda data: data.status.grid_state,
    ),
    _counter("battery_charged_energy"),
    _counter("battery_discharged_energy"),
    _counter("grid_imported_energy"),
    _counter("grid_exported_energy"),
    _counter("produced_energy"),
    _counter("consumed_energy"),
)


def _flag(
    key: str,
    value_fn: Callable[[SonnenStatus], bool | None],
    *,
    device_class: BinarySensorDeviceClass | None = BinarySensorDeviceClass.POWER,
    category: EntityCategory | None = None,
    enabled: bool = False,
) -> EnergyFlexBinarySensorDescription:
    return EnergyFlexBinarySensorDescription(
        key=key,
        translation_key=key,
        device_class=device_class,
        entity_category=category,
        entity_registry_enabled_default=enabled,
        value_fn=lambda data: value_fn(data.status),
    )


_BINARY_SENSORS: tuple[EnergyFlexBinarySensorDescription, ...] = (
    # The energy-flow flags drive sonnen's dashboard animation; few people need them.
    _flag("flow_consumption_battery", lambda status: status.flow_consumption_battery),
    _flag("flow_consumption_grid", lambda status: status.flow_consumption_grid),
    _flag("flow_consumption_production", lambda status: status.flow_consumption_production),
    _flag("flow_grid_battery", lambda status: status.flow_grid_battery),
    _flag("flow_production_battery", lambda status: status.flow_production_battery),
    _flag("flow_production_grid", lambda status: status.flow_production_grid),
    _flag(
        "battery_charging",
        lambda status: status.battery_charging,
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
    ),
    _flag("battery_discharging", lambda status: status.battery_discharging, device_class=None),
    _flag(
        "discharge_not_allowed",
        lambda status: status.discharge_not_allowed,
        device_class=None,
        category=EntityCategory.DIAGNOSTIC,
        enabled=True,
    ),
)


# --- which entities a unit gets -----------------------------------------------------------
# Firmware generations differ in the keys they send (notes §3.2): an entity whose keys a
# unit does not send is not created. A key sent as null counts as sent (unknown for now).

type _SentFn = Callable[[SonnenStatus], bool]


def _sends(*keys: str) -> _SentFn:
    return lambda status: status.sent(*keys)


def _sends_grid(status: SonnenStatus) -> bool:
    """`GridFeedIn_W`, or the three powers grid power is derived from without it."""
    return status.sent("GridFeedIn_W") or status.sent(
        "Consumption_W", "Production_W", "Pac_total_W"
    )


def _sends_remaining(status: SonnenStatus) -> bool:
    return status.sent("RemainingCapacity_Wh") or status.sent("RemainingCapacity_W")


_BATTERY = _sends("Pac_total_W")
_PRODUCTION = _sends("Production_W")
_CONSUMPTION = _sends("Consumption_W")
_SENT_BY_KEY: dict[str, _SentFn] = {
    "state_of_charge": _sends("USOC"),
    "relative_state_of_charge": _sends("RSOC"),
    "battery_power": _BATTERY,
    "battery_charge_power": _BATTERY,
    "battery_discharge_power": _BATTERY,
    "grid_power": _sends_grid,
    "production_power": _PRODUCTION,
    "consumption_power": _CONSUMPTION,
    "consumption_average_power": _sends("Consumption_Avg"),
    "apparent_power": _sends("Apparent_output"),
    "stored_energy": _sends_remaining,
    "ac_frequency": _sends("Fac"),
    "ac_voltage": _sends("Uac"),
    "battery_voltage": _sends("Ubat"),
    "backup_buffer": _sends("BackupBuffer"),
    "operating_mode": _sends("OperatingMode"),
    "grid_mode": _sends("SystemStatus"),
    # The counters integrate the powers above.
    "battery_charged_energy": _BATTERY,
    "battery_discharged_energy": _BATTERY,
    "grid_imported_energy": _sends_grid,
    "grid_exported_energy": _sends_grid,
    "produced_energy": _PRODUCTION,
    "consumed_energy": _CONSUMPTION,
    "flow_consumption_battery": _sends("FlowConsumptionBattery"),
    "flow_consumption_grid": _sends("FlowConsumptionGrid"),
    "flow_consumption_production": _sends("FlowConsumptionProduction"),
    "flow_grid_battery": _sends("FlowGridBattery"),
    "flow_production_battery": _sends("FlowProductionBattery"),
    "flow_production_grid": _sends("FlowProductionGrid"),
    "battery_charging": _sends("BatteryCharging"),
    "battery_discharging": _sends("BatteryDischarging"),
    "discharge_not_allowed": _sends("dischargeNotAllowed"),
}


def _has(key: str) -> Callable[[SonnenData], bool]:
    sends = _SENT_BY_KEY[key]  # every entity says what it needs: a KeyError otherwise
    return lambda data: sends(data.status)


SONNEN_SENSORS: tuple[EnergyFlexSensorDescription, ...] = tuple(
    replace(description, has_fn=_has(description.key)) for description in _SENSORS
)
SONNEN_BINARY_SENSORS: tuple[EnergyFlexBinarySensorDescription, ...] = tuple(
    replace(description, has_fn=_has(description.key)) for description in _BINARY_SENSORS
)
