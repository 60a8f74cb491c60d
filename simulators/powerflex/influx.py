"""Measurement rows and the InfluxDB 1.x answers of `get_measurement_data` (notes §5, §6).

Rows carry the ids as zero-padded strings (`"acc_id": "03"`), `time` as float epoch
seconds, the units of the notes (mA, mV, mWh) and `power` in the configured unit. Columns
come as InfluxDB lists them for `SELECT *`: `time` first, then alphabetical.
"""

from __future__ import annotations

from typing import Final, Literal

from ..jsontypes import JsonValue
from .model import Site, Station

type PowerUnit = Literal["kW", "mW", "W"]

ACN_ID: Final = 12
MEASUREMENTS: Final = ("ct_response", "evse_request", "evse_response")
_SHARED: Final = (
    "acc_id",
    "acg_id",
    "acn_id",
    "acs_id",
    "charging_state",
    "evse_address",
    "evse_type",
    "space_number",
    "version",
)
_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "ct_response": (
        "energy_delivered",
        "mamps_actual",
        "peak_rate",
        "phases",
        "pilot_actual",
        "power",
        "voltage",
    ),
    "evse_request": ("mamps_last", "mamps_limit", "mamps_rampdown"),
    "evse_response": ("connected", "contactor", "mamps_last", "response_period"),
}
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    name: ("time", *sorted((*_SHARED, *fields))) for name, fields in _FIELDS.items()
}
_PER_WATT: Final[dict[PowerUnit, float]] = {"kW": 0.001, "W": 1.0, "mW": 1000.0}


def station_rows(
    site: Site,
    station: Station,
    now: float,
    *,
    power_unit: PowerUnit,
    report_interval_s: float,
) -> dict[str, dict[str, JsonValue]]:
    """The three measurement rows one station reports at `now`, by measurement."""
    ids: dict[str, JsonValue] = {
        "time": round(now, 3),
        "acn_id": f"{ACN_ID:04d}",
        "acc_id": f"{site.acc_id:02d}",
        "acg_id": f"{station.acg_id:02d}",
        "acs_id": f"{station.acs_id:02d}",
        "charging_state": station.charging_state,
        "evse_address": (
            f"{ACN_ID:04d}.{site.acc_id:02d}.{station.acg_id:02d}.{station.acs_id:02d}"
        ),
        "evse_type": station.evse_type,
        "space_number": station.space_number,
        "version": "1.0",
    }
    mamps = round(station.current_a * 1000.0, 1)
    watts = station.current_a * site.voltage_v
    car_max_a = station.car.max_current_a if station.car is not None else 0.0
    return {
        "ct_response": {
            **ids,
            "energy_delivered": round(station.session_wh * 1000.0, 1),  # mWh
            "mamps_actual": mamps,
            "peak_rate": 0.0,
            "phases": station.phases,
            "pilot_actual": station.pilot_a,  # A, not mA
            "power": watts * _PER_WATT[power_unit],
            "voltage": round(site.voltage_v * 1000.0, 1),  # mV, line to line
        },
        "evse_request": {
            **ids,
            "mamps_last": mamps,
            "mamps_limit": station.pilot_a * 1000.0,
            "mamps_rampdown": car_max_a * 1000.0,
        },
        "evse_response": {
            **ids,
            "connected": 1.0 if station.car is not None else 0.0,
            "contactor": 1.0 if station.contactor_closed else 0.0,
            "mamps_last": mamps,
            "response_period": report_interval_s,
        },
    }


def answer(
    measurement: str, rows: list[dict[str, JsonValue]], *, partial: bool = False
) -> dict[str, JsonValue]:
    """`{"data": <InfluxDB response>}` for `rows`; no `series` key when there are none."""
    result: dict[str, JsonValue] = {"statement_id": 0}
    if rows:
        columns = COLUMNS[measurement]
        values: list[JsonValue] = [[row.get(column) for column in columns] for row in rows]
        result["series"] = [{"name": measurement, "columns": list(columns), "values": values}]
    if partial:
        result["partial"] = True
    return {"data": {"results": [result]}}
