"""The FENECON FEMS battery as every FEMS transport sees it.

REST and Modbus read the same OpenEMS channels; both produce a `FemsSnapshot`, so the
integration shows the same entities whichever way the device is reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

# The ess0 write channels Energy Flex holds: every FEMS transport writes these.
SET_ACTIVE_POWER_EQUALS: Final = "SetActivePowerEquals"
SET_ACTIVE_POWER_LESS_OR_EQUALS: Final = "SetActivePowerLessOrEquals"
SET_ACTIVE_POWER_GREATER_OR_EQUALS: Final = "SetActivePowerGreaterOrEquals"


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
