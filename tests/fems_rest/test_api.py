"""The HA-free FEMS REST client against the simulator, over real sockets."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from custom_components.energy_flex.api.errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiResponseError,
    ApiWriteRejectedError,
    WriteRejectedReason,
)
from custom_components.energy_flex.api.fems import FemsGridMode, FemsState
from custom_components.energy_flex.api.fems_rest import FemsRestClient, FemsRestEndpoint
from simulators.fems import errors
from simulators.fems_rest import FemsRestSimulator

from .conftest import client_for, make_simulator

API_DIR = Path(__file__).resolve().parents[2] / "custom_components" / "energy_flex" / "api"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as any HA-free user of the client would have."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def test_api_layer_never_imports_home_assistant() -> None:
    """DESIGN §2: nothing below api/ imports homeassistant."""
    for path in API_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(name.startswith("homeassistant") for name in names), path


async def test_one_get_per_poll(session: aiohttp.ClientSession, fems: FemsRestSimulator) -> None:
    """A poll is one regex GET, whatever the number of channels (DESIGN §7)."""
    client = client_for(session, fems)
    before = fems.requests.total
    snapshot = await client.async_get_snapshot()
    assert fems.requests.total - before == 1
    assert snapshot.hostname == "fems12345"
    assert snapshot.version == "2026.5.0"
    assert snapshot.grid_mode is FemsGridMode.ON_GRID
    assert snapshot.state is FemsState.OK
    assert snapshot.allowed_charge_power == -5000
    assert snapshot.allowed_discharge_power == 5000
    assert snapshot.capacity == 10000


async def test_old_firmware_counters_in_wh(session: aiohttp.ClientSession) -> None:
    """Before 2023.6 counters report `Wh` instead of `Wh_Σ`: the same numbers."""
    async with make_simulator(firmware="2023.1.0") as simulator:
        snapshot = await client_for(session, simulator).async_get_snapshot()
    assert snapshot.battery_charged_energy == pytest.approx(simulator.battery.charged_wh, rel=1e-3)


@pytest.mark.parametrize("firmware", ["2026.5.0", "2025.3.0"])
async def test_wrong_read_password_is_auth_error(
    session: aiohttp.ClientSession, firmware: str
) -> None:
    """401 (old) and 500 confirmed by a probe (new) both mean bad credentials."""
    async with make_simulator(firmware=firmware) as simulator:
        with pytest.raises(ApiAuthError):
            await client_for(session, simulator, read_password="nope").async_get_snapshot()


STORMS = {
    "restarting": errors.restarting,
    "overloaded": errors.overloaded,
}


@pytest.mark.parametrize("firmware", ["2026.5.0", "2025.3.0"])
@pytest.mark.parametrize("storm", sorted(STORMS))
async def test_500_storm_is_a_connection_problem(
    session: aiohttp.ClientSession, firmware: str, storm: str
) -> None:
    """Every request answering 500 (restart, overload) is not a wrong password: the poll
    fails as a connection problem, costs no probe, and works again once the storm ends."""
    async with make_simulator(firmware=firmware) as simulator:
        client = client_for(session, simulator)
        simulator.storm = STORMS[storm]()
        before = simulator.requests.total
        with pytest.raises(ApiConnectionError):
            await client.async_get_snapshot()
        assert simulator.requests.total - before == 1
        simulator.storm = None
        assert (await client.async_get_snapshot()).hostname == "fems12345"


@pytest.mark.parametrize("firmware", ["2026.5.0", "2025.3.0"])
async def test_one_authentication_glitch_is_not_a_wrong_password(
    session: aiohttp.ClientSession, firmware: str
) -> None:
    """The poll is told "Authentication failed" once but the probe passes: a glitch."""
    async with make_simulator(firmware=firmware) as simulator:
        client = client_for(session, simulator)
        simulator.storm = errors.authentication_failed()
        simulator.storm_requests = 1
        before = simulator.requests.total
        with pytest.raises(ApiConnectionError):
            await client.async_get_snapshot()
        assert simulator.requests.total - before == 2  # the poll and the probe
        assert simulator.storm is None
        assert (await client.async_get_snapshot()).hostname == "fems12345"


async def test_plain_500_and_502_are_connection_problems(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """Error pages from in front of the FEMS (nginx, a proxy) never mean bad credentials."""
    client = client_for(session, fems)
    for status in (500, 502):
        fems.faults.error_status = status
        with pytest.raises(ApiConnectionError):
            await client.async_get_snapshot()


@pytest.mark.parametrize("firmware", ["2026.5.0", "2025.3.0"])
async def test_write_in_a_500_storm_is_a_connection_problem(
    session: aiohttp.ClientSession, firmware: str
) -> None:
    """A write that meets a 500 storm neither asks for the password nor is 'rejected'."""
    async with make_simulator(firmware=firmware) as simulator:
        client = client_for(session, simulator)
        simulator.storm = errors.restarting()
        with pytest.raises(ApiConnectionError):
            await client.async_set_channel("SetActivePowerEquals", -1500)
        simulator.storm = None
        await client.async_set_channel("SetActivePowerEquals", -1500)
        assert [r.value for r in simulator.writes.for_channel("ess0/SetActivePowerEquals")] == [
            -1500
        ]
        assert simulator.battery.setpoint_w == -1500  # charging, as written


@pytest.mark.parametrize("firmware", ["2026.5.0", "2025.3.0"])
async def test_wrong_write_password_is_auth_error(
    session: aiohttp.ClientSession, firmware: str
) -> None:
    """The owner password rejected (401 old, 500 "Authentication failed" new), twice."""
    async with make_simulator(firmware=firmware) as simulator:
        client = client_for(session, simulator, write_password="nope")
        with pytest.raises(ApiAuthError):
            await client.async_set_channel("SetActivePowerEquals", 100)
        assert simulator.writes.records == []


@pytest.mark.parametrize(
    ("status", "body", "says_auth"),
    [
        (401, b"", True),
        (400, b'{"jsonrpc":"2.0","error":{"code":1003,"message":"x","data":[]}}', True),
        (400, b'{"jsonrpc":"2.0","error":{"code":1002,"message":"x","data":[]}}', False),
        (500, b'{"message":"...OpenemsNamedException: Authentication failed"}', True),
        (500, b"<h2>HTTP ERROR 500 ...: Authentication failed</h2>", True),
        (500, b"<h2>HTTP ERROR 500 java.lang.IllegalStateException</h2>", False),
        (500, b"\xff\xfe not text", False),
        (200, b"Authentication failed", False),
    ],
)
def test_authentication_failure_evidence(status: int, body: bytes, says_auth: bool) -> None:
    """Which answers count as rejected credentials, in either generation (§1.9)."""
    from custom_components.energy_flex.api.fems_rest import (  # noqa: PLC0415
        _says_authentication_failed,
    )

    assert _says_authentication_failed(status, body) is says_auth


async def test_nothing_matched_is_response_error(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """A 404 to the poll means this is not the FEMS API we expect."""
    fems.faults.error_status = 404
    with pytest.raises(ApiResponseError):
        await client_for(session, fems).async_get_snapshot()


async def test_refused_connection(session: aiohttp.ClientSession, fems: FemsRestSimulator) -> None:
    """Nothing listening is a connection error."""
    client = FemsRestClient(session, FemsRestEndpoint(host="127.0.0.1", read_port=1))
    with pytest.raises(ApiConnectionError):
        await client.async_get_snapshot()


async def test_dropped_connection(session: aiohttp.ClientSession, fems: FemsRestSimulator) -> None:
    """A connection closed without an answer is a connection error."""
    fems.faults.drop_connection = True
    with pytest.raises(ApiConnectionError):
        await client_for(session, fems).async_get_snapshot()


async def test_write_and_release(session: aiohttp.ClientSession, fems: FemsRestSimulator) -> None:
    """Writes are integer watts; `None` is JSON null."""
    client = client_for(session, fems)
    await client.async_set_channel("SetActivePowerEquals", 1234.4)
    await client.async_set_channel("SetActivePowerEquals", None)
    assert [r.value for r in fems.writes.for_channel("ess0/SetActivePowerEquals")] == [1234, None]


async def test_write_without_password_is_refused_locally(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """A read-only client never sends a write."""
    client = client_for(session, fems, write_password=None)
    assert not client.can_write
    with pytest.raises(ApiWriteRejectedError) as err:
        await client.async_set_channel("SetActivePowerEquals", 100)
    assert err.value.reason is WriteRejectedReason.NOT_ACCEPTED
    assert fems.requests.total == 0


async def test_write_to_unreachable_port(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """An unexpected status on a write is a connection problem."""
    fems.faults.error_status = 503
    with pytest.raises(ApiConnectionError):
        await client_for(session, fems).async_set_channel("SetActivePowerEquals", 1)


async def test_oversized_answer_refused(
    session: aiohttp.ClientSession, fems: FemsRestSimulator
) -> None:
    """A body far beyond any FEMS answer is refused, not buffered."""
    fems.overrides["_meta/Version"] = "x" * 300_000
    with pytest.raises(ApiResponseError):
        await client_for(session, fems).async_get_snapshot()


@pytest.mark.parametrize(
    "body",
    [b"not json", b'{"value": 1}', b"[1, 2]", b'"text"'],
)
def test_unusable_bodies(body: bytes) -> None:
    """Anything but channel objects with an address is a response error."""
    from custom_components.energy_flex.api.fems_rest import _channels_by_address  # noqa: PLC0415

    with pytest.raises(ApiResponseError):
        _channels_by_address(body)


def test_single_match_is_an_object() -> None:
    """One match comes as an object, not an array (§1.5)."""
    from custom_components.energy_flex.api.fems_rest import _channels_by_address  # noqa: PLC0415

    body = (
        b'{"address":"_sum/EssSoc","type":"INTEGER","accessMode":"RO",'
        b'"text":"","unit":"%","value":42}'
    )
    assert _channels_by_address(body) == {"_sum/EssSoc": 42}


def test_endpoint_repr_hides_passwords() -> None:
    """Passwords never show in a repr that may end up in a log."""
    endpoint = FemsRestEndpoint(
        host="fems.local", read_password="a-secret", write_password="b-secret"
    )
    assert "secret" not in repr(endpoint)


def test_value_coercion() -> None:
    """Numbers, numeric strings, NaN, booleans and junk."""
    from custom_components.energy_flex.api.fems import as_text  # noqa: PLC0415
    from custom_components.energy_flex.api.values import as_enum, as_number  # noqa: PLC0415

    assert as_number(5) == 5.0
    assert as_number(" 7.5 ") == 7.5
    assert as_number(float("nan")) is None
    assert as_number(True) is None
    assert as_number([1]) is None
    assert as_enum(1.5, {1: "x"}) is None
    assert as_text("fems1\x00\x00") == "fems1"
    assert as_text(42) is None
