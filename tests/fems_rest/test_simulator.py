"""FEMS REST simulator over real sockets: what a client of the real controller sees."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulators.battery import BatteryModel, FixedProfile
from simulators.fems import errors
from simulators.fems_rest import FemsRestSimulator

SUM_POWERS = (
    "/rest/channel/_sum/"
    "(EssActivePower|GridActivePower|ProductionActivePower|ConsumptionActivePower)"
)
EQUALS = "/rest/channel/ess0/SetActivePowerEquals"
LESS_OR_EQUALS = "/rest/channel/ess0/SetActivePowerLessOrEquals"


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def basic(password: str, user: str = "x") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


GUEST = basic("user")
OWNER = basic("owner")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def make_sim(clock: FakeClock, **kwargs: Any) -> FemsRestSimulator:
    battery = BatteryModel(profile=FixedProfile(pv=1000, load=600), clock=clock)
    sim = FemsRestSimulator(battery=battery, clock=clock, **kwargs)
    await sim.start()
    return sim


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[FemsRestSimulator]:
    simulator = await make_sim(clock)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def old_sim(clock: FakeClock) -> AsyncIterator[FemsRestSimulator]:
    simulator = await make_sim(clock, firmware="2023.5.2")
    yield simulator
    await simulator.stop()


async def get(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str] = GUEST
) -> tuple[int, str, bytes]:
    async with session.get(url, headers=headers) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


async def post(
    session: aiohttp.ClientSession,
    url: str,
    value: object,
    headers: dict[str, str] = OWNER,
) -> tuple[int, bytes]:
    body = json.dumps({"value": value})
    async with session.post(url, data=body, headers=headers) as resp:
        return resp.status, await resp.read()


async def read_map(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    status, _, body = await get(session, url)
    assert status == 200
    return {obj["address"]: obj["value"] for obj in json.loads(body)}


async def test_single_match_is_one_object_in_field_order(
    sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    status, content_type, body = await get(session, f"{sim.read_url}/rest/channel/_sum/EssSoc")
    assert (status, content_type) == (200, "application/json")
    assert body == (
        b'{"address":"_sum/EssSoc","type":"INTEGER","accessMode":"RO",'
        b'"text":"Range 0..100","unit":"%","value":50}'
    )


async def test_regex_matches_give_unsorted_array(
    sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    _, _, body = await get(session, f"{sim.read_url}/rest/channel/_sum/(EssSoc|GridActivePower)")
    addresses = [obj["address"] for obj in json.loads(body)]
    assert addresses == ["_sum/GridActivePower", "_sum/EssSoc"]

    _, _, body = await get(session, f"{sim.read_url}/rest/channel/_sum/.*")
    objects = json.loads(body)
    addresses = [obj["address"] for obj in objects]
    assert len(addresses) == len(set(addresses)) > 30
    assert addresses != sorted(addresses)
    by_address = {obj["address"]: obj for obj in objects}
    assert by_address["_sum/HasIgnoredComponentStates"]["value"] == 0
    assert by_address["_sum/GridMode"]["text"] == "1:On-Grid, 2:Off-Grid, 3:Off-Grid Genset"
    assert by_address["_sum/GridBuyActiveEnergy"]["unit"] == "Wh_Σ"

    # A "/" inside a character class does not split the path.
    _, _, body = await get(session, f"{sim.read_url}/rest/channel/ess0/Set[^/]*ActivePowerEquals")
    assert json.loads(body)["address"] == "ess0/SetActivePowerEquals"


async def test_undefined_values(sim: FemsRestSimulator, session: aiohttp.ClientSession) -> None:
    sim.undefined.add("_sum/GridActivePower")
    sim.grid_mode_undefined = True
    values = await read_map(session, f"{sim.read_url}/rest/channel/_sum/Grid(ActivePower|Mode)")
    assert values == {"_sum/GridActivePower": None, "_sum/GridMode": -1}


async def test_write_only_channel_has_no_value_key(
    sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    _, _, body = await get(session, sim.read_url + EQUALS)
    obj = json.loads(body)
    assert list(obj) == ["address", "type", "accessMode", "text", "unit"]
    assert obj["accessMode"] == "WO"


@pytest.mark.parametrize(
    "case",
    [
        ("/rest/channel/_sum/NoSuchChannel", 404, 404),
        ("/rest/channel/_SUM/EssSoc", 404, 404),  # ids are case-sensitive
        ("/rest/channel/_sum/*", 400, 500),  # invalid regex
    ],
)
async def test_read_errors_per_generation(
    sim: FemsRestSimulator,
    old_sim: FemsRestSimulator,
    session: aiohttp.ClientSession,
    case: tuple[str, int, int],
) -> None:
    path, new_status, old_status = case
    status, _, body = await get(session, sim.read_url + path)
    assert (status, body) == (new_status, b"")
    status, _, _ = await get(session, old_sim.read_url + path)
    assert status == old_status


async def test_password_alone_selects_role(
    sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    assert await post(session, sim.write_url + EQUALS, 1000, basic("owner", "anyone")) == (
        200,
        b"{}",
    )
    assert (await post(session, sim.write_url + EQUALS, 1000, basic("admin", "guest")))[0] == 200
    status, body = await post(session, sim.write_url + EQUALS, 1000, basic("user", "owner"))
    assert status == 500
    assert b"denied for User with Role [GUEST]" in body
    async with session.get(f"{sim.read_url}/rest/channel/_sum/EssSoc") as resp:
        assert resp.status == 500  # no credentials: an error page, never a challenge
        assert "WWW-Authenticate" not in resp.headers

    assert [(w.value, w.role) for w in sim.writes.records] == [(1000, "owner"), (1000, "admin")]
    assert [w.role for w in sim.writes.rejected] == ["guest"]


async def test_new_generation_errors_are_500_pages(
    sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    status, content_type, body = await get(
        session, f"{sim.read_url}/rest/channel/_sum/EssSoc", basic("wrong")
    )
    assert (status, content_type) == (500, "text/html;charset=iso-8859-1")
    assert b"HTTP ERROR 500" in body
    assert b"Authentication failed" in body

    headers = {**basic("wrong"), "Accept": "application/json"}
    _, _, body = await get(session, f"{sim.read_url}/rest/channel/_sum/EssSoc", headers)
    assert json.loads(body)["status"] == "500"

    assert (await post(session, f"{sim.write_url}/rest/channel/_sum/EssSoc", 1))[0] == 500
    assert (await post(session, f"{sim.write_url}/rest/channel/nope0/X", 1))[0] == 500
    status, _, body = await get(session, f"{sim.read_url}/rest/jsonrpc")
    assert status == 500
    assert b"Unhandled REST target [jsonrpc]" in body


async def test_old_generation_errors_are_jsonrpc_objects(
    old_sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    status, _, body = await get(
        session, f"{old_sim.read_url}/rest/channel/_sum/EssSoc", basic("wrong")
    )
    assert status == 401
    assert json.loads(body) == {
        "jsonrpc": "2.0",
        "id": "00000000-0000-0000-0000-000000000000",
        "error": {"code": 1003, "message": "Authentication failed", "data": []},
    }
    status, body = await post(session, old_sim.write_url + EQUALS, 1, GUEST)
    assert (status, json.loads(body)["error"]["code"]) == (400, 1002)
    status, body = await post(session, f"{old_sim.write_url}/rest/channel/x/Y", 1)
    assert (status, json.loads(body)["error"]["data"]) == (400, ["x"])
    # Before 2023.6 energy counters were plain Wh.
    _, _, body = await get(session, f"{old_sim.read_url}/rest/channel/_sum/GridBuyActiveEnergy")
    assert json.loads(body)["unit"] == "Wh"


async def test_read_only_app_rejects_every_post(
    clock: FakeClock, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(clock, read_write=False)
    try:
        status, body = await post(session, sim.write_url + EQUALS, 1000, basic("admin"))
        assert status == 500
        assert b"REST-Api is in Read-Only mode" in body
        assert sim.writes.records == []
        assert "Read-Only" in sim.writes.rejected[0].reason
    finally:
        await sim.stop()


async def test_setpoint_drives_battery_and_balance_holds(
    sim: FemsRestSimulator, clock: FakeClock, session: aiohttp.ClientSession
) -> None:
    # Self-consumption: the 400 W PV surplus charges the battery, nothing is exported.
    values = await read_map(session, sim.read_url + SUM_POWERS)
    assert values["_sum/EssActivePower"] == -400
    assert values["_sum/GridActivePower"] == 0

    assert (await post(session, sim.write_url + EQUALS, 2000))[0] == 200
    assert sim.battery.setpoint_w == 2000
    clock.now += 1  # the effect shows in the next controller cycle
    values = await read_map(session, sim.read_url + SUM_POWERS)
    assert values["_sum/EssActivePower"] == 2000
    assert values["_sum/GridActivePower"] == 600 - 1000 - 2000
    # A bad value is accepted (200) but cannot be applied: logged, and control released.
    assert (await post(session, sim.write_url + EQUALS, "abc"))[0] == 200
    assert sim.writes.records[-1].applied is False
    assert sim.battery.setpoint_w is None


async def test_shared_timeout_drops_all_writes_at_once(
    sim: FemsRestSimulator, clock: FakeClock, session: aiohttp.ClientSession
) -> None:
    await post(session, sim.write_url + EQUALS, -3000)
    clock.now += 50
    await post(session, sim.write_url + LESS_OR_EQUALS, 2500)  # re-arms the one timer
    clock.now += 50
    sim.tick()
    assert sim.battery.setpoint_w == -3000
    assert sim.battery.discharge_limit_w == 2500

    clock.now += 11
    await get(session, f"{sim.read_url}/rest/channel/_sum/State")  # evaluated lazily
    assert sim.pending_writes == {}
    assert sim.timeout_expiries == 1
    battery = sim.battery
    assert battery.setpoint_w is None
    assert battery.discharge_limit_w is None


async def test_null_and_empty_string_release_one_channel(
    sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    await post(session, sim.write_url + EQUALS, -3000)
    await post(session, sim.write_url + LESS_OR_EQUALS, 2500)
    assert (await post(session, sim.write_url + EQUALS, None)) == (200, b"{}")
    assert dict(sim.pending_writes) == {"ess0/SetActivePowerLessOrEquals": 2500}
    await post(session, sim.write_url + LESS_OR_EQUALS, "")
    assert sim.pending_writes == {}
    assert [w.value for w in sim.writes.records] == [-3000, 2500, None, None]


async def test_faults_drop_and_error_status(
    sim: FemsRestSimulator, session: aiohttp.ClientSession
) -> None:
    url = f"{sim.read_url}/rest/channel/_sum/EssSoc"
    sim.faults.drop_connection = True
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await get(session, url)
    sim.faults.reset()
    sim.faults.error_status = 503
    assert (await get(session, url))[0] == 503
    sim.faults.reset()
    sim.faults.malformed_body = True
    _, _, body = await get(session, url)
    with pytest.raises(ValueError, match=r"Expecting|Unterminated|Invalid"):
        json.loads(body)
    sim.faults.reset()
    sim.requests.reset()
    assert (await get(session, url))[0] == 200
    assert sim.requests.total == sim.requests.by_method["GET"] == 1


async def test_sixth_connection_waits_for_a_free_slot(sim: FemsRestSimulator) -> None:
    idle = [await asyncio.open_connection(sim.host, sim.read_port) for _ in range(5)]
    request = (
        "GET /rest/channel/_sum/EssSoc HTTP/1.1\r\nHost: fems\r\n"
        f"Authorization: {GUEST['Authorization']}\r\nConnection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(sim.host, sim.write_port)
    writer.write(request)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), timeout=0.2)
    assert sim.connections == (5, 1)

    idle[0][1].close()  # a slot frees up: the waiting request is served
    answer = await asyncio.wait_for(reader.read(), timeout=2)
    assert answer.startswith(b"HTTP/1.1 200")
    for _, idle_writer in idle[1:]:
        idle_writer.close()
    writer.close()


@pytest.mark.parametrize("firmware", ["2026.5.0", "2025.3.0"])
async def test_500_storm_fails_every_request_before_authentication(
    clock: FakeClock, session: aiohttp.ClientSession, firmware: str
) -> None:
    """A restarting or overloaded FEMS: a Jetty 500 page for everyone, any password, until
    the storm ends; nothing is written meanwhile."""
    storm_sim = await make_sim(clock, firmware=firmware)
    try:
        storm_sim.storm = errors.restarting()
        for headers in (GUEST, OWNER, basic("wrong")):
            status, _, body = await get(
                session, f"{storm_sim.read_url}/rest/channel/_sum/EssSoc", headers
            )
            assert status == 500
            assert b"IllegalStateException" in body
            assert b"Authentication failed" not in body
        json_headers = {**GUEST, "Accept": "application/json"}
        storm_sim.storm = errors.overloaded()
        _, _, body = await get(
            session, f"{storm_sim.read_url}/rest/channel/_sum/EssSoc", json_headers
        )
        assert "RejectedExecutionException" in json.loads(body)["message"]
        assert (await post(session, storm_sim.write_url + EQUALS, 1000, OWNER))[0] == 500
        assert storm_sim.writes.records == []
        storm_sim.storm = None
        status, _, _ = await get(session, f"{storm_sim.read_url}/rest/channel/_sum/EssSoc", GUEST)
        assert status == 200
    finally:
        await storm_sim.stop()
