"""The FEMS channel catalogue the REST simulator serves, and its values per cycle.

Only channels the battery model can fill honestly are listed: the `_sum` catalogue
(notes §4), `_meta/Version`, `_host/Hostname`, the REST controller's debug log and
`ess0` with its write-only control channels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ..battery import BatteryModel
from ..jsontypes import JsonScalar, JsonValue
from .firmware import CUMULATED_UNITS, Version

SUM: Final = "_sum"
META: Final = "_meta"
HOST: Final = "_host"
ESS: Final = "ess0"
REST_CONTROLLER: Final = "ctrlApiRest0"

SET_ACTIVE_POWER_EQUALS: Final = f"{ESS}/SetActivePowerEquals"
SET_ACTIVE_POWER_LESS_OR_EQUALS: Final = f"{ESS}/SetActivePowerLessOrEquals"
SET_ACTIVE_POWER_GREATER_OR_EQUALS: Final = f"{ESS}/SetActivePowerGreaterOrEquals"

GRID_MODE_ON_GRID: Final = 1
GRID_MODE_OFF_GRID: Final = 2
GRID_MODE_UNDEFINED: Final = -1
GRID_MODE_CHANNELS: Final = frozenset({f"{SUM}/GridMode", f"{ESS}/GridMode"})
_GRID_MODE_TEXT: Final = "1:On-Grid, 2:Off-Grid, 3:Off-Grid Genset"
_STATE_TEXT: Final = "0:Ok, 1:Info, 2:Warning, 3:Fault"
_SOC_TEXT: Final = "Range 0..100"


class ChannelType(StrEnum):
    """`OpenemsType` names as the REST API reports them."""

    BOOLEAN = "BOOLEAN"
    INTEGER = "INTEGER"
    LONG = "LONG"
    STRING = "STRING"


class AccessMode(StrEnum):
    RO = "RO"
    RW = "RW"
    WO = "WO"


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel's fixed description; the value comes from the process image."""

    component: str
    channel: str
    type: ChannelType
    access: AccessMode = AccessMode.RO
    text: str = ""
    unit: str = ""

    @property
    def address(self) -> str:
        return f"{self.component}/{self.channel}"

    @property
    def writable(self) -> bool:
        return self.access is not AccessMode.RO

    def to_json(self, value: JsonScalar) -> dict[str, JsonValue]:
        """The REST object, fields in firmware order; write-only channels carry no value."""
        obj: dict[str, JsonValue] = {
            "address": self.address,
            "type": self.type.value,
            "accessMode": self.access.value,
            "text": self.text,
            "unit": self.unit,
        }
        if self.access is not AccessMode.WO:
            obj["value"] = value
        return obj


def build_catalogue(firmware: Version) -> tuple[ChannelSpec, ...]:
    """Every channel the simulated FEMS exposes, with units as `firmware` reports them."""
    return tuple(_catalogue(firmware))


def _catalogue(firmware: Version) -> Iterator[ChannelSpec]:
    cumulated = firmware >= CUMULATED_UNITS
    wh_total = "Wh_Σ" if cumulated else "Wh"
    yield from _sum_channels(wh_total, "sec_Σ" if cumulated else "sec")
    yield from _edge_channels()
    yield from _ess_channels(wh_total)


def _watts(component: str, channel: str, text: str = "") -> ChannelSpec:
    return ChannelSpec(component, channel, ChannelType.INTEGER, text=text, unit="W")


def _sum_channels(wh_total: str, sec_total: str) -> Iterator[ChannelSpec]:
    integer, long_ = ChannelType.INTEGER, ChannelType.LONG
    watts = _watts

    def energy(component: str, channel: str) -> ChannelSpec:
        return ChannelSpec(component, channel, long_, unit=wh_total)

    yield ChannelSpec(SUM, "State", integer, text=_STATE_TEXT)
    yield ChannelSpec(SUM, "EssSoc", integer, text=_SOC_TEXT, unit="%")
    yield watts(SUM, "EssActivePower", "AC-side ESS power; negative charge, positive discharge")
    yield from (watts(SUM, f"EssActivePowerL{phase}") for phase in (1, 2, 3))
    yield ChannelSpec(SUM, "EssReactivePower", integer, unit="var")
    yield watts(SUM, "EssDischargePower", "Actual battery power; negative charge")
    yield ChannelSpec(SUM, "EssCapacity", integer, unit="Wh")
    yield ChannelSpec(SUM, "EssMaxApparentPower", integer, unit="VA")
    yield watts(SUM, "GridActivePower", "Grid power; negative sell to grid, positive buy")
    yield from (watts(SUM, f"GridActivePowerL{phase}") for phase in (1, 2, 3))
    yield ChannelSpec(SUM, "GridMode", integer, text=_GRID_MODE_TEXT)
    yield ChannelSpec(SUM, "GridModeOffGridTime", long_, unit=sec_total)
    yield watts(SUM, "ProductionActivePower", "Total production; always positive")
    yield watts(SUM, "ProductionAcActivePower", "Production from AC sources")
    yield from (watts(SUM, f"ProductionAcActivePowerL{phase}") for phase in (1, 2, 3))
    yield watts(SUM, "ProductionDcActualPower", "Production from DC sources")
    yield watts(SUM, "ProductionMaxActivePower", "Highest production seen")
    yield watts(SUM, "ConsumptionActivePower", "Electrical consumption")
    yield from (watts(SUM, f"ConsumptionActivePowerL{phase}") for phase in (1, 2, 3))
    yield watts(SUM, "ConsumptionMaxActivePower", "Highest consumption seen")
    yield energy(SUM, "EssActiveChargeEnergy")
    yield energy(SUM, "EssActiveDischargeEnergy")
    yield energy(SUM, "EssDcChargeEnergy")
    yield energy(SUM, "EssDcDischargeEnergy")
    yield energy(SUM, "GridBuyActiveEnergy")
    yield energy(SUM, "GridSellActiveEnergy")
    yield energy(SUM, "ProductionActiveEnergy")
    yield energy(SUM, "ProductionAcActiveEnergy")
    yield energy(SUM, "ProductionDcActiveEnergy")
    yield energy(SUM, "ConsumptionActiveEnergy")
    yield ChannelSpec(SUM, "HasIgnoredComponentStates", ChannelType.BOOLEAN)


def _edge_channels() -> Iterator[ChannelSpec]:
    integer, string = ChannelType.INTEGER, ChannelType.STRING
    yield ChannelSpec(META, "Version", string, text="Version of the OpenEMS Edge")
    yield ChannelSpec(HOST, "Hostname", string)
    yield ChannelSpec(REST_CONTROLLER, "State", integer, text=_STATE_TEXT)
    yield ChannelSpec(REST_CONTROLLER, "ApiWorkerLog", string)


def _ess_channels(wh_total: str) -> Iterator[ChannelSpec]:
    integer, watts = ChannelType.INTEGER, _watts

    def energy(component: str, channel: str) -> ChannelSpec:
        return ChannelSpec(component, channel, ChannelType.LONG, unit=wh_total)

    yield ChannelSpec(ESS, "State", integer, text=_STATE_TEXT)
    yield ChannelSpec(ESS, "Soc", integer, text=_SOC_TEXT, unit="%")
    yield watts(ESS, "ActivePower", "Negative values for charge; positive for discharge")
    yield ChannelSpec(ESS, "ReactivePower", integer, unit="var")
    yield ChannelSpec(ESS, "Capacity", integer, unit="Wh")
    yield ChannelSpec(ESS, "MaxApparentPower", integer, unit="VA")
    yield ChannelSpec(ESS, "GridMode", integer, text=_GRID_MODE_TEXT)
    yield watts(ESS, "AllowedChargePower", "Negative value; the most the battery may charge")
    yield watts(ESS, "AllowedDischargePower", "The most the battery may discharge")
    yield energy(ESS, "ActiveChargeEnergy")
    yield energy(ESS, "ActiveDischargeEnergy")
    range_text = "Range e.g. [-5000 to 5000]"
    for name, text, unit in (
        (
            "SetActivePowerEquals",
            f"Write command for a charge power (-) or discharge power (+). {range_text}",
            "W",
        ),
        ("SetActivePowerLessOrEquals", "Upper bound of the active power (max. discharge)", "W"),
        ("SetActivePowerGreaterOrEquals", "Lower bound of the active power (max. charge)", "W"),
        ("SetReactivePowerEquals", "Write command for the reactive power", "var"),
        ("SetReactivePowerLessOrEquals", "Upper bound of the reactive power", "var"),
        ("SetReactivePowerGreaterOrEquals", "Lower bound of the reactive power", "var"),
    ):
        yield ChannelSpec(ESS, name, integer, AccessMode.WO, text, unit)


def _round(value: float) -> int:
    """Round half up: the firmware reports whole watts and percent."""
    return math.floor(value + 0.5)


def _phases(total: int) -> tuple[int, int, int]:
    """Split a whole-watt total over three phases so the phases add up exactly."""
    share = _round(total / 3)
    return share, share, total - 2 * share


@dataclass(slots=True)
class DeviceStatus:
    """Device facts outside the battery model that the image reports."""

    firmware: str
    hostname: str
    state: int = 0
    has_ignored_component_states: bool = False
    api_worker_log: str = ""


class ProcessImage:
    """Computes every readable channel's value once per controller cycle.

    Powers are rounded first and grid power is derived from the rounded values, so the
    power balance holds exactly in what a client reads.
    """

    def __init__(self) -> None:
        self._max_production = 0
        self._max_consumption = 0

    def build(self, model: BatteryModel, status: DeviceStatus) -> dict[str, JsonScalar]:
        flows = model.flows
        battery = _round(flows.battery_w)
        production = _round(flows.production_w)
        consumption = _round(flows.consumption_w)
        grid = consumption - production - battery
        self._max_production = max(self._max_production, production)
        self._max_consumption = max(self._max_consumption, consumption)
        soc = _round(model.soc)
        capacity = _round(model.capacity_wh)
        grid_mode = GRID_MODE_ON_GRID if model.on_grid else GRID_MODE_OFF_GRID
        max_apparent = _round(max(model.max_charge_w, model.max_discharge_w))
        charged, discharged = int(model.charged_wh), int(model.discharged_wh)

        values: dict[str, JsonScalar] = {
            "_sum/State": status.state,
            "_sum/EssSoc": soc,
            "_sum/EssActivePower": battery,
            "_sum/EssReactivePower": 0,
            "_sum/EssDischargePower": battery,
            "_sum/EssCapacity": capacity,
            "_sum/EssMaxApparentPower": max_apparent,
            "_sum/GridActivePower": grid,
            "_sum/GridMode": grid_mode,
            "_sum/GridModeOffGridTime": int(model.off_grid_s),
            # PV is modelled AC-coupled, so DC production stays zero.
            "_sum/ProductionActivePower": production,
            "_sum/ProductionAcActivePower": production,
            "_sum/ProductionDcActualPower": 0,
            "_sum/ProductionMaxActivePower": self._max_production,
            "_sum/ConsumptionActivePower": consumption,
            "_sum/ConsumptionMaxActivePower": self._max_consumption,
            "_sum/EssActiveChargeEnergy": charged,
            "_sum/EssActiveDischargeEnergy": discharged,
            "_sum/EssDcChargeEnergy": charged,
            "_sum/EssDcDischargeEnergy": discharged,
            "_sum/GridBuyActiveEnergy": int(model.grid_import_wh),
            "_sum/GridSellActiveEnergy": int(model.grid_export_wh),
            "_sum/ProductionActiveEnergy": int(model.produced_wh),
            "_sum/ProductionAcActiveEnergy": int(model.produced_wh),
            "_sum/ProductionDcActiveEnergy": 0,
            "_sum/ConsumptionActiveEnergy": int(model.consumed_wh),
            # BOOLEAN channels read as 1/0 over REST.
            "_sum/HasIgnoredComponentStates": int(status.has_ignored_component_states),
            "_meta/Version": status.firmware,
            "_host/Hostname": status.hostname,
            "ctrlApiRest0/State": 0,
            "ctrlApiRest0/ApiWorkerLog": status.api_worker_log,
            "ess0/State": status.state,
            "ess0/Soc": soc,
            "ess0/ActivePower": battery,
            "ess0/ReactivePower": 0,
            "ess0/Capacity": capacity,
            "ess0/MaxApparentPower": max_apparent,
            "ess0/GridMode": grid_mode,
            "ess0/AllowedChargePower": _round(model.allowed_charge_w),
            "ess0/AllowedDischargePower": _round(model.allowed_discharge_w),
            "ess0/ActiveChargeEnergy": charged,
            "ess0/ActiveDischargeEnergy": discharged,
        }
        for prefix, total in (
            ("_sum/EssActivePower", battery),
            ("_sum/GridActivePower", grid),
            ("_sum/ProductionAcActivePower", production),
            ("_sum/ConsumptionActivePower", consumption),
        ):
            for phase, share in enumerate(_phases(total), start=1):
                values[f"{prefix}L{phase}"] = share
        return values
