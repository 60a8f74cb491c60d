"""What a sonnenBatterie's `/api/v1/status` looks like on different firmware and regions.

`sonnen-api-notes.md` §3.2 lists the variance seen in real captures; each profile renders
the same physical state with its generation's keys and types, so a client must accept all
of them: numbers as int or float, strings for `OperatingMode` and `BackupBuffer`,
nulls, absent keys, either remaining-capacity key, `SystemStatus` spelt two ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ..battery import BatteryModel
from ..jsontypes import JsonValue

# Below this RSOC the user sees 0 % USOC: the bottom of the battery is a reserve.
_USOC_ZERO_AT_RSOC: Final = 5.0


@dataclass(frozen=True, slots=True)
class StatusProfile:
    """How one firmware generation renders the status."""

    name: str
    description: str
    # Keys rendered as floats (e.g. 234.0); all other numbers are ints.
    floats: frozenset[str] = frozenset()
    # Keys this generation does not send at all, and keys it sends as null.
    absent: frozenset[str] = frozenset()
    nulls: frozenset[str] = frozenset()
    remaining_key: str | None = "RemainingCapacity_Wh"
    on_grid_text: str = "OnGrid"
    off_grid_text: str = "OffGrid"
    frequency_hz: float = 49.98
    ac_voltage_v: float = 234.0
    # Battery voltage from empty to full (48 V LFP eco 8, or a high-voltage stack).
    battery_voltage_v: tuple[float, float] = (48.0, 56.0)
    extra: dict[str, JsonValue] = field(default_factory=dict)
    # The unit's configuration (`/api/configuration/<name>`), values as this unit types them.
    configuration: dict[str, JsonValue] = field(default_factory=dict)
    # Body of a successful setpoint answer (undocumented; clients must not read it).
    setpoint_body: bytes = b""
    setpoint_content_type: str = "text/html"


_TN007_KEYS: Final = frozenset(
    {
        "Consumption_W",
        "Fac",
        "IsSystemInstalled",
        "Pac_total_W",
        "Production_W",
        "RSOC",
        "Timestamp",
        "USOC",
        "Uac",
        "Ubat",
    }
)
_ALL_KEYS: Final = frozenset(
    {
        *_TN007_KEYS,
        "Apparent_output",
        "BackupBuffer",
        "BatteryCharging",
        "BatteryDischarging",
        "Consumption_Avg",
        "FlowConsumptionBattery",
        "FlowConsumptionGrid",
        "FlowConsumptionProduction",
        "FlowGridBattery",
        "FlowProductionBattery",
        "FlowProductionGrid",
        "GridFeedIn_W",
        "OperatingMode",
        "Sac1",
        "Sac2",
        "Sac3",
        "SystemStatus",
        "dischargeNotAllowed",
        "generator_autostart",
    }
)

PROFILES: Final[dict[str, StatusProfile]] = {
    profile.name: profile
    for profile in (
        StatusProfile(
            name="eu_current",
            description="EU three-phase unit, 2024 firmware",
            # 2024 capture: floats for grid and voltages, null apparent and phase powers.
            floats=frozenset({"GridFeedIn_W", "Uac", "Ubat", "Fac"}),
            nulls=frozenset({"Apparent_output", "Sac1", "Sac2", "Sac3"}),
            battery_voltage_v=(186.0, 218.0),
            configuration={
                "EM_OperatingMode": "2",
                "EM_USOC": "20",
                "IC_InverterMaxPower_w": "4600",
                "DE_Software": "1.14.5",
                "DE_Ticket_Number": "330123",
            },
            setpoint_body=b"true",
            setpoint_content_type="application/json",
        ),
        StatusProfile(
            name="eu_old",
            description="EU single-phase unit, 2020/2021 firmware",
            floats=frozenset({"Fac"}),
            # Single phase: the other two phases' apparent power is null.
            nulls=frozenset({"Sac2", "Sac3"}),
            remaining_key="RemainingCapacity_W",
            extra={"NVM_REINIT_STATUS": 0},
            configuration={
                "EM_OperatingMode": "2",
                "EM_USOC": 0,
                "IC_InverterMaxPower_w": 3300,
                "DE_Software": "1.6.18",
                "DE_Ticket_Number": 212345,
            },
            # 18 bytes, as TN007's Content-Length; the content itself is a guess.
            setpoint_body=b'{"ReturnCode":0}\r\n',
        ),
        StatusProfile(
            name="us",
            description="US ecoLinx (self-consumption mode 8, 60 Hz)",
            absent=frozenset(
                {
                    "Apparent_output",
                    "Sac1",
                    "Sac2",
                    "Sac3",
                    "Consumption_Avg",
                    "dischargeNotAllowed",
                    "generator_autostart",
                }
            ),
            remaining_key=None,
            on_grid_text="Ongrid",
            off_grid_text="Offgrid",
            frequency_hz=60,
            ac_voltage_v=240.0,
            configuration={
                "EM_OperatingMode": "8",
                "EM_USOC": "5",
                "IC_InverterMaxPower_w": "8000",
                "DE_Software": "1.8.2",
                "DE_Ticket_Number": "US81234",
            },
            setpoint_body=b'{"ReturnCode":0}\r\n',
        ),
        StatusProfile(
            name="tn007",
            description="only the ten keys of the TN007 document",
            absent=_ALL_KEYS - _TN007_KEYS,
            remaining_key=None,
            configuration={"EM_OperatingMode": "2", "IC_InverterMaxPower_w": "2500"},
        ),
    )
}


def usoc_of(rsoc: float) -> float:
    """User state of charge: RSOC scaled so that the reserve at the bottom reads 0 %."""
    scaled = (rsoc - _USOC_ZERO_AT_RSOC) / (100.0 - _USOC_ZERO_AT_RSOC) * 100.0
    return min(max(scaled, 0.0), 100.0)


def status_body(
    profile: StatusProfile,
    battery: BatteryModel,
    *,
    operating_mode: int,
    backup_buffer: int,
    timestamp: str,
) -> dict[str, JsonValue]:
    """The status as `profile`'s firmware would send it for the battery's current state."""
    flows = battery.flows
    pac = round(flows.battery_w)
    feed_in = round(-flows.grid_w)
    production = round(flows.production_w)
    consumption = round(flows.consumption_w)
    rsoc = round(battery.soc)
    usoc = round(usoc_of(battery.soc))
    low, high = profile.battery_voltage_v
    phase_va = round(abs(pac) / 3)
    body: dict[str, JsonValue] = {
        "Apparent_output": abs(pac),
        "BackupBuffer": str(backup_buffer),
        "BatteryCharging": pac < 0,
        "BatteryDischarging": pac > 0,
        "Consumption_Avg": consumption,
        "Consumption_W": consumption,
        "Fac": profile.frequency_hz,
        "FlowConsumptionBattery": pac > 0 and consumption > 0,
        "FlowConsumptionGrid": feed_in < 0 and consumption > 0,
        "FlowConsumptionProduction": production > 0 and consumption > 0,
        "FlowGridBattery": feed_in < 0 and pac < 0,
        "FlowProductionBattery": production > 0 and pac < 0,
        "FlowProductionGrid": production > 0 and feed_in > 0,
        "GridFeedIn_W": feed_in,
        "IsSystemInstalled": 1,
        "OperatingMode": str(operating_mode),
        "Pac_total_W": pac,
        "Production_W": production,
        "RSOC": rsoc,
        "Sac1": phase_va,
        "Sac2": phase_va,
        "Sac3": phase_va,
        "SystemStatus": profile.on_grid_text if battery.on_grid else profile.off_grid_text,
        "Timestamp": timestamp,
        "USOC": usoc,
        "Uac": round(profile.ac_voltage_v),
        "Ubat": round(low + (high - low) * battery.soc / 100.0),
        "dischargeNotAllowed": usoc == 0,
        "generator_autostart": False,
    }
    if profile.remaining_key is not None:
        body[profile.remaining_key] = round(battery.stored_wh)
    for key in profile.floats:
        value = body.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            body[key] = float(value)
    for key in profile.nulls:
        body[key] = None
    for key in profile.absent:
        body.pop(key, None)
    body.update(profile.extra)
    return dict(sorted(body.items()))
