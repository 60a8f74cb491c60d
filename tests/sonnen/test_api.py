"""The HA-free sonnen client against the simulator over real sockets: every profile,
every field variant of the notes, setpoints, settings and every error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from custom_components.energy_flex.api.errors import (
    ApiConnectionError,
    ApiDeviceError,
    ApiResponseError,
)
from custom_components.energy_flex.api.sonnen import (
    SonnenClient,
    SonnenGridState,
    SonnenStatus,
    return_code,
)
from simulators.sonnen import SonnenSimulator

from .conftest import PROFILE_NAMES, FakeClock, make_sonnen


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as any HA-free user of the client would have."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client_for(session: aiohttp.ClientSession, simulator: SonnenSimulator) -> SonnenClient:
    """A client that reaches `simulator`."""
    return SonnenClient(session, "127.0.0.1", simulator.port)


async def status_with(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator, **overrides: Any
) -> SonnenStatus:
    """The parsed status after forcing raw values into the unit's answer."""
    sonnen.overrides.update(overrides)
    return await client_for(session, sonnen).async_get_status()


# --- status: profiles ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILE_NAMES)
async def test_every_profile_parses_with_one_request(
    session: aiohttp.ClientSession, clock: FakeClock, profile: str
) -> None:
    """All profiles give the same powers; what a profile lacks is None, never 0."""
    async with make_sonnen(profile, clock=clock) as simulator:
        before = simulator.requests.total
        status = await client_for(session, simulator).async_get_status()
        assert simulator.requests.total - before == 1
    # Self-consumption, PV 2 kW, house 1 kW: the battery stores the surplus.
    assert status.pac_total_w == -1000
    assert status.production_w == 2000
    assert status.consumption_w == 1000
    assert status.rsoc == 50
    assert status.usoc == 47
    assert status.system_installed is True
    assert isinstance(status.timestamp, datetime)
    assert status.timestamp.tzinfo is None  # local time without zone, as sent
    if profile == "tn007":
        assert status.grid_feed_in_w is None
        assert status.operating_mode is None
        assert status.grid_state is None
        assert status.battery_charging is None
    else:
        assert status.grid_feed_in_w == 0
        assert status.grid_state is SonnenGridState.ON_GRID
        assert status.battery_charging is True
        assert status.flow_production_battery is True


async def test_current_eu_unit(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """2024 firmware: floats, nulls for the apparent powers, `RemainingCapacity_Wh`."""
    async with make_sonnen("eu_current", clock=clock) as simulator:
        raw = simulator.status()
        status = await client_for(session, simulator).async_get_status()
    assert isinstance(raw["Uac"], float)
    assert raw["Apparent_output"] is None
    assert "RemainingCapacity_Wh" in raw
    assert status.remaining_capacity_wh == 5000
    assert status.apparent_output_va is None
    assert status.operating_mode == 2
    assert status.backup_buffer == 20
    assert status.ac_voltage_v == 234
    assert status.battery_voltage_v == 202
    assert status.frequency_hz == pytest.approx(49.98)
    assert status.discharge_not_allowed is False


async def test_old_eu_unit(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """2020/21 firmware: `RemainingCapacity_W` (still Wh), ints, single-phase nulls."""
    async with make_sonnen("eu_old", clock=clock) as simulator:
        raw = simulator.status()
        status = await client_for(session, simulator).async_get_status()
    assert "RemainingCapacity_Wh" not in raw
    assert raw["RemainingCapacity_W"] == 5000
    assert raw["NVM_REINIT_STATUS"] == 0  # unknown keys are ignored
    assert status.remaining_capacity_wh == 5000
    assert status.apparent_output_va == 1000
    assert status.backup_buffer == 0


async def test_us_unit(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """ecoLinx: mode "8", int 60 Hz, "Ongrid", no remaining capacity at all."""
    async with make_sonnen("us", clock=clock) as simulator:
        raw = simulator.status()
        status = await client_for(session, simulator).async_get_status()
        simulator.battery.on_grid = False
        off_grid = await client_for(session, simulator).async_get_status()
    assert raw["Fac"] == 60
    assert isinstance(raw["Fac"], int)
    assert raw["SystemStatus"] == "Ongrid"
    assert status.operating_mode == 8
    assert status.frequency_hz == 60
    assert status.remaining_capacity_wh is None
    assert status.consumption_avg_w is None
    assert status.grid_state is SonnenGridState.ON_GRID
    assert off_grid.grid_state is SonnenGridState.OFF_GRID


# --- status: field variants ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "raw", "attribute", "expected"),
    [
        ("Consumption_W", "1234", "consumption_w", 1234),
        ("Consumption_W", " 12.5 ", "consumption_w", 12.5),
        ("Consumption_W", None, "consumption_w", None),
        ("Consumption_W", "n/a", "consumption_w", None),
        ("Consumption_W", True, "consumption_w", None),
        ("Consumption_W", float("nan"), "consumption_w", None),
        ("Consumption_W", [1], "consumption_w", None),
        ("GridFeedIn_W", -543.0, "grid_feed_in_w", -543),
        ("GridFeedIn_W", "-543", "grid_feed_in_w", -543),
        ("Pac_total_W", 1500.7, "pac_total_w", 1500.7),
        ("Fac", 0, "frequency_hz", 0),
        ("Fac", 60, "frequency_hz", 60),
        ("Uac", 234.0, "ac_voltage_v", 234),
        ("Ubat", "52", "battery_voltage_v", 52),
        ("OperatingMode", "10", "operating_mode", 10),
        ("OperatingMode", 11, "operating_mode", 11),
        ("OperatingMode", 1.0, "operating_mode", 1),
        ("OperatingMode", "1.5", "operating_mode", None),
        ("OperatingMode", "manual", "operating_mode", None),
        ("OperatingMode", 3, "operating_mode", 3),  # unknown to us, kept for restoring
        ("BackupBuffer", "100", "backup_buffer", 100),
        ("BackupBuffer", 5, "backup_buffer", 5),
        ("BackupBuffer", None, "backup_buffer", None),
        ("SystemStatus", "Offgrid", "grid_state", SonnenGridState.OFF_GRID),
        ("SystemStatus", "OFFGRID", "grid_state", SonnenGridState.OFF_GRID),
        ("SystemStatus", "ongrid", "grid_state", SonnenGridState.ON_GRID),
        ("SystemStatus", "Standby", "grid_state", None),
        ("SystemStatus", 1, "grid_state", None),
        ("BatteryCharging", 1, "battery_charging", True),
        ("BatteryCharging", "false", "battery_charging", False),
        ("BatteryCharging", "yes", "battery_charging", None),
        ("BatteryCharging", 2, "battery_charging", None),
        ("IsSystemInstalled", 0, "system_installed", False),
        ("dischargeNotAllowed", True, "discharge_not_allowed", True),
        ("Timestamp", "13.06.2016", "timestamp", None),
        ("Timestamp", 1465818740, "timestamp", None),
        ("Apparent_output", None, "apparent_output_va", None),
    ],
)
async def test_field_variants(
    session: aiohttp.ClientSession,
    sonnen: SonnenSimulator,
    key: str,
    raw: Any,
    attribute: str,
    expected: Any,
) -> None:
    """Int, float, numeric string, null, text, bool, NaN: a number, or None, never a crash."""
    status = await status_with(session, sonnen, **{key: raw})
    assert getattr(status, attribute) == expected


async def test_remaining_capacity_key_fallback(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """`RemainingCapacity_Wh` wins; `_W` fills in; both absent is None."""
    status = await status_with(session, sonnen, RemainingCapacity_Wh=None, RemainingCapacity_W=7)
    assert status.remaining_capacity_wh == 7
    sonnen.overrides.clear()
    sonnen.removed.add("RemainingCapacity_Wh")
    status = await client_for(session, sonnen).async_get_status()
    assert status.remaining_capacity_wh is None


async def test_tn007_all_zero_status(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """The TN007 example, `Fac: 0` included, parses (no division by zero, nothing required)."""
    async with make_sonnen("tn007", clock=clock) as simulator:
        simulator.overrides.update(
            {
                "Consumption_W": 0,
                "Fac": 0,
                "IsSystemInstalled": 1,
                "Pac_total_W": 0,
                "Production_W": 0,
                "RSOC": 0,
                "Timestamp": "2016-06-13 11:52:20",
                "USOC": 0,
                "Uac": 0,
                "Ubat": 0,
            }
        )
        status = await client_for(session, simulator).async_get_status()
    assert status.frequency_hz == 0
    assert status.usoc == 0
    assert status.timestamp == datetime(2016, 6, 13, 11, 52, 20)


# --- status: errors --------------------------------------------------------------------------


async def test_api_disabled_html_404(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """An HTML 404 page means the JSON API is switched off in the dashboard."""
    sonnen.api_disabled = True
    with pytest.raises(ApiDeviceError) as err:
        await client_for(session, sonnen).async_get_status()
    assert err.value.reason == "sonnen_api_disabled"
    assert err.value.code is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (1, "sonnen_max_retries"),
        (2, "sonnen_tcp_error"),
        (5, "sonnen_invalid_path"),
        (8, "sonnen_database_error"),
        (11, "sonnen_invalid_setting"),
        (13, "sonnen_internal_error"),
        (14, "sonnen_restarting"),
        (16, "sonnen_invalid_method"),
        (42, "sonnen_return_code"),
    ],
)
async def test_return_codes_in_a_2xx_body_are_errors(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator, code: int, reason: str
) -> None:
    """A 200 whose body carries a non-zero return code fails with that code's meaning."""
    sonnen.return_codes["status"] = code
    with pytest.raises(ApiDeviceError) as err:
        await client_for(session, sonnen).async_get_status()
    assert (err.value.reason, err.value.code) == (reason, code)


async def test_restarting_unit(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator, clock: FakeClock
) -> None:
    """A rebooting unit answers return code 14 until it is back."""
    sonnen.restart(60)
    with pytest.raises(ApiDeviceError) as err:
        await client_for(session, sonnen).async_get_status()
    assert err.value.reason == "sonnen_restarting"
    clock.advance(61)
    assert (await client_for(session, sonnen).async_get_status()).usoc is not None


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"error_status": 503}, ApiConnectionError),
        ({"error_status": 401}, ApiResponseError),
        ({"drop_connection": True}, ApiConnectionError),
        ({"malformed_body": True}, ApiResponseError),
    ],
)
async def test_transport_faults(
    session: aiohttp.ClientSession,
    sonnen: SonnenSimulator,
    fault: dict[str, Any],
    error: type[Exception],
) -> None:
    """Busy, refused, dropped or garbled answers are clear errors."""
    for name, value in fault.items():
        setattr(sonnen.faults, name, value)
    with pytest.raises(error):
        await client_for(session, sonnen).async_get_status()


async def test_unreachable_unit(session: aiohttp.ClientSession) -> None:
    """Nothing listening is a connection error whose text carries no address."""
    with pytest.raises(ApiConnectionError) as err:
        await SonnenClient(session, "127.0.0.1", 1).async_get_status()
    assert "127.0.0.1" not in str(err.value)


@pytest.mark.parametrize("body", [[1, 2], {"hello": "world"}, "text"])
async def test_answer_that_is_no_status(
    session: aiohttp.ClientSession,
    sonnen: SonnenSimulator,
    body: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """JSON that is not a status object is refused, not shown as values."""
    monkeypatch.setattr(sonnen, "status", lambda: body)
    with pytest.raises(ApiResponseError):
        await client_for(session, sonnen).async_get_status()


async def test_oversized_answer(session: aiohttp.ClientSession, sonnen: SonnenSimulator) -> None:
    """A body far beyond any status is refused while reading."""
    sonnen.overrides["Padding"] = "x" * 100_000
    with pytest.raises(ApiResponseError):
        await client_for(session, sonnen).async_get_status()


def test_return_code_key_spellings() -> None:
    """The code is found however the key is written; other bodies carry none."""
    assert return_code({"ReturnCode": 13}) == 13
    assert return_code({"return_code": "5"}) == 5
    assert return_code({"Return Code": 0}) == 0
    assert return_code({"EM_OperatingMode": "1"}) is None
    assert return_code([13]) is None
    assert return_code(13) is None


# --- setpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILE_NAMES)
async def test_setpoints_are_put_with_whole_watts(
    session: aiohttp.ClientSession, clock: FakeClock, profile: str
) -> None:
    """Any 2xx is success, whatever the profile's body (`true`, 18 bytes, empty)."""
    async with make_sonnen(profile, clock=clock) as simulator:
        client = client_for(session, simulator)
        await client.async_set_charge(0)
        await client.async_set_discharge(1500)
        assert [(r.channel, r.value, r.role) for r in simulator.writes.records] == [
            ("setpoint/charge", 0, "PUT"),
            ("setpoint/discharge", 1500, "PUT"),
        ]


@pytest.mark.parametrize("refusal", ["http_405", "code_16"])
async def test_put_refused_falls_back_to_get(
    session: aiohttp.ClientSession, clock: FakeClock, refusal: Any
) -> None:
    """A unit that refuses PUT (405 or return code 16) gets GET, and GET from then on."""
    async with make_sonnen("us", clock=clock, put_refusal=refusal) as simulator:
        client = client_for(session, simulator)
        await client.async_set_charge(1000)
        await client.async_set_charge(800)
        assert [(r.value, r.role) for r in simulator.writes.records] == [
            (1000, "GET"),
            (800, "GET"),
        ]
        assert simulator.requests.by_method == {"PUT": 1, "GET": 2}


@pytest.mark.parametrize(
    ("knob", "reason"),
    [
        ("vpp_priority", "sonnen_vpp_priority"),
        ("api_disabled", "sonnen_api_disabled"),
    ],
)
async def test_setpoint_refusals(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator, knob: str, reason: str
) -> None:
    """VPP priority (403) and a switched-off API each have their own error."""
    setattr(sonnen, knob, True)
    with pytest.raises(ApiDeviceError) as err:
        await client_for(session, sonnen).async_set_discharge(100)
    assert err.value.reason == reason
    assert sonnen.writes.records == []


async def test_setpoint_return_code(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """A setpoint the unit refuses with a return code is that code's error."""
    with pytest.raises(ApiDeviceError) as err:
        await client_for(session, sonnen).async_set_discharge(99_999)  # above the inverter
    assert (err.value.reason, err.value.code) == ("sonnen_invalid_setting", 11)
    sonnen.return_codes["setpoint"] = 13
    with pytest.raises(ApiDeviceError) as err:
        await client_for(session, sonnen).async_set_charge(100)
    assert err.value.reason == "sonnen_internal_error"
    assert sonnen.writes.records == []


async def test_setpoint_transport_errors(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """A busy unit is a connection error; an odd status is a response error."""
    client = client_for(session, sonnen)
    sonnen.faults.error_status = 500
    with pytest.raises(ApiConnectionError):
        await client.async_set_charge(0)
    sonnen.faults.error_status = 418
    with pytest.raises(ApiResponseError):
        await client.async_set_charge(0)


@pytest.mark.parametrize("watts", [-1, 1.5, True])
async def test_setpoint_must_be_whole_non_negative_watts(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator, watts: Any
) -> None:
    """The direction is the path; the value is never negative or fractional."""
    with pytest.raises(ValueError, match="whole number"):
        await client_for(session, sonnen).async_set_charge(watts)
    assert sonnen.requests.total == 0


# --- settings and configuration -----------------------------------------------------------


async def test_configuration_reads(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """Mode, inverter maximum, serial and version, whichever type the unit uses."""
    async with make_sonnen("eu_old", clock=clock) as simulator:
        client = client_for(session, simulator)
        assert await client.async_get_operating_mode() == 2
        assert await client.async_get_inverter_max_power() == 3300  # int in this firmware
        assert await client.async_get_serial_number() == "212345"
        assert await client.async_get_software_version() == "1.6.18"
        assert await client.async_get_configuration("NoSuchSetting") is None


async def test_operating_mode_write(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """`/api/setting?EM_OperatingMode=1` switches; a mode the unit lacks is an invalid setting."""
    client = client_for(session, sonnen)
    assert await client.async_set_operating_mode(1) is True
    assert sonnen.device.operating_mode == 1
    assert sonnen.device.configuration["EM_OperatingMode"] == "1"  # written as a string
    with pytest.raises(ApiDeviceError) as err:
        await client.async_set_operating_mode(3)
    assert err.value.reason == "sonnen_invalid_setting"
    assert sonnen.device.operating_mode == 1


async def test_settings_not_offered_degrade(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """Firmware without the v1 setting/configuration endpoints: None and False, no error."""
    async with make_sonnen(clock=clock, settings_api=False) as simulator:
        client = client_for(session, simulator)
        assert await client.async_get_operating_mode() is None
        assert await client.async_get_inverter_max_power() is None
        assert await client.async_get_serial_number() is None
        assert await client.async_set_operating_mode(1) is False
        assert simulator.device.operating_mode == 2


async def test_settings_errors(session: aiohttp.ClientSession, sonnen: SonnenSimulator) -> None:
    """Return codes other than "not offered", and a busy unit, are errors."""
    client = client_for(session, sonnen)
    sonnen.return_codes["configuration"] = 8
    with pytest.raises(ApiDeviceError) as err:
        await client.async_get_operating_mode()
    assert err.value.reason == "sonnen_database_error"
    sonnen.return_codes["setting"] = 16
    assert await client.async_set_operating_mode(1) is False
    sonnen.return_codes["setting"] = 13
    with pytest.raises(ApiDeviceError):
        await client.async_set_operating_mode(1)
    assert sonnen.writes.records == []
    sonnen.return_codes.clear()
    sonnen.faults.error_status = 502
    with pytest.raises(ApiConnectionError):
        await client.async_get_inverter_max_power()
    sonnen.faults.error_status = 404  # a plain 404 without a return code: not offered
    assert await client.async_get_inverter_max_power() is None
    sonnen.faults.error_status = 400
    with pytest.raises(ApiResponseError):
        await client.async_get_inverter_max_power()


async def test_inverter_max_power_must_be_positive(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """A zero or text maximum is not a bound."""
    client = client_for(session, sonnen)
    for raw in ("0", "n/a", -5):
        sonnen.device.configuration["IC_InverterMaxPower_w"] = raw
        assert await client.async_get_inverter_max_power() is None


async def test_setting_names_are_checked(
    session: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """Only setting names go into the path or query: nothing else reaches the unit."""
    client = client_for(session, sonnen)
    with pytest.raises(ValueError, match="setting name"):
        await client.async_get_configuration("../v1/status")
    with pytest.raises(ValueError, match="setting name"):
        await client.async_set_setting("EM_OperatingMode&x", "1")
    assert sonnen.requests.total == 0
