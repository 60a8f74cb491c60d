"""sonnenBatterie local JSON API v1 client (`sonnenbatterie-api-v1.txt`, `sonnen-api-notes.md`).

One poll is one `GET /api/v1/status`, parsed tolerantly: real units differ in which keys
they send and in their types (§3.2 of the notes). Setpoints are
`PUT /api/v1/setpoint/{charge,discharge}/<W>` with W >= 0; the direction is the path. The
operating mode and the inverter's limits go through `/api/setting` and
`/api/configuration/<name>`, which not every firmware offers: those calls answer `None` or
`False` there instead of failing.

Signs stay the device's here (`Pac_total_W` + discharge, `GridFeedIn_W` + export); the
integration converts them in `vendors/sonnen/entities.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Final

import aiohttp
from yarl import URL

from .errors import ApiConnectionError, ApiDeviceError, ApiResponseError
from .http import HttpAnswer, async_request
from .values import as_number, parse_json

DEFAULT_PORT: Final = 8080

STATUS_PATH: Final = "/api/v1/status"
SETPOINT_PATH: Final = "/api/v1/setpoint"
SETTING_PATH: Final = "/api/setting"
CONFIGURATION_PATH: Final = "/api/configuration"

OPERATING_MODE: Final = "EM_OperatingMode"
INVERTER_MAX_POWER: Final = "IC_InverterMaxPower_w"
SOFTWARE_VERSION: Final = "DE_Software"
# The serial number ("ticket number") as sonnen's own tools read it from the configuration.
SERIAL_NUMBER: Final = "DE_Ticket_Number"

# A status is ~1.5 KB; anything far larger is not an answer we asked for.
_MAX_BODY_BYTES: Final = 64 * 1024
_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
_SETTING_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

# Keys of TN007's example; a status must carry at least one of them to be a sonnen status.
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


class SonnenOperatingMode(IntEnum):
    """`EM_OperatingMode` values (notes §5.3); a unit may report others."""

    MANUAL = 1
    AUTOMATIC = 2
    TESTING = 4
    MODULE_EXTENSION = 6
    BACKUP = 7
    SELF_CONSUMPTION = 8
    TIME_OF_USE = 10
    OPTIMIZATION = 11


class SonnenGridState(StrEnum):
    """`SystemStatus`, compared case-insensitively ("OnGrid" or "Ongrid")."""

    ON_GRID = "on_grid"
    OFF_GRID = "off_grid"


class SonnenReturnCode(IntEnum):
    """The v1 return codes (ecoLinx v7.2, a superset of TN007's table)."""

    OK = 0
    MAX_RETRIES = 1
    TCP_CONNECTION_ERROR = 2
    INVALID_PATH = 5
    DATABASE_ERROR = 8
    INVALID_SETTING = 11
    INTERNAL_ERROR = 13
    RESTARTING = 14
    INVALID_METHOD = 16


# The id (a translation key of the integration) for each failure a unit can report.
REASON_BY_RETURN_CODE: Final[dict[int, str]] = {
    SonnenReturnCode.MAX_RETRIES: "sonnen_max_retries",
    SonnenReturnCode.TCP_CONNECTION_ERROR: "sonnen_tcp_error",
    SonnenReturnCode.INVALID_PATH: "sonnen_invalid_path",
    SonnenReturnCode.DATABASE_ERROR: "sonnen_database_error",
    SonnenReturnCode.INVALID_SETTING: "sonnen_invalid_setting",
    SonnenReturnCode.INTERNAL_ERROR: "sonnen_internal_error",
    SonnenReturnCode.RESTARTING: "sonnen_restarting",
    SonnenReturnCode.INVALID_METHOD: "sonnen_invalid_method",
}
UNKNOWN_RETURN_CODE: Final = "sonnen_return_code"
# An HTML 404 on the status: the JSON API is switched off in the sonnen dashboard.
API_DISABLED: Final = "sonnen_api_disabled"
# HTTP 403 on a setpoint: the sonnen VPP (or sonnenFlat) owns the battery now.
VPP_PRIORITY: Final = "sonnen_vpp_priority"


@dataclass(frozen=True, slots=True, kw_only=True)
class SonnenStatus:
    """One `/api/v1/status`; `None` wherever the unit sent nothing usable.

    Signs are the device's: `pac_total_w` + discharge / − charge, `grid_feed_in_w`
    + export (feed-in) / − import (purchase).
    """

    consumption_w: float | None = None
    consumption_avg_w: float | None = None
    production_w: float | None = None
    pac_total_w: float | None = None
    grid_feed_in_w: float | None = None
    apparent_output_va: float | None = None
    rsoc: float | None = None
    usoc: float | None = None
    remaining_capacity_wh: float | None = None
    backup_buffer: int | None = None
    # Kept as the raw number, so a mode unknown to us can still be restored exactly.
    operating_mode: int | None = None
    grid_state: SonnenGridState | None = None
    frequency_hz: float | None = None
    ac_voltage_v: float | None = None
    battery_voltage_v: float | None = None
    timestamp: datetime | None = None
    system_installed: bool | None = None
    battery_charging: bool | None = None
    battery_discharging: bool | None = None
    flow_consumption_battery: bool | None = None
    flow_consumption_grid: bool | None = None
    flow_consumption_production: bool | None = None
    flow_grid_battery: bool | None = None
    flow_production_battery: bool | None = None
    flow_production_grid: bool | None = None
    discharge_not_allowed: bool | None = None
    generator_autostart: bool | None = None
    # The keys the unit sent, null or not: a key missing here is a value this firmware
    # does not have (notes §3.2). `None` when not known: every key counts as sent.
    keys: frozenset[str] | None = None

    def sent(self, *keys: str) -> bool:
        """Whether the unit sends every one of `keys` (their values may still be null)."""
        return self.keys is None or self.keys.issuperset(keys)


class _NotOfferedError(Exception):
    """An optional endpoint this unit does not serve (404, 405, return code 5 or 16)."""


class SonnenClient:
    """Reads and controls one sonnenBatterie over its local API v1 (no authentication)."""

    def __init__(self, session: aiohttp.ClientSession, host: str, port: int = DEFAULT_PORT) -> None:
        """Use the caller's session; the client never owns or closes it."""
        self._session = session
        self._host = host
        self._port = port
        # Units documented with GET (ecoLinx) may refuse PUT; once seen, GET directly.
        self._setpoint_method = "PUT"

    # --- status -------------------------------------------------------------------

    async def async_get_status(self) -> SonnenStatus:
        """One poll: `GET /api/v1/status`."""
        answer = await self._request("GET", STATUS_PATH)
        if answer.status == 404 and _is_html(answer):
            raise ApiDeviceError(API_DISABLED)
        decoded = _check(answer)
        if not isinstance(decoded, dict) or not _TN007_KEYS & decoded.keys():
            raise ApiResponseError("answer is not a sonnen status")
        return parse_status(decoded)

    # --- setpoints ----------------------------------------------------------------

    async def async_set_charge(self, watts: int) -> None:
        """Charge with `watts` (>= 0); the unit keeps it until it gets another value."""
        await self._async_setpoint("charge", watts)

    async def async_set_discharge(self, watts: int) -> None:
        """Discharge with `watts` (>= 0); the unit keeps it until it gets another value."""
        await self._async_setpoint("discharge", watts)

    async def _async_setpoint(self, direction: str, watts: int) -> None:
        if isinstance(watts, bool) or not isinstance(watts, int) or watts < 0:
            raise ValueError("a setpoint is a whole number of watts >= 0")
        path = f"{SETPOINT_PATH}/{direction}/{watts}"
        answer = await self._request(self._setpoint_method, path)
        if self._setpoint_method == "PUT" and _refuses_method(answer):
            # PUT is official, GET is what the ecoLinx document and most clients use.
            self._setpoint_method = "GET"
            answer = await self._request("GET", path)
        if answer.status == 403:
            raise ApiDeviceError(VPP_PRIORITY)
        if answer.status == 404 and _is_html(answer):
            raise ApiDeviceError(API_DISABLED)
        # Any 2xx is accepted whatever the body, unless it carries a return code.
        _check(answer)

    # --- settings and configuration ------------------------------------------------

    async def async_get_configuration(self, name: str) -> object:
        """One configuration value, or `None` when the unit does not offer it."""
        _require_setting_name(name)
        answer = await self._request("GET", f"{CONFIGURATION_PATH}/{name}")
        try:
            decoded = _check(answer, optional=True)
        except _NotOfferedError:
            return None
        # v2 answers {"<name>": value}; accept a bare value as well.
        return decoded.get(name) if isinstance(decoded, dict) else decoded

    async def async_set_setting(self, name: str, value: str) -> bool:
        """`GET /api/setting?<name>=<value>`; `False` when the unit does not offer it."""
        _require_setting_name(name)
        answer = await self._request("GET", SETTING_PATH, params={name: value})
        try:
            _check(answer, optional=True)
        except _NotOfferedError:
            return False
        return True

    async def async_get_operating_mode(self) -> int | None:
        """`EM_OperatingMode` from the configuration, where the unit offers it."""
        return as_whole_number(await self.async_get_configuration(OPERATING_MODE))

    async def async_set_operating_mode(self, mode: int) -> bool:
        """Switch `EM_OperatingMode` (written as a string, as sonnen's own tools do)."""
        return await self.async_set_setting(OPERATING_MODE, str(mode))

    async def async_get_inverter_max_power(self) -> float | None:
        """`IC_InverterMaxPower_w` in W, where the unit offers it and it is positive."""
        value = as_number(await self.async_get_configuration(INVERTER_MAX_POWER))
        return value if value is not None and value > 0 else None

    async def async_get_serial_number(self) -> str | None:
        """The unit's serial number, where the configuration offers it."""
        return as_text(await self.async_get_configuration(SERIAL_NUMBER))

    async def async_get_software_version(self) -> str | None:
        """The unit's software version, where the configuration offers it."""
        return as_text(await self.async_get_configuration(SOFTWARE_VERSION))

    # --- transport ----------------------------------------------------------------

    async def _request(
        self, method: str, path: str, params: dict[str, str] | None = None
    ) -> HttpAnswer:
        url = URL.build(scheme="http", host=self._host, port=self._port, path=path)
        return await async_request(
            self._session,
            method,
            url,
            params=params,
            timeout=_TIMEOUT,
            max_body_bytes=_MAX_BODY_BYTES,
        )


# --- answers ----------------------------------------------------------------------


def _is_html(answer: HttpAnswer) -> bool:
    head = answer.body[:256].lstrip().lower()
    return "html" in answer.content_type or head.startswith((b"<!doctype", b"<html"))


def _decode(body: bytes) -> object:
    """The body as JSON, or `None` when it is not JSON (v1 setpoints answer text/html)."""
    try:
        return parse_json(body)
    except ValueError:
        return None


def return_code(decoded: object) -> int | None:
    """A return code carried in a JSON object (`ReturnCode`, `return_code`, ...)."""
    if not isinstance(decoded, dict):
        return None
    for key, value in decoded.items():
        if re.sub(r"[^a-z]", "", str(key).lower()) == "returncode":
            return as_whole_number(value)
    return None


def _refuses_method(answer: HttpAnswer) -> bool:
    code = return_code(_decode(answer.body))
    return answer.status == 405 or code == SonnenReturnCode.INVALID_METHOD


def _check(answer: HttpAnswer, *, optional: bool = False) -> object:
    """Decode a successful answer, or raise what its status or return code says.

    With `optional`, an endpoint the unit does not serve raises `_NotOfferedError`.
    """
    decoded = _decode(answer.body)
    code = return_code(decoded)
    if code is not None and code != SonnenReturnCode.OK:
        if optional and code in (SonnenReturnCode.INVALID_PATH, SonnenReturnCode.INVALID_METHOD):
            raise _NotOfferedError
        raise ApiDeviceError(REASON_BY_RETURN_CODE.get(code, UNKNOWN_RETURN_CODE), code)
    if 200 <= answer.status < 300:
        return decoded
    if optional and answer.status in (404, 405, 501):
        raise _NotOfferedError
    if answer.status >= 500:
        # The unit is busy or restarting; the next poll may well succeed.
        raise ApiConnectionError(f"HTTP {answer.status}")
    raise ApiResponseError(f"HTTP {answer.status}")


def _require_setting_name(name: str) -> None:
    if not _SETTING_NAME.fullmatch(name):
        raise ValueError("not a sonnen setting name")


# --- tolerant values (notes §3.2) -------------------------------------------------------


def as_whole_number(raw: object) -> int | None:
    """`int(str(x))` made safe: "8", 8 and 8.0 are 8; 8.5 and text are `None`."""
    value = as_number(raw)
    return int(value) if value is not None and value.is_integer() else None


def as_flag(raw: object) -> bool | None:
    """A boolean sent as true/false, 1/0 or a string of either."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in ("true", "false"):
            return text == "true"
    value = as_whole_number(raw)
    return bool(value) if value in (0, 1) else None


def as_text(raw: object) -> str | None:
    """A non-empty string (numbers become their digits, as serials sometimes are)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, str) and (text := raw.strip()):
        return text
    return None


def _grid_state(raw: object) -> SonnenGridState | None:
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    return {"ongrid": SonnenGridState.ON_GRID, "offgrid": SonnenGridState.OFF_GRID}.get(text)


def _timestamp(raw: object) -> datetime | None:
    """Local system time without a time zone ("YYYY-MM-DD HH:MM:SS")."""
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def parse_status(raw: dict[str, object]) -> SonnenStatus:
    """Every key is optional; unknown keys are ignored."""

    def number(key: str) -> float | None:
        return as_number(raw.get(key))

    def flag(key: str) -> bool | None:
        return as_flag(raw.get(key))

    remaining = number("RemainingCapacity_Wh")
    if remaining is None:
        # Older firmware and the US proxy name it `_W`; the value is Wh all the same.
        remaining = number("RemainingCapacity_W")
    return SonnenStatus(
        consumption_w=number("Consumption_W"),
        consumption_avg_w=number("Consumption_Avg"),
        production_w=number("Production_W"),
        pac_total_w=number("Pac_total_W"),
        grid_feed_in_w=number("GridFeedIn_W"),
        apparent_output_va=number("Apparent_output"),
        rsoc=number("RSOC"),
        usoc=number("USOC"),
        remaining_capacity_wh=remaining,
        backup_buffer=as_whole_number(raw.get("BackupBuffer")),
        operating_mode=as_whole_number(raw.get("OperatingMode")),
        grid_state=_grid_state(raw.get("SystemStatus")),
        frequency_hz=number("Fac"),
        ac_voltage_v=number("Uac"),
        battery_voltage_v=number("Ubat"),
        timestamp=_timestamp(raw.get("Timestamp")),
        system_installed=flag("IsSystemInstalled"),
        battery_charging=flag("BatteryCharging"),
        battery_discharging=flag("BatteryDischarging"),
        flow_consumption_battery=flag("FlowConsumptionBattery"),
        flow_consumption_grid=flag("FlowConsumptionGrid"),
        flow_consumption_production=flag("FlowConsumptionProduction"),
        flow_grid_battery=flag("FlowGridBattery"),
        flow_production_battery=flag("FlowProductionBattery"),
        flow_production_grid=flag("FlowProductionGrid"),
        discharge_not_allowed=flag("dischargeNotAllowed"),
        generator_autostart=flag("generator_autostart"),
        keys=frozenset(raw),
    )


__all__ = [
    "DEFAULT_PORT",
    "SonnenClient",
    "SonnenGridState",
    "SonnenOperatingMode",
    "SonnenReturnCode",
    "SonnenStatus",
]
