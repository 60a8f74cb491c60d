"""The FENECON FEMS battery as every FEMS transport sees it.

REST and Modbus read the same OpenEMS channels; both produce a `FemsSnapshot`, so the
integration shows the same entities whichever way the device is reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Final

from .values import as_enum, as_number

# The ess0 write channels Energy Flex holds: every FEMS transport writes these.
SET_ACTIVE_POWER_EQUALS: Final = "SetActivePowerEquals"
SET_ACTIVE_POWER_LESS_OR_EQUALS: Final = "SetActivePowerLessOrEquals"
SET_ACTIVE_POWER_GREATER_OR_EQUALS: Final = "SetActivePowerGreaterOrEquals"

# The ESS whose allowed power bounds the setpoints (the one every FEMS has).
ESS_ID: Final = "ess0"


class FemsGridMode(StrEnum):
    """`_sum/GridMode` options; -1 (UNDEFINED) and null become `None`."""

    ON_GRID = "on_grid"
    OFF_GRID = "off_grid"
    OFF_GRID_GENSET = "off_grid_genset"


GRID_MODE_BY_VALUE = {
    1: FemsGridMode.ON_GRID,
    2: FemsGridMode.OFF_GRID,
    3: FemsGridMode.OFF_GRID_GENSET,
}


class FemsState(StrEnum):
    """`_sum/State` (OpenEMS Level)."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    FAULT = "fault"


STATE_BY_VALUE = {0: FemsState.OK, 1: FemsState.INFO, 2: FemsState.WARNING, 3: FemsState.FAULT}


@dataclass(frozen=True, slots=True, kw_only=True)
class FemsSnapshot:
    """One poll of a FEMS; `None` means the value is undefined now, or the device lacks it.

    Signs are OpenEMS's, which are Home Assistant's: ESS power + discharge / − charge,
    grid power + import / − export.
    """

    version: str | None = None
    hostname: str | None = None
    state: FemsState | None = None
    soc: float | None = None
    battery_power: float | None = None
    capacity: float | None = None
    grid_power: float | None = None
    grid_mode: FemsGridMode | None = None
    production_power: float | None = None
    consumption_power: float | None = None
    battery_charged_energy: float | None = None
    battery_discharged_energy: float | None = None
    grid_imported_energy: float | None = None
    grid_exported_energy: float | None = None
    produced_energy: float | None = None
    consumed_energy: float | None = None
    allowed_charge_power: float | None = None
    allowed_discharge_power: float | None = None
    # The fields this device has at all (its channel or register exists), defined now or
    # not; `None` when the transport cannot tell, and then every field counts as present.
    present: frozenset[str] | None = None

    def has(self, *fields: str) -> bool:
        """Whether the device has every one of `fields` (values may still be undefined)."""
        return self.present is None or self.present.issuperset(fields)

    # What the ESS says it can do (VA); bounds the powers shown.
    max_apparent_power: float | None = None


def as_text(raw: object) -> str | None:
    """Return a non-empty string value, or `None`."""
    if isinstance(raw, str) and (text := raw.strip().strip("\x00")):
        return text
    return None


# Where each snapshot field comes from: a field whose channel is not in the answer is one
# this FEMS does not have (the regex matches existing channels only, null or not).
_ADDRESS_BY_FIELD: Final = {
    "version": "_meta/Version",
    "hostname": "_host/Hostname",
    "state": "_sum/State",
    "soc": "_sum/EssSoc",
    "battery_power": "_sum/EssDischargePower",
    "capacity": "_sum/EssCapacity",
    "grid_power": "_sum/GridActivePower",
    "grid_mode": "_sum/GridMode",
    "production_power": "_sum/ProductionActivePower",
    "consumption_power": "_sum/ConsumptionActivePower",
    "battery_charged_energy": "_sum/EssDcChargeEnergy",
    "battery_discharged_energy": "_sum/EssDcDischargeEnergy",
    "grid_imported_energy": "_sum/GridBuyActiveEnergy",
    "grid_exported_energy": "_sum/GridSellActiveEnergy",
    "produced_energy": "_sum/ProductionActiveEnergy",
    "consumed_energy": "_sum/ConsumptionActiveEnergy",
    "allowed_charge_power": f"{ESS_ID}/AllowedChargePower",
    "allowed_discharge_power": f"{ESS_ID}/AllowedDischargePower",
    "max_apparent_power": "_sum/EssMaxApparentPower",
}


_ADDRESSES: Final = frozenset(_ADDRESS_BY_FIELD.values())


@lru_cache(maxsize=8)
def _fields_present(addresses: frozenset[str]) -> frozenset[str]:
    # A FEMS answers the same channels poll after poll, and most FEMS the same ones: every
    # snapshot and device shares one set instead of building and keeping its own.
    return frozenset(field for field, address in _ADDRESS_BY_FIELD.items() if address in addresses)


def snapshot_from_channels(channels: Mapping[str, object]) -> FemsSnapshot:
    """A snapshot from channel values keyed by address (`_sum/EssSoc`, …).

    REST reads and the cloud's `getEdgesChannelsValues` both key values this way; a
    missing address or an unusable value is `None`.
    """

    def number(address: str) -> float | None:
        return as_number(channels.get(address))

    return FemsSnapshot(
        version=as_text(channels.get("_meta/Version")),
        hostname=as_text(channels.get("_host/Hostname")),
        state=as_enum(channels.get("_sum/State"), STATE_BY_VALUE),
        soc=number("_sum/EssSoc"),
        battery_power=number("_sum/EssDischargePower"),
        capacity=number("_sum/EssCapacity"),
        grid_power=number("_sum/GridActivePower"),
        grid_mode=as_enum(channels.get("_sum/GridMode"), GRID_MODE_BY_VALUE),
        production_power=number("_sum/ProductionActivePower"),
        consumption_power=number("_sum/ConsumptionActivePower"),
        battery_charged_energy=number("_sum/EssDcChargeEnergy"),
        battery_discharged_energy=number("_sum/EssDcDischargeEnergy"),
        grid_imported_energy=number("_sum/GridBuyActiveEnergy"),
        grid_exported_energy=number("_sum/GridSellActiveEnergy"),
        produced_energy=number("_sum/ProductionActiveEnergy"),
        consumed_energy=number("_sum/ConsumptionActiveEnergy"),
        allowed_charge_power=number(f"{ESS_ID}/AllowedChargePower"),
        allowed_discharge_power=number(f"{ESS_ID}/AllowedDischargePower"),
        present=_fields_present(frozenset(channels.keys() & _ADDRESSES)),
        max_apparent_power=number("_sum/EssMaxApparentPower"),
    )
