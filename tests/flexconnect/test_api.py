"""The FlexConnect client against the simulated development client, over real sockets."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from custom_components.energy_flex.api import flexconnect as api
from custom_components.energy_flex.api.errors import ApiConnectionError, ApiResponseError
from custom_components.energy_flex.api.flexconnect import (
    ControlMode,
    ControlState,
    FlexConnectClient,
    StateOfOperation,
)
from simulators.flexconnect import FlexConnectSimulator
from simulators.flexconnect.battery import ProtoJsonStyle

from .conftest import SKI_A, SKI_UNKNOWN, make_simulator

GUIDE_STATE = {
    "state": {
        "stateOfCharge": {"number": 34, "scale": 0},
        "stateOfHealth": {"number": 100, "scale": 0},
        "stateOfEnergy": {"number": 680, "scale": 0},
        "usableCapacity": {"number": 2000, "scale": 0},
        "stateOfOperation": 1,
    }
}
GUIDE_CONTROL = {
    "currentControlInstructions": {
        "controlState": 2,
        "controlMode": 1,
        "setpointPower": {"number": 0, "scale": 0},
        "timestamp": 1770819628078,
    },
    "desiredControlInstructions": {
        "controlMode": 1,
        "setpointPower": {"number": 0, "scale": 0},
        "timestamp": 1770819595253,
    },
}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A session of the test's own; the client never closes the one it is given."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(session: aiohttp.ClientSession, flexconnect: FlexConnectSimulator) -> FlexConnectClient:
    """A client of the simulated development client."""
    return FlexConnectClient(session, flexconnect.url)


async def test_guide_examples_decode(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """The First Steps answers, verbatim."""
    flexconnect.answer_overrides["BatteryStateRequest"] = GUIDE_STATE
    flexconnect.answer_overrides["BatteryControlRequest"] = GUIDE_CONTROL
    state = await client.async_get_battery_state(SKI_A)
    assert state.state_of_charge == 34
    assert state.state_of_health == 100
    assert state.state_of_energy == 680
    assert state.usable_capacity == 2000
    assert state.state_of_operation is StateOfOperation.NORMAL
    control = await client.async_get_battery_control(SKI_A)
    assert control.current is not None
    assert control.desired is not None
    assert control.current.control_state is ControlState.POWER
    assert control.current.control_mode is ControlMode.POWER
    assert control.current.setpoint_power == 0
    assert control.current.timestamp_ms == 1770819628078
    assert control.desired.control_state is None
    assert control.applied


async def test_proto3_omissions_strings_and_names(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """Missing scale/number are 0, int64s may be strings, enums may be names."""
    flexconnect.answer_overrides["BatteryStateRequest"] = {
        "state": {
            "stateOfCharge": {},
            "stateOfHealth": {"number": "985", "scale": -1},
            "usableCapacity": {"number": "2", "scale": "3"},
            "someFutureField": {"number": 1},
        }
    }
    flexconnect.answer_overrides["BatteryControlRequest"] = {
        "currentControlInstructions": {
            "controlState": "AUTO_CONTROLLED",
            "controlMode": "AUTO",
            "setpointPower": {},
            "timestamp": "1770819628078",
        },
        "desiredControlInstructions": {"controlMode": "3", "setpointPower": {"number": "1000"}},
    }
    state = await client.async_get_battery_state(SKI_A)
    assert state.state_of_charge == 0
    assert state.state_of_health == 98.5
    assert state.state_of_energy is None  # absent message: unknown, not 0
    assert state.usable_capacity == 2000
    assert state.state_of_operation is None
    assert state.unknown_values == ()
    control = await client.async_get_battery_control(SKI_A)
    assert control.current is not None
    assert control.desired is not None
    assert control.current.control_state is ControlState.AUTO_CONTROLLED
    assert control.current.setpoint_power == 0
    assert control.current.timestamp_ms == 1770819628078
    assert control.desired.control_mode is ControlMode.AUTO
    assert control.desired.setpoint_power == 1000
    assert control.desired.timestamp_ms is None
    assert not control.applied


async def test_simulator_rendering_decodes(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """The simulator's default ProtoJSON (string int64s, omitted zeros) reads back."""
    battery = flexconnect.battery(SKI_A)
    state = await client.async_get_battery_state(SKI_A)
    assert state.state_of_charge == pytest.approx(battery.model.soc, abs=0.05)
    assert state.usable_capacity == 10000
    assert state.state_of_health == 98.5
    control = await client.async_get_battery_control(SKI_A)
    assert control.current is not None
    assert control.current.control_mode is ControlMode.AUTO
    assert control.current.setpoint_power == 0


@pytest.mark.parametrize("side", ["current", "desired"])
async def test_omitted_zero_setpoint_decodes_as_zero_command(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator, side: str
) -> None:
    """A side that leaves `setpointPower` out: shown unknown, compared as 0 (ProtoJSON)."""
    flexconnect.style = ProtoJsonStyle(unset_zero_setpoint=frozenset({side}))
    control = await client.async_get_battery_control(SKI_A)
    assert control.current is not None
    assert control.desired is not None
    quiet, spoken = (
        (control.current, control.desired)
        if side == "current"
        else (control.desired, control.current)
    )
    assert quiet.setpoint_omitted
    assert quiet.setpoint_power is None
    assert quiet.command_setpoint == 0
    assert spoken.setpoint_power == 0
    assert not spoken.setpoint_omitted
    assert control.applied
    flexconnect.answer_overrides["BatteryControlRequest"] = {
        "currentControlInstructions": {"controlMode": 3, "setpointPower": None},
        "desiredControlInstructions": {"controlMode": 3, "setpointPower": "garbage"},
    }
    control = await client.async_get_battery_control(SKI_A)
    assert control.current is not None
    assert control.current.command_setpoint == 0  # JSON null: not set, so 0
    assert control.desired is not None
    assert control.desired.command_setpoint is None  # sent but not a number: unknown
    assert not control.applied


async def test_unknown_enum_values_are_reported_once(
    client: FlexConnectClient,
    flexconnect: FlexConnectSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Values beyond the vendor's tables become unknown and are logged once each."""
    flexconnect.battery(SKI_A).state_of_operation = 9
    flexconnect.battery(SKI_A).control_state_override = 12
    for _ in range(2):
        state = await client.async_get_battery_state(SKI_A)
        control = await client.async_get_battery_control(SKI_A)
    assert state.state_of_operation is None
    assert state.unknown_values == ("stateOfOperation=9",)
    assert control.current is not None
    assert control.current.control_state is None
    assert control.unknown_values == ("currentControlInstructions.controlState=12",)
    assert caplog.text.count("stateOfOperation = 9") == 1
    assert caplog.text.count("controlState = 12") == 1


async def test_modify_request_body(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """Mode, exact scaled setpoint (FlexConnect sign, untouched here), fresh reqIds."""
    await client.async_modify_battery_control(SKI_A, ControlMode.POWER, -1500)
    await client.async_modify_battery_control(SKI_A, ControlMode.PCC, 250.5)
    first, second = flexconnect.modifies
    assert (first.control_mode, first.setpoint_w) == (1, -1500)
    assert (second.control_mode, float(second.setpoint_w)) == (2, 250.5)
    assert second.req_id == first.req_id + 1
    desired = flexconnect.battery(SKI_A).desired
    assert (desired.control_mode, float(desired.setpoint_w)) == (2, 250.5)


async def test_requests_carry_header_and_device_id(
    session: aiohttp.ClientSession, flexconnect: FlexConnectSimulator
) -> None:
    """Every request: header.reqId (never 0) and timeoutMs, deviceId type 2 with the SKI."""
    client = FlexConnectClient(session, flexconnect.url, timeout_ms=2500)
    await client.async_get_battery_state(SKI_A)
    await client.async_get_battery_control(SKI_A)
    (first_name, first), (second_name, second) = flexconnect.received
    assert (first_name, second_name) == ("BatteryStateRequest", "BatteryControlRequest")
    assert first["header"] == {"reqId": first["header"]["reqId"], "timeoutMs": 2500}  # type: ignore[index]
    assert first["header"]["reqId"] > 0  # type: ignore[index,operator]
    assert second["header"]["reqId"] == first["header"]["reqId"] + 1  # type: ignore[index,operator]
    assert first["deviceId"] == {"type": {"id": 2}, "stringValue": SKI_A}


async def test_req_id_wraps_before_int32_overflow(client: FlexConnectClient) -> None:
    """The counter restarts at 1 rather than leave the uint32/int32 range."""
    client._req_ids = itertools.count(api._REQ_ID_MAX)
    assert client._next_req_id() == api._REQ_ID_MAX
    assert client._next_req_id() == 1


async def test_req_id_mismatch(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """An answer to another request is refused, never used."""
    flexconnect.wrong_req_id = True
    with pytest.raises(ApiResponseError, match="another request"):
        await client.async_get_battery_state(SKI_A)


@pytest.mark.parametrize(
    "body",
    [
        {"header": {}},  # reqId omitted: 0, which we never send
        {"header": {"reqId": "x"}},
        {"header": None},
        {"header": [1]},
    ],
)
async def test_missing_or_bad_header(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator, body: dict[str, Any]
) -> None:
    """Without our reqId echoed the answer is not ours."""
    flexconnect.answer_overrides["BatteryControlModifyRequest"] = body
    with pytest.raises(ApiResponseError):
        await client.async_modify_battery_control(SKI_A, ControlMode.AUTO, 0)


async def test_answer_without_state(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """A state answer must hold `state`."""
    flexconnect.answer_overrides["BatteryStateRequest"] = {"state": None}
    with pytest.raises(ApiResponseError, match="without state"):
        await client.async_get_battery_state(SKI_A)


async def test_absent_instructions_are_none(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """A battery without instructions yet: nothing current, nothing desired."""
    flexconnect.answer_overrides["BatteryControlRequest"] = {}
    control = await client.async_get_battery_control(SKI_A)
    assert control.current is None
    assert control.desired is None
    assert control.applied


async def test_client_down(session: aiohttp.ClientSession) -> None:
    """Nothing listens on the port: a connection error, on every request kind."""
    async with make_simulator() as simulator:
        url = simulator.url
    client = FlexConnectClient(session, url)
    with pytest.raises(ApiConnectionError):
        await client.async_get_version()
    with pytest.raises(ApiConnectionError):
        await client.async_get_battery_state(SKI_A)


async def test_device_offline_fails_after_timeout(
    session: aiohttp.ClientSession, flexconnect: FlexConnectSimulator
) -> None:
    """An offline battery holds the request for timeoutMs, then the client says so."""
    flexconnect.battery(SKI_A).online = False
    flexconnect.max_wait_s = None  # wait the full timeoutMs
    client = FlexConnectClient(session, flexconnect.url, timeout_ms=50)
    with pytest.raises(ApiConnectionError, match="HTTP 504"):
        await client.async_get_battery_state(SKI_A)


async def test_http_timeout(
    session: aiohttp.ClientSession,
    flexconnect: FlexConnectSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client that does not answer at all: our own timeout ends the wait."""
    monkeypatch.setattr(api, "_HTTP_MARGIN_S", 0.0)
    client = FlexConnectClient(session, flexconnect.url, timeout_ms=50)
    flexconnect.faults.latency_s = 0.5
    with pytest.raises(ApiConnectionError, match="TimeoutError"):
        await client.async_get_battery_state(SKI_A)


async def test_unknown_device(client: FlexConnectClient) -> None:
    """An SKI the cloud does not know fails like any battery that does not answer."""
    with pytest.raises(ApiConnectionError, match="HTTP 404"):
        await client.async_get_battery_state(SKI_UNKNOWN)


async def test_unnormalised_ski_is_a_bug(client: FlexConnectClient) -> None:
    """The config flow normalises SKIs; the client refuses anything else unsent."""
    with pytest.raises(ValueError, match="normalize"):
        await client.async_get_battery_state(SKI_A.lower())


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"malformed_body": True}, ApiResponseError),
        ({"error_status": 502}, ApiConnectionError),
        ({"drop_connection": True}, ApiConnectionError),
    ],
)
async def test_transport_faults(
    client: FlexConnectClient,
    flexconnect: FlexConnectSimulator,
    fault: dict[str, Any],
    error: type[Exception],
) -> None:
    """Broken bodies, error pages and dropped connections are clear errors."""
    for name, value in fault.items():
        setattr(flexconnect.faults, name, value)
    with pytest.raises(error):
        await client.async_get_battery_control(SKI_A)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"state": {"pad": "x" * 70_000}}, "too large"),
    ],
)
async def test_oversized_answer(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator, answer: Any, message: str
) -> None:
    """A body far beyond any real answer is refused while reading."""
    flexconnect.answer_overrides["BatteryStateRequest"] = answer
    with pytest.raises(ApiResponseError, match=message):
        await client.async_get_battery_state(SKI_A)


async def test_version(client: FlexConnectClient, flexconnect: FlexConnectSimulator) -> None:
    """`GET /version` answers the client's version."""
    assert await client.async_get_version() == flexconnect.version


async def test_version_error_status(
    client: FlexConnectClient, flexconnect: FlexConnectSimulator
) -> None:
    """Anything but 200 on /version: not a (working) development client."""
    flexconnect.faults.error_status = 404
    with pytest.raises(ApiConnectionError, match="HTTP 404"):
        await client.async_get_version()


@pytest.mark.parametrize(
    ("body", "version"),
    [
        (b'{"version": "1.2.3"}', "1.2.3"),
        (b'"2.0.1"', "2.0.1"),
        (b"3", "3"),
        (b"v1.0.0-beta\nbuilt today", "v1.0.0-beta"),
        (b"", None),
        (b"{}", None),
        (b"[1]", None),
        (b"\xff\xfe", None),
        (b"x" * 200, "x" * 64),
    ],
)
def test_version_text(body: bytes, version: str | None) -> None:
    """JSON object, JSON string, number or plain text; nothing odd gets through."""
    assert api._version_text(body) == version


async def test_answers_log_no_body_above_debug(
    client: FlexConnectClient,
    flexconnect: FlexConnectSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error answer's body goes to the debug log only."""
    caplog.set_level(logging.INFO)
    with pytest.raises(ApiConnectionError):
        await client.async_get_battery_state(SKI_UNKNOWN)
    assert "DEVICE_NOT_FOUND" not in caplog.text
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApiConnectionError):
        await client.async_get_battery_state(SKI_UNKNOWN)
    assert "DEVICE_NOT_FOUND" in caplog.text


@pytest.mark.parametrize("body", [b"[1]", b'"text"', b"null"])
def test_answer_must_be_an_object(body: bytes) -> None:
    """A JSON answer that is not an object is not a FlexConnect answer."""
    with pytest.raises(ApiResponseError, match="not a JSON object"):
        api._json_object(body)
