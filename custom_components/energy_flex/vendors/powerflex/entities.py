"""PowerFlex entities: one poll of a site, and the site's and the stations' sensors.

The site device shows the sum of its stations' power and carries the DCM controls
(`control.py`) and the real-time load (`realtime_load.py`); each charging station is its
own device. Station values come converted from the client (W, A, V, kWh); a value the
service did not send, or one that cannot be true, is unknown, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
)
from homeassistant.util import dt as dt_util

from ...api.powerflex import (
    DEFAULT_SIGNAL_NAME,
    MONTHS,
    ChargingState,
    ExternalSignal,
    PowerFlexSiteSnapshot,
    PowerFlexStation,
)
from ...descriptions import EnergyFlexSensorDescription, power_sensor
from ...descriptions.binary_sensor import EnergyFlexBinarySensorDescription


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerFlexSiteData:
    """One poll of the site: its stations, the DCM cap and the monthly targets.

    `signal` is `None` when the site has no DCM external signal (DCM off for it) or the
    service did not say; `targets` is `None` until the service answered them.
    """

    snapshot: PowerFlexSiteSnapshot
    signal: ExternalSignal | None = None
    targets: dict[str, int] | None = None

    def station(self, acs_id: int) -> PowerFlexStation | None:
        """One station's newest reading, `None` when it did not report in the window."""
        return self.snapshot.stations.get(acs_id)


def dcm_signal(signals: dict[str, ExternalSignal]) -> ExternalSignal | None:
    """The site's DCM cap: the signal named as in the vendor's example, else the only one."""
    if DEFAULT_SIGNAL_NAME in signals:
        return signals[DEFAULT_SIGNAL_NAME]
    return next(iter(signals.values())) if len(signals) == 1 else None


def this_month() -> str:
    """The month (`Jan` … `Dec`) in Home Assistant's time zone."""
    return MONTHS[dt_util.now().month - 1]


# --- site -----------------------------------------------------------------------------------

SITE_CHARGING_POWER: Final = power_sensor(
    "site_charging_power", lambda data: data.snapshot.charging_power_w
)

# --- stations -------------------------------------------------------------------------------


STATION_SENSORS: Final[tuple[EnergyFlexSensorDescription, ...]] = (
    power_sensor("charging_power", lambda station: station.power_w),
    EnergyFlexSensorDescription(
        key="charging_current",
        translation_key="charging_current",
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda station: station.current_a,
    ),
    EnergyFlexSensorDescription(
        key="charging_voltage",
        translation_key="charging_voltage",
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda station: station.voltage_v,
    ),
    # Restarts at 0 with each session: total_increasing counts every session once, so the
    # Energy dashboard can show the station as an individual device.
    EnergyFlexSensorDescription(
        key="session_energy",
        translation_key="session_energy",
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value_fn=lambda station: station.session_energy_kwh,
    ),
    EnergyFlexSensorDescription(
        key="current_limit",
        translation_key="current_limit",
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda station: station.current_limit_a,
    ),
    EnergyFlexSensorDescription(
        key="charging_state",
        translation_key="charging_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in ChargingState],
        value_fn=lambda station: station.charging_state,
    ),
)

STATION_BINARY_SENSORS: Final[tuple[EnergyFlexBinarySensorDescription, ...]] = (
    EnergyFlexBinarySensorDescription(
        key="vehicle_connected",
        translation_key="vehicle_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        value_fn=lambda station: station.vehicle_connected,
    ),
    EnergyFlexBinarySensorDescription(
        key="contactor_closed",
        translation_key="contactor_closed",
        value_fn=lambda station: station.contactor_closed,
    ),
)

STATION_KEYS: Final = frozenset(
    description.key for description in (*STATION_SENSORS, *STATION_BINARY_SENSORS)
)
