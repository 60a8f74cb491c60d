"""sonnenBatterie on the Home Assistant side: entities and the control adapter.

The one place where sonnen's signs become Home Assistant's:

- `Pac_total_W` is already + discharge / − charge;
- `GridFeedIn_W` is + export, so grid power is its negation (+ import); units without it
  get `Consumption_W − Production_W − Pac_total_W` (ecoLinx v7.2);
- setpoints have no sign: a positive battery setpoint goes to `/setpoint/discharge/<W>`,
  a negative one to `/setpoint/charge/<|W|>`, each after zeroing the other direction.

Setpoints act only in manual mode (`EM_OperatingMode` 1) and then persist on the unit, so
taking control switches to manual after storing the mode found, and release zeroes both
directions and restores that mode (notes §5, §8.3).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, TypedDict

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
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import StateType

from ..api.errors import ApiWriteRejectedError, EnergyFlexApiError, WriteRejectedReason
from ..api.sonnen import SonnenClient, SonnenGridState, SonnenOperatingMode, SonnenStatus
from ..binary_sensor import EnergyFlexBinarySensorDescription
from ..const import DOMAIN
from ..control import SetpointKind
from ..coordinator import EnergyFlexCoordinator
from ..energy_integrator import EnergyCounters, PowerSample
from ..sensor import EnergyFlexSensorDescription, energy_counter, power_sensor

_LOGGER = logging.getLogger(__name__)

# Translation key of the error shown when a command arrives while the unit is off grid.
OFF_GRID_REASON: Final = "sonnen_off_grid"
_MODE_STORAGE_VERSION: Final = 1


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


def _power(key: str, value_fn: _StatusFn, *, enabled: bool = True) -> EnergyFlexSensorDescription:
    return power_sensor(key, lambda data: value_fn(data.status), enabled=enabled)


def _counter(key: str) -> EnergyFlexSensorDescription:
    # Integrated by Energy Flex from the polled powers: the v1 status has no counters.
    return energy_counter(key, lambda data: getattr(data.energy, key))


SONNEN_SENSORS: tuple[EnergyFlexSensorDescription, ...] = (
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
    _power("battery_charge_power", lambda status: _charge(status.pac_total_w)),
    _power("battery_discharge_power", lambda status: _discharge(status.pac_total_w)),
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
    ),
    _sensor(
        "ac_voltage",
        lambda status: status.ac_voltage_v,
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
    ),
    _sensor(
        "battery_voltage",
        lambda status: status.battery_voltage_v,
        unit=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        category=EntityCategory.DIAGNOSTIC,
    ),
    _sensor("backup_buffer", lambda status: status.backup_buffer, unit=PERCENTAGE),
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


SONNEN_BINARY_SENSORS: tuple[EnergyFlexBinarySensorDescription, ...] = (
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


# --- control ----------------------------------------------------------------------------


class _StoredMode(TypedDict):
    found_mode: int | None


class SonnenControlAdapter:
    """Drives the setpoint paths in manual mode and restores the mode it found."""

    def __init__(
        self,
        hass: HomeAssistant,
        client: SonnenClient,
        coordinator: EnergyFlexCoordinator[SonnenData],
        storage_key: str,
        *,
        inverter_max_power: float | None,
        option_max_power: float | None,
    ) -> None:
        """Read bounds from the unit (or the option); remember the mode in storage."""
        self._client = client
        self._coordinator = coordinator
        self._inverter_max_power = inverter_max_power
        self._option_max_power = option_max_power
        # Stored before the unit leaves that mode, so a restart can still restore it.
        self._store: Store[_StoredMode] = Store(
            hass, _MODE_STORAGE_VERSION, f"{DOMAIN}.sonnen_mode.{storage_key}"
        )
        self._found_mode: int | None = None

    @property
    def found_mode(self) -> int | None:
        """The operating mode found when control was taken; `None` while not in control."""
        return self._found_mode

    @property
    def max_power(self) -> float | None:
        """The unit's inverter maximum, capped by the option; the option alone if unreported."""
        limits = [p for p in (self._inverter_max_power, self._option_max_power) if p]
        return min(limits, default=None)

    async def async_load(self) -> None:
        """Pick up a mode remembered before a restart."""
        stored = await self._store.async_load()
        if isinstance(stored, dict) and isinstance(mode := stored.get("found_mode"), int):
            self._found_mode = mode

    # --- ControlAdapter -----------------------------------------------------------

    @property
    def keepalive_interval(self) -> timedelta | None:
        """Setpoints persist on the unit in manual mode: nothing to repeat."""
        return None

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """−max … +max W; no discharge while the unit forbids it; nothing off grid."""
        status = self._status
        limit = self.max_power
        if status is None or limit is None or is_off_grid(status):
            return None
        return (0.0 - limit, 0.0 if status.discharge_not_allowed else limit)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """Off grid the inverter forms the grid itself; it must not take setpoints."""
        status = self._status
        return OFF_GRID_REASON if status is not None and is_off_grid(status) else None

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Manual mode first, then zero the other direction and set this one."""
        taking_over = self._found_mode is None
        await self._async_enter_manual_mode()
        try:
            watts = round(abs(value))
            if value > 0:
                await self._client.async_set_charge(0)
                await self._client.async_set_discharge(watts)
            else:
                await self._client.async_set_discharge(0)
                await self._client.async_set_charge(watts)
        except EnergyFlexApiError:
            if taking_over:
                # Leave the unit as it was, rather than in manual mode nobody holds.
                with contextlib.suppress(EnergyFlexApiError):
                    await self._async_restore_mode()
            raise

    async def async_release(self, kind: SetpointKind) -> None:
        """Both directions to 0 (the unit remembers each), then the mode found."""
        await self._client.async_set_discharge(0)
        await self._client.async_set_charge(0)
        await self._async_restore_mode()

    # --- lifecycle ----------------------------------------------------------------

    async def async_hand_back(self) -> None:
        """At shutdown: give the unit back now, as it persists the last command.

        The controller keeps its record, so a command with a duration left resumes at
        the next start and an expired or unbounded one stays released.
        """
        if self._found_mode is None:
            return
        try:
            await self.async_release(SetpointKind.BATTERY_POWER)
        except EnergyFlexApiError as err:
            _LOGGER.warning("Could not hand the sonnenBatterie back at shutdown: %s", err)

    # --- internals ----------------------------------------------------------------

    @property
    def _status(self) -> SonnenStatus | None:
        data = self._coordinator.data
        return data.status if data is not None else None

    async def _async_enter_manual_mode(self) -> None:
        status = self._status
        mode = status.operating_mode if status is not None else None
        if mode is None:
            mode = await self._client.async_get_operating_mode()
        taking_over = self._found_mode is None
        if taking_over:
            if mode is None:
                # Without the mode found, release could not restore it: do not start.
                raise ApiWriteRejectedError(WriteRejectedReason.MANUAL_MODE_UNAVAILABLE)
            await self._async_remember(mode)
        if mode == SonnenOperatingMode.MANUAL:
            return
        if not await self._client.async_set_operating_mode(SonnenOperatingMode.MANUAL):
            if taking_over:
                await self._async_remember(None)  # nothing changed on the unit
            raise ApiWriteRejectedError(WriteRejectedReason.MANUAL_MODE_UNAVAILABLE)

    async def _async_restore_mode(self) -> None:
        found = self._found_mode
        if (
            found is not None
            and found != SonnenOperatingMode.MANUAL
            and not await self._client.async_set_operating_mode(found)
        ):
            raise ApiWriteRejectedError(WriteRejectedReason.MANUAL_MODE_UNAVAILABLE)
        await self._async_remember(None)

    async def _async_remember(self, mode: int | None) -> None:
        self._found_mode = mode
        await self._store.async_save({"found_mode": mode})
