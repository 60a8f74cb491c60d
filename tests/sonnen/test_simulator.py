"""The sonnen simulator behaves like the notes say a real unit does (over real sockets)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import aiohttp
import pytest

from simulators import sonnen as sonnen_module
from simulators.sonnen import SonnenSimulator

from .conftest import FakeClock, make_sonnen


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP session."""
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, sim: SonnenSimulator, method: str, path: str
) -> tuple[int, str, bytes]:
    """One request: status, content type, body."""
    async with http.request(method, sim.url + path) as response:
        return response.status, response.content_type, await response.read()


async def battery_w(http: aiohttp.ClientSession, sim: SonnenSimulator) -> int:
    """`Pac_total_W` as a client reads it (+ discharge)."""
    async with http.get(sim.url + "/api/v1/status") as response:
        value = (await response.json())["Pac_total_W"]
    assert isinstance(value, int)
    return value


async def test_setpoint_in_automatic_mode_is_overridden_after_20_s(
    http: aiohttp.ClientSession, sonnen: SonnenSimulator, clock: FakeClock
) -> None:
    """Without manual mode a setpoint acts briefly, then the energy manager takes over."""
    await call(http, sonnen, "PUT", "/api/v1/setpoint/discharge/3000")
    assert await battery_w(http, sonnen) == 3000
    clock.advance(19)
    assert await battery_w(http, sonnen) == 3000
    clock.advance(2)
    assert await battery_w(http, sonnen) == -1000  # self-consumption again
    assert sonnen.device.overrides_by_manager == 1
    assert sonnen.writes.records[-1].applied is False


async def test_manual_mode_setpoints_persist_and_directions_are_remembered(
    http: aiohttp.ClientSession, sonnen: SonnenSimulator, clock: FakeClock
) -> None:
    """In manual mode a setpoint holds (no timeout); a zero clears only its direction."""
    await call(http, sonnen, "GET", "/api/setting?EM_OperatingMode=1")
    assert await battery_w(http, sonnen) == 0  # manual and nothing commanded: idle
    await call(http, sonnen, "PUT", "/api/v1/setpoint/charge/2000")
    clock.advance(3600)
    assert await battery_w(http, sonnen) == -2000
    await call(http, sonnen, "PUT", "/api/v1/setpoint/discharge/1500")
    assert await battery_w(http, sonnen) == 1500  # the last non-zero command wins
    await call(http, sonnen, "PUT", "/api/v1/setpoint/discharge/0")
    assert await battery_w(http, sonnen) == -2000  # the remembered charge acts again
    await call(http, sonnen, "PUT", "/api/v1/setpoint/charge/0")
    assert await battery_w(http, sonnen) == 0


async def test_mode_change_hands_back_and_manual_resumes_remembered(
    http: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """Leaving manual mode ends the setpoint; entering it again applies the remembered one."""
    await call(http, sonnen, "GET", "/api/setting?EM_OperatingMode=1")
    await call(http, sonnen, "PUT", "/api/v1/setpoint/discharge/800")
    await call(http, sonnen, "GET", "/api/setting/?EM_OperatingMode=10")
    assert await battery_w(http, sonnen) == -1000
    assert sonnen.status()["OperatingMode"] == "10"
    await call(http, sonnen, "GET", "/api/setting?EM_OperatingMode=1")
    assert await battery_w(http, sonnen) == 800


async def test_restart_keeps_configuration_and_setpoints(
    http: aiohttp.ClientSession, sonnen: SonnenSimulator, clock: FakeClock
) -> None:
    """A reboot answers return code 14 for a while; mode and setpoints persist."""
    await call(http, sonnen, "GET", "/api/setting?EM_OperatingMode=1")
    await call(http, sonnen, "PUT", "/api/v1/setpoint/charge/1200")
    sonnen.restart(120)
    status, _, body = await call(http, sonnen, "GET", "/api/v1/status")
    assert (status, body) == (503, b'{"ReturnCode": 14}')
    clock.advance(121)
    assert await battery_w(http, sonnen) == -1200
    assert sonnen.device.operating_mode == 1


async def test_off_grid_setpoints_are_not_applied(
    http: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """Off grid the inverter balances the house itself."""
    await call(http, sonnen, "GET", "/api/setting?EM_OperatingMode=1")
    sonnen.battery.on_grid = False
    await call(http, sonnen, "PUT", "/api/v1/setpoint/discharge/2000")
    assert sonnen.status()["SystemStatus"] == "OffGrid"
    assert await battery_w(http, sonnen) == -1000
    assert sonnen.writes.records[-1].applied is False


async def test_unit_goes_down_after_some_answers(
    http: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """A unit that goes down mid-sequence: the mode switch answers, the setpoint does not."""
    sonnen.answers_before_down = 1
    status, _, _ = await call(http, sonnen, "GET", "/api/setting?EM_OperatingMode=1")
    assert status == 200
    with pytest.raises(aiohttp.ClientError):
        await call(http, sonnen, "PUT", "/api/v1/setpoint/charge/1000")
    assert sonnen.device.operating_mode == 1
    assert sonnen.device.charge_w == 0  # never reached the unit
    sonnen.answers_before_down = None
    assert (await call(http, sonnen, "PUT", "/api/v1/setpoint/charge/1000"))[0] == 200
    assert sonnen.device.charge_w == 1000


async def test_api_disabled_is_an_html_404_everywhere(
    http: aiohttp.ClientSession, sonnen: SonnenSimulator
) -> None:
    """The switched-off API answers every path with the web server's HTML page."""
    sonnen.api_disabled = True
    for method, path in (("GET", "/api/v1/status"), ("PUT", "/api/v1/setpoint/charge/1")):
        status, content_type, body = await call(http, sonnen, method, path)
        assert (status, content_type) == (404, "text/html")
        assert body.startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v2/latestdata", 404, 5),
        ("POST", "/api/v1/status", 405, 16),
        ("DELETE", "/api/v1/setpoint/charge/1", 405, 16),
        ("PUT", "/api/v1/setpoint/charge/abc", 400, 11),
        ("PUT", "/api/v1/setpoint/charge/4601", 400, 11),
        ("GET", "/api/setting?EM_OperatingMode=3", 400, 11),
        ("GET", "/api/setting?EM_USOC=101", 400, 11),
        ("GET", "/api/setting?Unknown=1", 400, 11),
        ("PUT", "/api/configuration/EM_OperatingMode", 405, 16),
        ("POST", "/api/setting?EM_USOC=1", 405, 16),
        ("GET", "/api/configuration/Unknown", 404, 5),
    ],
)
async def test_return_codes(
    http: aiohttp.ClientSession,
    sonnen: SonnenSimulator,
    method: str,
    path: str,
    status: int,
    code: int,
) -> None:
    """Wrong paths, methods and values get the documented return codes."""
    answer = await call(http, sonnen, method, path)
    assert answer[0] == status
    assert answer[2] == b'{"ReturnCode": %d}' % code


async def test_backup_reserve_setting(http: aiohttp.ClientSession, clock: FakeClock) -> None:
    """`EM_USOC` is stored in the firmware's type and shown as `BackupBuffer`."""
    async with make_sonnen("eu_old", clock=clock) as sim:
        await call(http, sim, "GET", "/api/setting?EM_USOC=15")
        assert sim.device.configuration["EM_USOC"] == 15
        assert sim.status()["BackupBuffer"] == "15"
        await call(http, sim, "GET", "/api/setting?EM_OperatingMode=10")
        assert sim.device.configuration["EM_OperatingMode"] == "10"


async def test_cli_launch_and_double_start(clock: FakeClock) -> None:
    """The CLI hook starts a simulator on the given port and says where it is."""
    args = argparse.Namespace(host="127.0.0.1", sonnen_port=0, sonnen_profile="us")
    running = await sonnen_module.CLI.launch(args)
    try:
        assert running.summary.startswith("sonnen (US ecoLinx")
        assert "http://127.0.0.1:" in running.summary
    finally:
        await running.stop()
    async with make_sonnen(clock=clock) as sim:
        with pytest.raises(RuntimeError):
            await sim.start()
