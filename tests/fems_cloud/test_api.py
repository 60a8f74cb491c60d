"""The HA-free FEMS cloud client against the backend simulator, over real sockets."""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest
from aiohttp import web

from custom_components.energy_flex.api.errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiDeviceError,
    ApiResponseError,
    EnergyFlexApiError,
)
from custom_components.energy_flex.api.fems_cloud import (
    BACKOFF_INITIAL_S,
    FIX_ACTIVE_POWER_FACTORY,
    MODE_MANUAL_OFF,
    MODE_MANUAL_ON,
    POLL_CHANNELS,
    FemsCloudClient,
    FemsCloudErrorReason,
    FemsCloudResolution,
    ResolutionUnit,
)
from simulators.fems_cloud import ErrorShape, FemsCloudSimulator

from ..common.http_server import serve_http
from .conftest import (
    ADMIN,
    EDGE_A,
    EDGE_B,
    GUEST,
    INSTALLER,
    OWNER,
    OWNER_PASSWORD,
    PASSWORDS,
    FakeClock,
    client_for,
    make_cloud,
)

HOURLY = FemsCloudResolution(1, ResolutionUnit.HOURS)
QUARTER_HOURLY = FemsCloudResolution(15, ResolutionUnit.MINUTES)
BERLIN = "Europe/Berlin"
SPRING_FORWARD = date(2025, 3, 30)
FALL_BACK = date(2025, 10, 26)
PLAIN_DAY = date(2025, 6, 2)
ENERGY = ["_sum/GridBuyActiveEnergy", "_sum/GridSellActiveEnergy", "_sum/EssDcChargeEnergy"]


def assert_clean(err: BaseException) -> None:
    """Exception texts carry neither credentials nor backend text."""
    text = f"{err} {err!r}"
    for secret in (*PASSWORDS.values(), "Basic ", "io.openems", "Access to this", "[fems"):
        assert secret not in text


def reason_of(excinfo: pytest.ExceptionInfo[ApiDeviceError]) -> str:
    assert_clean(excinfo.value)
    return excinfo.value.reason


# --- envelope -----------------------------------------------------------------------------


async def test_envelope_is_json_rpc_2_with_fresh_uuid_ids(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    await client.get_edges_status([EDGE_A])
    await client.get_edges_status([EDGE_A])
    first, second = cloud.request_log
    assert (first.jsonrpc, first.method, first.username) == ("2.0", "getEdgesStatus", OWNER)
    assert first.params == {"edgeIds": [EDGE_A]}
    assert isinstance(first.request_id, str)
    assert uuid.UUID(first.request_id).version == 4
    assert first.request_id != second.request_id


async def test_basic_auth_is_sent_with_every_request(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """Captured on a real socket: the backend never challenges, so it goes pre-emptively."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        body = await request.json()
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": {}})

    async with serve(handler) as url:
        client = FemsCloudClient(session, "ünïcode@example.com", "pässword", url=url, clock=clock)
        await client.get_edges_status([EDGE_A])
        await client.get_edges_status([EDGE_A])
    expected = "Basic " + base64.b64encode("ünïcode@example.com:pässword".encode()).decode()
    assert seen == [expected, expected]


async def test_edge_rpc_unwraps_the_payload_result(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    result = await client.edge_rpc(EDGE_A, {"method": "getEdgeConfig", "params": {}})
    assert set(result) == {"components", "factories"}
    entry = cloud.request_log[-1]
    assert (entry.method, entry.edge_id, entry.inner_method) == ("edgeRpc", EDGE_A, "getEdgeConfig")
    assert isinstance(entry.params, dict)
    payload = entry.params["payload"]
    assert isinstance(payload, dict)
    assert payload["jsonrpc"] == "2.0"
    assert isinstance(payload["id"], str)
    uuid.UUID(payload["id"])


async def test_edge_rpc_refuses_a_request_without_method_and_params(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    with pytest.raises(ValueError, match="method and params"):
        await client.edge_rpc(EDGE_A, {"method": "getEdgeConfig"})
    assert cloud.requests.total == 0


# --- polling ------------------------------------------------------------------------------


@pytest.mark.parametrize("edge_count", [1, 20])
async def test_fetch_is_two_requests_whatever_the_number_of_edges(
    session: aiohttp.ClientSession, clock: FakeClock, edge_count: int
) -> None:
    cloud = make_cloud(clock, edges=edge_count)
    await cloud.start()
    try:
        client = client_for(session, cloud, clock)
        edge_ids = list(cloud.edges)
        states = await client.async_fetch(edge_ids)
        assert cloud.requests.total == 2
        assert cloud.calls == {"getEdgesStatus": 1, "getEdgesChannelsValues": 1}
        values_request = cloud.request_log[1]
        assert isinstance(values_request.params, dict)
        assert values_request.params["ids"] == edge_ids
        assert values_request.params["channels"] == list(POLL_CHANNELS)
    finally:
        await cloud.stop()
    assert list(states) == edge_ids
    for edge_id, state in states.items():
        assert state.edge_id == edge_id
        assert state.online
        snapshot = state.snapshot
        # PV 2 kW, load 1 kW: self-consumption charges the surplus, the grid is balanced.
        assert (snapshot.soc, snapshot.battery_power, snapshot.grid_power) == (50, -1000, 0)
        assert (snapshot.production_power, snapshot.consumption_power) == (2000, 1000)
        assert snapshot.capacity == 10000
        assert (snapshot.allowed_charge_power, snapshot.allowed_discharge_power) == (-5000, 5000)
        assert snapshot.hostname == edge_id
        assert snapshot.grid_imported_energy == 4_200_000


async def test_fetch_of_no_edges_sends_nothing(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    assert await client.async_fetch([]) == {}
    assert cloud.requests.total == 0


async def test_offline_edge_is_flagged_and_keeps_the_stale_cache(
    client: FemsCloudClient, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    before = await client.async_fetch([EDGE_A, EDGE_B])
    cloud.set_online(EDGE_B, False)
    clock.advance(3600)  # an hour of 1 kW charging: +10 % on a 10 kWh battery
    after = await client.async_fetch([EDGE_A, EDGE_B])
    assert after[EDGE_A].online
    assert after[EDGE_A].snapshot.soc == 60
    assert not after[EDGE_B].online
    # The backend's last values of the offline edge, frozen: the HA side hides them.
    assert after[EDGE_B].snapshot == before[EDGE_B].snapshot
    assert after[EDGE_B].snapshot.soc == 50


async def test_offline_edge_with_null_values(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    cloud.null_values_when_offline = True
    cloud.set_online(EDGE_B, False)
    states = await client.async_fetch([EDGE_A, EDGE_B])
    assert not states[EDGE_B].online
    assert states[EDGE_B].snapshot.soc is None
    assert states[EDGE_B].snapshot.battery_power is None
    assert states[EDGE_A].snapshot.soc == 50


async def test_fetch_marks_an_edge_without_metadata_offline(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    """An admin passes the role check for any id; unknown ids are left out / null."""
    client = client_for(session, cloud, clock, ADMIN)
    states = await client.async_fetch([EDGE_A, "fems9999"])
    assert states[EDGE_A].online
    assert not states["fems9999"].online
    assert states["fems9999"].snapshot.soc is None


async def test_channel_values_are_raw_and_keyed_by_edge(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    values = await client.get_edges_channels_values(
        [EDGE_A], ["_sum/EssSoc", "_sum/Nothing", "_meta/Version"]
    )
    assert values == {
        EDGE_A: {"_sum/EssSoc": 50, "_sum/Nothing": None, "_meta/Version": "2026.5.0"}
    }
    with pytest.raises(ValueError, match="component/channel"):
        await client.get_edges_channels_values([EDGE_A], ["EssSoc"])
    assert cloud.requests.total == 1


async def test_edge_ids_are_checked_and_deduplicated(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    with pytest.raises(TypeError):
        await client.get_edges_status(EDGE_A)
    with pytest.raises(ValueError, match="non-empty"):
        await client.get_edges_status([" "])
    assert cloud.requests.total == 0
    assert await client.get_edges_status([EDGE_A, f" {EDGE_A}", EDGE_B]) == {
        EDGE_A: True,
        EDGE_B: True,
    }
    assert cloud.request_log[-1].params == {"edgeIds": [EDGE_A, EDGE_B]}


# --- validation (config flow) -------------------------------------------------------------


async def test_validate_reports_edges_the_account_cannot_see(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    """The guest sees only fems1001; one invisible id fails the whole getEdgesStatus."""
    client = client_for(session, cloud, clock, GUEST)
    ids = [EDGE_A, EDGE_B, "fems9999", "fems9998"]
    result = await client.async_validate(ids)
    assert result.not_visible == (EDGE_B, "fems9999", "fems9998")
    assert result.online_by_edge == {EDGE_A: True}
    # Halving the list, not one request per id and not a storm.
    assert 2 <= cloud.requests.total <= 7


async def test_validate_all_visible_is_one_request(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    cloud.set_online(EDGE_B, False)
    result = await client.async_validate([EDGE_A, EDGE_B])
    assert result.not_visible == ()
    assert result.online_by_edge == {EDGE_A: True, EDGE_B: False}
    assert cloud.requests.total == 1


async def test_validate_for_admin_reports_ids_without_metadata(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    client = client_for(session, cloud, clock, ADMIN)
    result = await client.async_validate([EDGE_A, "fems9999"])
    assert result.not_visible == ("fems9999",)
    assert cloud.requests.total == 1


async def test_validate_with_bad_credentials_raises_auth_error(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    client = client_for(session, cloud, clock, OWNER, "wrong-password")
    with pytest.raises(ApiAuthError) as excinfo:
        await client.async_validate([EDGE_A])
    assert_clean(excinfo.value)
    assert cloud.request_log[-1].http_status == 500
    with pytest.raises(ValueError, match="no edge ids"):
        await client.async_validate([])


async def test_validate_passes_other_errors_on(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    """Only a role denial is split up; anything else (here: rate limited) ends validation."""
    cloud.requests_per_minute = 0
    with pytest.raises(ApiDeviceError) as excinfo:
        await client.async_validate([EDGE_A, EDGE_B])
    assert reason_of(excinfo) == FemsCloudErrorReason.RATE_LIMITED
    assert cloud.requests.total == 1


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(("login", "password"), [(OWNER, "wrong"), ("nobody@example.com", "x")])
async def test_bad_credentials_raise_auth_error_and_back_off(
    session: aiohttp.ClientSession,
    cloud: FemsCloudSimulator,
    clock: FakeClock,
    login: str,
    password: str,
) -> None:
    client = FemsCloudClient(session, login, password, url=cloud.url, clock=clock)
    with pytest.raises(ApiAuthError):
        await client.get_edges_status([EDGE_A])
    # No login storm: the same credentials are not tried again within the window.
    with pytest.raises(ApiAuthError):
        await client.async_fetch([EDGE_A])
    assert cloud.requests.total == 1
    clock.advance(BACKOFF_INITIAL_S)
    with pytest.raises(ApiAuthError):
        await client.get_edges_status([EDGE_A])
    assert cloud.requests.total == 2


async def test_http_401_is_an_auth_error(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=401, text="Unauthorized")

    async with serve(handler) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(ApiAuthError):
            await client.get_edges_status([EDGE_A])


# --- errors: every shape maps the same --------------------------------------------------

ErrorCase = tuple[
    str, Callable[[FemsCloudSimulator], None], Callable[[FemsCloudClient], Awaitable[Any]], str
]


def _offline(cloud: FemsCloudSimulator) -> None:
    cloud.set_online(EDGE_B, False)


def _nothing(cloud: FemsCloudSimulator) -> None:
    return None


ERROR_CASES: list[ErrorCase] = [
    (
        "edge offline",
        _offline,
        lambda c: c.update_component_config(
            EDGE_B, "ctrlBalancing0", [{"name": "enabled", "value": True}]
        ),
        FemsCloudErrorReason.EDGE_NOT_CONNECTED,
    ),
    (
        "setChannelValue needs admin",
        _nothing,
        lambda c: c.set_channel_value(EDGE_A, "ess0", "SetActivePowerEquals", 1000),
        FemsCloudErrorReason.ROLE_DENIED,
    ),
    (
        "create needs installer",
        _nothing,
        lambda c: c.create_component_config(EDGE_A, "Controller.Debug.Log", []),
        FemsCloudErrorReason.ROLE_DENIED,
    ),
    (
        "unknown component",
        _nothing,
        lambda c: c.update_component_config(EDGE_A, "ctrlNope0", [{"name": "power", "value": 1}]),
        FemsCloudErrorReason.UNKNOWN_COMPONENT,
    ),
    (
        "invalid power",
        _nothing,
        lambda c: c.update_component_config(
            EDGE_A, "ctrlFixActivePower0", [{"name": "power", "value": "lots"}]
        ),
        FemsCloudErrorReason.CONFIG_REJECTED,
    ),
    (
        "invalid mode",
        _nothing,
        lambda c: c.update_component_config(
            EDGE_A, "ctrlFixActivePower0", [{"name": "mode", "value": "TURBO"}]
        ),
        FemsCloudErrorReason.CONFIG_REJECTED,
    ),
    (
        "unknown edge method",
        _nothing,
        lambda c: c.edge_rpc(EDGE_A, {"method": "rebootPlease", "params": {}}),
        FemsCloudErrorReason.UNKNOWN_METHOD,
    ),
    (
        "component json api on an unknown component",
        _nothing,
        lambda c: c.component_json_api(EDGE_A, "ctrlNope0", "getSomething"),
        FemsCloudErrorReason.UNKNOWN_COMPONENT,
    ),
    (
        "edge rpc on an edge without role",
        _nothing,
        lambda c: c.get_edge_config("fems9999"),
        FemsCloudErrorReason.ROLE_DENIED,
    ),
]


@pytest.mark.parametrize("shape", list(ErrorShape))
@pytest.mark.parametrize(
    ("name", "prepare", "call", "reason"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
async def test_errors_map_the_same_in_every_shape(
    client: FemsCloudClient,
    cloud: FemsCloudSimulator,
    shape: ErrorShape,
    name: str,
    prepare: Callable[[FemsCloudSimulator], None],
    call: Callable[[FemsCloudClient], Awaitable[Any]],
    reason: str,
) -> None:
    cloud.error_shape = shape
    prepare(cloud)
    with pytest.raises(ApiDeviceError) as excinfo:
        await call(client)
    assert reason_of(excinfo) == reason
    # A refused request is an answer, not an overload: the next one is sent at once.
    await client.get_edges_status([EDGE_A])
    assert client.backoff_remaining_s == 0


@pytest.mark.parametrize(
    ("shape", "status"),
    [(ErrorShape.HTTP400, 400), (ErrorShape.NAMED200, 200), (ErrorShape.EDGE_PAYLOAD, 200)],
)
async def test_the_three_error_shapes_reach_the_client(
    client: FemsCloudClient, cloud: FemsCloudSimulator, shape: ErrorShape, status: int
) -> None:
    """The same role denial travels three ways; the named code survives where it can."""
    cloud.error_shape = shape
    with pytest.raises(ApiDeviceError) as excinfo:
        await client.set_channel_value(EDGE_A, "ess0", "SetActivePowerEquals", 1000)
    assert excinfo.value.reason == FemsCloudErrorReason.ROLE_DENIED
    assert excinfo.value.code == 1002
    assert cloud.request_log[-1].http_status == status


async def test_synchronous_errors_carry_the_dummy_id(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    """The guest may not see fems1002: the backend fails before reading the request."""
    client = client_for(session, cloud, clock, GUEST)
    with pytest.raises(ApiDeviceError) as excinfo:
        await client.get_edges_status([EDGE_A, EDGE_B])
    assert reason_of(excinfo) == FemsCloudErrorReason.ROLE_DENIED
    assert excinfo.value.code == 1005


async def test_rate_limit_error_code_backs_off(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """4005 "Too Many Requests" (as code 1 text over REST) opens the back-off window."""
    cloud = make_cloud(clock, requests_per_minute=2)
    await cloud.start()
    try:
        client = client_for(session, cloud, clock)
        await client.get_edges_status([EDGE_A])
        await client.get_edges_status([EDGE_A])
        with pytest.raises(ApiDeviceError) as excinfo:
            await client.get_edges_status([EDGE_A])
        assert reason_of(excinfo) == FemsCloudErrorReason.RATE_LIMITED
        with pytest.raises(ApiDeviceError) as excinfo:
            await client.get_edges_status([EDGE_A])
        assert excinfo.value.reason == FemsCloudErrorReason.RATE_LIMITED
        assert cloud.requests.total == 3
        clock.advance(60)
        assert await client.get_edges_status([EDGE_A]) == {EDGE_A: True}
        assert cloud.requests.total == 4
    finally:
        await cloud.stop()


async def test_edge_payload_rate_limit_backs_off(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        payload = body["params"]["payload"]
        error = {"code": 4005, "message": "Too Many Requests!", "data": []}
        inner = {"jsonrpc": "2.0", "id": payload["id"], "error": error}
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": {"payload": inner}})

    async with serve(handler) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(ApiDeviceError) as excinfo:
            await client.get_edge_config(EDGE_A)
        assert excinfo.value.reason == FemsCloudErrorReason.RATE_LIMITED
        assert client.backoff_remaining_s == BACKOFF_INITIAL_S


# --- back-off on 429 / 5xx -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (429, ApiDeviceError),
        (500, ApiConnectionError),
        (502, ApiConnectionError),
        (503, ApiConnectionError),
    ],
)
async def test_back_off_after_overload_sends_nothing_in_the_window(
    client: FemsCloudClient,
    cloud: FemsCloudSimulator,
    clock: FakeClock,
    status: int,
    error_type: type[EnergyFlexApiError],
) -> None:
    cloud.faults.error_status = status
    with pytest.raises(error_type):
        await client.async_fetch([EDGE_A, EDGE_B])
    assert cloud.requests.total == 1  # the value request was not sent after the failure
    assert client.backoff_remaining_s == BACKOFF_INITIAL_S

    clock.advance(BACKOFF_INITIAL_S - 1)
    for _ in range(5):
        with pytest.raises(error_type):
            await client.async_fetch([EDGE_A, EDGE_B])
    assert cloud.requests.total == 1

    clock.advance(1)
    with pytest.raises(error_type):
        await client.get_edges_status([EDGE_A])
    assert cloud.requests.total == 2
    assert client.backoff_remaining_s == 2 * BACKOFF_INITIAL_S  # exponential

    cloud.faults.reset()
    clock.advance(2 * BACKOFF_INITIAL_S)
    await client.async_fetch([EDGE_A])
    assert cloud.requests.total == 4
    assert client.backoff_remaining_s == 0
    # Reset on success: the next overload starts at the initial window again.
    cloud.faults.error_status = status
    with pytest.raises(error_type):
        await client.get_edges_status([EDGE_A])
    assert client.backoff_remaining_s == BACKOFF_INITIAL_S


async def test_back_off_window_is_capped(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    client = FemsCloudClient(
        session,
        OWNER,
        OWNER_PASSWORD,
        url=cloud.url,
        clock=clock,
        backoff_initial_s=10,
        backoff_max_s=35,
    )
    cloud.faults.error_status = 503
    windows = []
    for _ in range(4):
        with pytest.raises(ApiConnectionError):
            await client.get_edges_status([EDGE_A])
        windows.append(client.backoff_remaining_s)
        clock.advance(client.backoff_remaining_s)
    assert windows == [10, 20, 35, 35]


# --- transport and malformed answers -------------------------------------------------------


async def test_unreachable_cloud_is_a_connection_error(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with serve(_static) as url:
        pass  # the port is closed again
    client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
    with pytest.raises(ApiConnectionError) as excinfo:
        await client.get_edges_status([EDGE_A])
    assert_clean(excinfo.value)
    assert client.backoff_remaining_s == 0


async def test_dropped_connection_and_malformed_body(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    cloud.faults.drop_connection = True
    with pytest.raises(ApiConnectionError):
        await client.get_edges_status([EDGE_A])
    cloud.faults.reset()
    cloud.faults.malformed_body = True
    with pytest.raises(ApiResponseError):
        await client.get_edges_status([EDGE_A])


async def test_other_paths_answer_an_empty_200(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    url = cloud.url.replace("/fems/rest/jsonrpc", "/fems/rest/nothing")
    client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
    with pytest.raises(ApiResponseError, match="not JSON"):
        await client.get_edges_status([EDGE_A])
    assert cloud.request_log[-1].http_status == 200


def _answer(**message: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        answer = {"jsonrpc": "2.0", "id": body["id"], **message}
        return web.json_response({k: v for k, v in answer.items() if v is not ...})

    return handler


async def _static(request: web.Request) -> web.Response:
    return web.Response(text="<html>maintenance</html>", content_type="text/html")


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (_answer(id=str(uuid.uuid4()), result={}), "id does not match"),
        (_answer(id=..., result={}), "id does not match"),
        (_answer(result=...), "not a JSON-RPC response"),
        (_answer(result=[]), "not an object"),
        (_answer(result={"fems1001": {"online": "yes"}}), "online flag"),
        (_answer(error="bad"), "malformed JSON-RPC error"),
        (_answer(error={"code": "1", "message": "x"}), "malformed JSON-RPC error"),
        (_static, "not JSON"),
    ],
)
async def test_malformed_answers_are_response_errors(
    session: aiohttp.ClientSession,
    clock: FakeClock,
    handler: Callable[[web.Request], Awaitable[web.Response]],
    message: str,
) -> None:
    async with serve(handler) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(ApiResponseError, match=message):
            await client.get_edges_status([EDGE_A])


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({}, "without payload"),
        ({"payload": {"id": "00000000-0000-0000-0000-000000000001", "result": {}}}, "id does not"),
        ({"payload": {"jsonrpc": "2.0"}}, "without result"),
    ],
)
async def test_malformed_edge_answers_are_response_errors(
    session: aiohttp.ClientSession, clock: FakeClock, result: dict[str, Any], message: str
) -> None:
    async with serve(_answer(result=result)) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(ApiResponseError, match=message):
            await client.get_edge_config(EDGE_A)


async def test_unknown_backend_text_is_a_generic_backend_error(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    secret_echo = f"something broke for {OWNER_PASSWORD}"
    handler = _answer(error={"code": 1, "message": secret_echo, "data": [secret_echo]})
    async with serve(handler) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(ApiDeviceError) as excinfo:
            await client.get_edges_status([EDGE_A])
    assert reason_of(excinfo) == FemsCloudErrorReason.BACKEND_ERROR
    assert excinfo.value.code == 1


def _edge_answers(result: Any) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Answer top-level calls with `result`, and edgeRpc calls with `result` inside."""

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        if body["method"] != "edgeRpc":
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": result})
        inner = {"jsonrpc": "2.0", "id": body["params"]["payload"]["id"], "result": result}
        answer = {"jsonrpc": "2.0", "id": body["id"], "result": {"payload": inner}}
        return web.json_response(answer)

    return handler


def _data(client: FemsCloudClient) -> Awaitable[Any]:
    return client.query_historic_timeseries_data(
        EDGE_A, PLAIN_DAY, PLAIN_DAY, channels=["_sum/EssSoc"], resolution=HOURLY, timezone=BERLIN
    )


STAMP = "2025-06-01T22:00:00Z"
MALFORMED_RESULTS: list[tuple[Callable[[FemsCloudClient], Awaitable[Any]], Any, str]] = [
    (lambda c: c.get_edges_channels_values([EDGE_A], ["_sum/EssSoc"]), [], "not an object"),
    (lambda c: c.get_edges_channels_values([EDGE_A], ["_sum/EssSoc"]), {EDGE_A: 5}, "of an edge"),
    (
        lambda c: c.query_historic_timeseries_energy(
            EDGE_A, PLAIN_DAY, PLAIN_DAY, channels=ENERGY, timezone=BERLIN
        ),
        {},
        "without data",
    ),
    (
        lambda c: c.query_historic_timeseries_export_xlsx(EDGE_A, PLAIN_DAY, PLAIN_DAY, BERLIN),
        {},
        "without payload",
    ),
    (_data, [], "not an object"),
    (_data, {"timestamps": 1, "data": {}}, "without timestamps or data"),
    (_data, {"timestamps": [STAMP], "data": {"_sum/EssSoc": [1, 2]}}, "not aligned"),
    (_data, {"timestamps": [1], "data": {}}, "not a string"),
    (_data, {"timestamps": ["yesterday"], "data": {}}, "not ISO 8601"),
    (_data, {"timestamps": ["2025-06-01T22:00:00"], "data": {}}, "no time zone"),
    (lambda c: c.get_edge_config(EDGE_A), [], "not an object"),
    (lambda c: c.get_edge_config(EDGE_A), {"components": []}, "without components"),
    (lambda c: c.get_edge_config(EDGE_A), {"components": {"x": {}}}, "without factory"),
]


@pytest.mark.parametrize(("call", "result", "message"), MALFORMED_RESULTS)
async def test_malformed_results_are_response_errors(
    session: aiohttp.ClientSession,
    clock: FakeClock,
    call: Callable[[FemsCloudClient], Awaitable[Any]],
    result: Any,
    message: str,
) -> None:
    async with serve(_edge_answers(result)) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(ApiResponseError, match=message):
            await call(client)


async def test_tolerated_result_gaps(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    """A channel missing from a history answer is a series of gaps; odd config is skipped."""
    async with serve(_edge_answers({"timestamps": [STAMP], "data": {}})) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        series = await _data(client)
    assert series.data == {"_sum/EssSoc": (None,)}
    assert series.timestamps == (datetime(2025, 6, 1, 22, tzinfo=UTC),)
    config = {
        "components": {"ctrl0": {"factoryId": FIX_ACTIVE_POWER_FACTORY, "properties": None}},
        "factories": {FIX_ACTIVE_POWER_FACTORY: "odd"},
    }
    async with serve(_edge_answers(config)) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        edge_config = await client.get_edge_config(EDGE_A)
        controller = await client.async_find_fix_active_power(EDGE_A)
    assert edge_config.components["ctrl0"].alias == "ctrl0"
    assert edge_config.factories[FIX_ACTIVE_POWER_FACTORY].nature_ids == ()
    assert controller is not None
    assert (controller.enabled, controller.mode, controller.power) == (True, None, None)


@pytest.mark.parametrize(
    ("error", "expected", "backs_off"),
    [
        ({"code": 1003, "message": "Authentication failed"}, ApiAuthError, False),
        ({"code": 1, "message": "User is not authenticated. [x]"}, ApiAuthError, False),
        ({"code": 1006, "message": "not available"}, ApiConnectionError, True),
        (
            {"code": 1, "message": "This service is currently not available"},
            ApiConnectionError,
            True,
        ),
        ({"code": 4002, "message": "bad"}, ApiDeviceError, False),
        ({"code": 9999, "message": "new"}, ApiDeviceError, False),
    ],
)
async def test_named_codes_map_by_code(
    session: aiohttp.ClientSession,
    clock: FakeClock,
    error: dict[str, Any],
    expected: type[EnergyFlexApiError],
    backs_off: bool,
) -> None:
    async with serve(_answer(error=error)) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(expected) as excinfo:
            await client.get_edges_status([EDGE_A])
    assert_clean(excinfo.value)
    assert (client.backoff_remaining_s > 0) is backs_off
    if isinstance(excinfo.value, ApiDeviceError):
        expected_reason = FemsCloudErrorReason.INVALID_REQUEST
        if error["code"] == 9999:
            expected_reason = FemsCloudErrorReason.BACKEND_ERROR
        assert (excinfo.value.reason, excinfo.value.code) == (expected_reason, error["code"])


async def _not_found(request: web.Request) -> web.Response:
    return web.Response(status=404, text="Not Found")


async def _json_list(request: web.Request) -> web.Response:
    return web.json_response([1, 2])


async def _nested_too_deep(request: web.Request) -> web.Response:
    return web.Response(text="[" * 100_000, content_type="application/json")


async def _foreign_error(request: web.Request) -> web.Response:
    error = {"code": 3000, "message": "Edge [x] is not connected"}
    return web.json_response({"jsonrpc": "2.0", "id": str(uuid.uuid4()), "error": error})


@pytest.mark.parametrize(
    ("handler", "expected", "message"),
    [
        (_not_found, ApiConnectionError, "HTTP 404"),
        (_json_list, ApiResponseError, "not a JSON-RPC message"),
        (_nested_too_deep, ApiResponseError, "not JSON"),
        (_foreign_error, ApiResponseError, "id does not match"),
    ],
)
async def test_odd_answers(
    session: aiohttp.ClientSession,
    clock: FakeClock,
    handler: Callable[[web.Request], Awaitable[web.Response]],
    expected: type[EnergyFlexApiError],
    message: str,
) -> None:
    async with serve(handler) as url:
        client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
        with pytest.raises(expected, match=message):
            await client.get_edges_status([EDGE_A])
    assert client.backoff_remaining_s == 0  # not an overload


def test_plain_http_is_refused_except_on_this_machine() -> None:
    session: Any = object()  # never used: the URL check comes first
    with pytest.raises(ValueError, match="https"):
        FemsCloudClient(session, OWNER, OWNER_PASSWORD, url="http://fenecon.de/fems/rest/jsonrpc")
    with pytest.raises(ValueError, match="credentials"):
        FemsCloudClient(session, OWNER, OWNER_PASSWORD, url="https://u:p@fenecon.de/jsonrpc")
    client = FemsCloudClient(session, OWNER, OWNER_PASSWORD)
    assert client.url == "https://fenecon.de/fems/rest/jsonrpc"
    assert OWNER_PASSWORD not in repr(client)


# --- history ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "resolution", "count"),
    [
        (SPRING_FORWARD, HOURLY, 23),
        (FALL_BACK, HOURLY, 25),
        (PLAIN_DAY, HOURLY, 24),
        (SPRING_FORWARD, QUARTER_HOURLY, 92),
        (FALL_BACK, QUARTER_HOURLY, 100),
    ],
)
async def test_history_follows_dst_in_the_requested_zone(
    client: FemsCloudClient,
    cloud: FemsCloudSimulator,
    day: date,
    resolution: FemsCloudResolution,
    count: int,
) -> None:
    series = await client.query_historic_timeseries_data(
        EDGE_A,
        day,
        day,
        channels=["_sum/EssSoc", "_sum/GridActivePower"],
        resolution=resolution,
        timezone=BERLIN,
    )
    assert len(series.timestamps) == count
    assert series.timestamps[0].tzinfo == UTC
    assert series.timestamps[0].astimezone(series.timestamps[0].tzinfo).hour in (22, 23)
    assert all(value is not None for value in series.data["_sum/EssSoc"])
    assert len(series.data["_sum/GridActivePower"]) == count
    # Both parameters always go explicitly: the automatic resolution has quirks.
    params = cloud.request_log[-1].params
    assert isinstance(params, dict)
    payload = params["payload"]
    assert isinstance(payload, dict)
    inner = payload["params"]
    assert isinstance(inner, dict)
    assert inner["timezone"] == BERLIN
    assert inner["resolution"] == resolution.to_json()
    assert (inner["fromDate"], inner["toDate"]) == (day.isoformat(), day.isoformat())


async def test_history_timestamps_start_at_local_midnight(client: FemsCloudClient) -> None:
    series = await client.query_historic_timeseries_data(
        EDGE_A, PLAIN_DAY, PLAIN_DAY, channels=["_sum/EssSoc"], resolution=HOURLY, timezone="UTC"
    )
    assert series.timestamps[0] == datetime(2025, 6, 2, tzinfo=UTC)
    berlin = await client.query_historic_timeseries_data(
        EDGE_A, PLAIN_DAY, PLAIN_DAY, channels=["_sum/EssSoc"], resolution=HOURLY, timezone=BERLIN
    )
    assert berlin.timestamps[0] == datetime(2025, 6, 1, 22, tzinfo=UTC)


async def test_energy_per_period_adds_up_to_the_energy_of_the_range(
    client: FemsCloudClient,
) -> None:
    total = await client.query_historic_timeseries_energy(
        EDGE_A, FALL_BACK, FALL_BACK, channels=ENERGY, timezone=BERLIN
    )
    per_hour = await client.query_historic_timeseries_energy_per_period(
        EDGE_A, FALL_BACK, FALL_BACK, channels=ENERGY, resolution=HOURLY, timezone=BERLIN
    )
    assert len(per_hour.timestamps) == 25
    for channel in ENERGY:
        values = per_hour.data[channel]
        assert all(value is not None for value in values)
        assert sum(v for v in values if v is not None) == pytest.approx(total[channel], abs=1)
    # A fixed house (PV 2 kW, load 1 kW): PV covers the load, the surplus goes to the
    # battery until it is full, then to the grid. Nothing is ever imported.
    assert total["_sum/GridBuyActiveEnergy"] == 0
    assert total["_sum/GridSellActiveEnergy"] == pytest.approx(25_000, abs=1)


async def test_energy_of_a_range_without_data_is_no_data(client: FemsCloudClient) -> None:
    with pytest.raises(ApiDeviceError) as excinfo:
        await client.query_historic_timeseries_energy(
            EDGE_A, date(2023, 1, 1), date(2023, 1, 2), channels=ENERGY, timezone=BERLIN
        )
    assert reason_of(excinfo) == FemsCloudErrorReason.NO_DATA


async def test_history_arguments_are_checked_before_sending(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    with pytest.raises(ValueError, match="IANA"):
        await client.query_historic_timeseries_energy(
            EDGE_A, PLAIN_DAY, PLAIN_DAY, channels=ENERGY, timezone="Mars/Olympus"
        )
    with pytest.raises(ValueError, match="before"):
        await client.query_historic_timeseries_energy(
            EDGE_A, PLAIN_DAY, date(2025, 6, 1), channels=ENERGY, timezone=BERLIN
        )
    with pytest.raises(TypeError):
        await client.query_historic_timeseries_export_xlsx(
            EDGE_A, datetime(2025, 6, 1, tzinfo=UTC), PLAIN_DAY, BERLIN
        )
    with pytest.raises(ValueError, match="positive"):
        FemsCloudResolution(0, ResolutionUnit.MINUTES)
    assert cloud.requests.total == 0


async def test_export_is_a_valid_xlsx(client: FemsCloudClient, cloud: FemsCloudSimulator) -> None:
    content = await client.query_historic_timeseries_export_xlsx(
        EDGE_A, SPRING_FORWARD, SPRING_FORWARD, BERLIN
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= names
        # Our own simulator wrote it: trusted input.
        sheet = ET.fromstring(archive.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    rows = sheet.findall(".//{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row")
    assert len(rows) == 1 + 92  # a header and the quarter hours of a 23-hour day
    assert cloud.calls["edgeRpc/queryHistoricTimeseriesExportXlxs"] == 1


async def test_export_that_is_not_an_xlsx_is_refused(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    for payload, message in (
        ("not base64!", "not base64"),
        (base64.b64encode(b"<html/>").decode(), "not an XLSX"),
    ):

        async def handler(request: web.Request, payload: str = payload) -> web.Response:
            body = await request.json()
            inner_id = body["params"]["payload"]["id"]
            inner = {"jsonrpc": "2.0", "id": inner_id, "result": {"payload": payload}}
            return web.json_response(
                {"jsonrpc": "2.0", "id": body["id"], "result": {"payload": inner}}
            )

        async with serve(handler) as url:
            client = FemsCloudClient(session, OWNER, OWNER_PASSWORD, url=url, clock=clock)
            with pytest.raises(ApiResponseError, match=message):
                await client.query_historic_timeseries_export_xlsx(
                    EDGE_A, PLAIN_DAY, PLAIN_DAY, BERLIN
                )


# --- configuration and control --------------------------------------------------------------


async def test_edge_config_is_parsed_and_raw_kept(client: FemsCloudClient) -> None:
    config = await client.get_edge_config(EDGE_A)
    assert config.components["ess0"].factory_id == "Fenecon.Home.Ess"
    assert (
        "io.openems.edge.ess.api.ManagedSymmetricEss"
        in config.factories["Fenecon.Home.Ess"].nature_ids
    )
    assert [c.component_id for c in config.components_of_factory(FIX_ACTIVE_POWER_FACTORY)] == [
        "ctrlFixActivePower0"
    ]
    assert "channels" not in config.raw["components"]["ess0"]


async def test_fix_active_power_found_only_where_it_exists(client: FemsCloudClient) -> None:
    controller = await client.async_find_fix_active_power(EDGE_A)
    assert controller is not None
    assert (controller.component_id, controller.ess_id) == ("ctrlFixActivePower0", "ess0")
    assert (controller.mode, controller.active) == (MODE_MANUAL_OFF, False)
    assert await client.async_find_fix_active_power(EDGE_B) is None


async def test_setpoint_is_held_and_released_through_fix_active_power(
    client: FemsCloudClient, cloud: FemsCloudSimulator
) -> None:
    await client.async_set_fix_active_power(EDGE_A, "ctrlFixActivePower0", 3000.4)
    records = [(w.channel, w.value, w.role) for w in cloud.writes.records]
    assert records == [
        ("fems1001/ctrlFixActivePower0/mode", MODE_MANUAL_ON, "owner"),
        ("fems1001/ctrlFixActivePower0/power", 3000, "owner"),
    ]
    # + discharge, as in Home Assistant: the battery now gives 3 kW, the grid takes 2 kW.
    state = (await client.async_fetch([EDGE_A]))[EDGE_A]
    assert (state.snapshot.battery_power, state.snapshot.grid_power) == (3000, -4000)
    controller = await client.async_find_fix_active_power(EDGE_A)
    assert controller is not None
    assert (controller.active, controller.power) == (True, 3000)

    await client.async_release_fix_active_power(EDGE_A, "ctrlFixActivePower0")
    assert cloud.writes.last is not None
    assert (cloud.writes.last.channel, cloud.writes.last.value) == (
        "fems1001/ctrlFixActivePower0/mode",
        MODE_MANUAL_OFF,
    )
    state = (await client.async_fetch([EDGE_A]))[EDGE_A]
    assert state.snapshot.battery_power == -1000  # back to self-consumption

    with pytest.raises(ValueError, match="finite"):
        await client.async_set_fix_active_power(EDGE_A, "ctrlFixActivePower0", float("nan"))


async def test_guest_cannot_write_a_setpoint(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    client = client_for(session, cloud, clock, GUEST)
    with pytest.raises(ApiDeviceError) as excinfo:
        await client.async_set_fix_active_power(EDGE_A, "ctrlFixActivePower0", -2000)
    assert reason_of(excinfo) == FemsCloudErrorReason.ROLE_DENIED
    assert cloud.writes.records == []
    assert [w.role for w in cloud.writes.rejected] == ["guest", "guest"]
    assert cloud.edges[EDGE_A].setpoint_w is None


async def test_config_changes_by_role(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    installer = client_for(session, cloud, clock, INSTALLER)
    owner = client_for(session, cloud, clock, OWNER)
    admin = client_for(session, cloud, clock, ADMIN)

    await installer.create_component_config(
        EDGE_B,
        FIX_ACTIVE_POWER_FACTORY,
        [{"name": "id", "value": "ctrlFixActivePower0"}, {"name": "ess.id", "value": "ess0"}],
    )
    assert await owner.async_find_fix_active_power(EDGE_B) is not None
    await owner.update_component_config(
        EDGE_B, "ctrlFixActivePower0", [{"name": "ess.id", "value": None}]
    )
    controller = await owner.async_find_fix_active_power(EDGE_B)
    assert controller is not None
    assert controller.ess_id is None  # a null value removes the property

    with pytest.raises(ApiDeviceError) as excinfo:
        await owner.delete_component_config(EDGE_B, "ctrlFixActivePower0")
    assert reason_of(excinfo) == FemsCloudErrorReason.ROLE_DENIED
    await installer.delete_component_config(EDGE_B, "ctrlFixActivePower0")
    assert await owner.async_find_fix_active_power(EDGE_B) is None
    with pytest.raises(ApiDeviceError) as excinfo:
        await installer.delete_component_config(EDGE_B, "ctrlFixActivePower0")
    assert reason_of(excinfo) == FemsCloudErrorReason.CONFIG_REJECTED

    with pytest.raises(ApiDeviceError) as excinfo:
        await installer.set_channel_value(EDGE_A, "ess0", "SetActivePowerEquals", -2500)
    assert reason_of(excinfo) == FemsCloudErrorReason.ROLE_DENIED
    await admin.set_channel_value(EDGE_A, "ess0", "SetActivePowerEquals", -2500)
    assert cloud.edges[EDGE_A].setpoint_w == -2500
    assert cloud.writes.last is not None
    assert (cloud.writes.last.channel, cloud.writes.last.role) == (
        "fems1001/ess0/SetActivePowerEquals",
        "admin",
    )
    with pytest.raises(ValueError, match="name"):
        await owner.update_component_config(EDGE_A, "ess0", [{"value": 1}])


async def test_component_json_api_returns_the_component_result(client: FemsCloudClient) -> None:
    result = await client.component_json_api(
        EDGE_A, "_componentManager", "getChannelsOfComponent", {"componentId": "_sum"}
    )
    ids = {channel["id"] for channel in result["channels"]}
    assert {"EssSoc", "GridActivePower"} <= ids


# --- secrets -------------------------------------------------------------------------------


async def test_no_secret_in_logs_or_errors(
    session: aiohttp.ClientSession,
    cloud: FemsCloudSimulator,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = base64.b64encode(f"{OWNER}:{OWNER_PASSWORD}".encode()).decode()
    client = client_for(session, cloud, clock)
    errors: list[BaseException] = []
    await client.async_fetch([EDGE_A, EDGE_B])
    await client.get_edge_config(EDGE_A)
    for call in (
        lambda: client.set_channel_value(EDGE_A, "ess0", "SetActivePowerEquals", 1),
        lambda: client_for(session, cloud, clock, OWNER, OWNER_PASSWORD + "x").async_fetch(
            [EDGE_A]
        ),
    ):
        with pytest.raises(EnergyFlexApiError) as excinfo:
            await call()
        errors.append(excinfo.value)
    cloud.faults.error_status = 503
    with pytest.raises(ApiConnectionError) as connection_error:
        await client.async_fetch([EDGE_A])
    errors.append(connection_error.value)

    assert "FEMS cloud request getEdgesStatus" in caplog.text  # the client does log
    for secret in (OWNER_PASSWORD, token, "Authorization"):
        assert secret not in caplog.text
        for err in errors:
            assert secret not in f"{err} {err!r}"
    # Nor does the simulator keep credentials in its request log.
    assert all(OWNER_PASSWORD not in repr(entry) for entry in cloud.request_log)


# --- helpers --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve(handler: Callable[[web.Request], Any]) -> AsyncIterator[str]:
    """`async with serve(handler) as url`: the cloud URL of a server answering with `handler`."""
    async with serve_http(handler) as base:
        yield f"{base}/fems/rest/jsonrpc"
