"""The simulated FlexConnect development client: pages, requests, latency and faults."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulators import flexconnect as sim_module
from simulators.battery import BatteryModel, FixedProfile
from simulators.flexconnect import FlexConnectSimulator
from simulators.flexconnect.battery import ControlMode, ControlState, ProtoJsonStyle

from .conftest import SKI_A, SKI_B, SKI_UNKNOWN

START = 1_770_819_600.0


class FakeClock:
    """Wall-clock seconds that only move when told."""

    def __init__(self) -> None:
        """Start at a fixed moment."""
        self.now = START

    def __call__(self) -> float:
        """The current fake time."""
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves."""
    return FakeClock()


@pytest.fixture
async def simulator(clock: FakeClock) -> AsyncIterator[FlexConnectSimulator]:
    """Two batteries at a fake time; every command takes 30 s."""

    def battery(clock: Any) -> BatteryModel:
        return BatteryModel(profile=FixedProfile(pv=0, load=400), soc=40, clock=clock)

    async with FlexConnectSimulator(
        skis=(SKI_A, SKI_B),
        battery_factory=battery,
        clock=clock,
        command_latency_s=(30, 30),
        max_wait_s=0,
    ) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP session."""
    async with aiohttp.ClientSession() as session:
        yield session


def body(ski: str = SKI_A, req_id: int = 7, **fields: Any) -> dict[str, Any]:
    """A request body as the vendor's guide writes it."""
    return {
        "header": {"reqId": req_id, "timeoutMs": 10000},
        "deviceId": {"type": {"id": 2}, "stringValue": ski},
        **fields,
    }


async def post(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator, name: str, payload: Any
) -> tuple[int, Any]:
    """POST one request; (status, decoded JSON)."""
    async with http.post(f"{simulator.url}/app/v1/{name}", json=payload) as response:
        return response.status, await response.json(content_type=None)


async def test_directory_list_links_what_is_served(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """`/` lists the URIs, and each GET URI on it answers."""
    async with http.get(simulator.url) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
    for path in ("/version", "/doc", "/ui", "/app/v1/*"):
        assert path in page
    for path in ("/", "/version", "/doc", "/ui"):
        async with http.get(simulator.url + path) as response:
            assert response.status == 200, path


async def test_version(http: aiohttp.ClientSession, simulator: FlexConnectSimulator) -> None:
    """`/version` is JSON with the client's version."""
    async with http.get(f"{simulator.url}/version") as response:
        assert await response.json() == {"version": simulator.version}


async def test_openapi_document_matches_what_is_served(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """Every documented operation answers, and every $ref resolves."""
    async with http.get(f"{simulator.url}/doc") as response:
        document = await response.json()
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [ref for value in node.values() for ref in refs(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in refs(value)]
        return []

    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas
    posts = {path for path, item in document["paths"].items() if "post" in item}
    assert posts == {
        "/app/v1/BatteryStateRequest",
        "/app/v1/BatteryControlRequest",
        "/app/v1/BatteryControlModifyRequest",
    }
    for path in posts:
        payload = body(controlMode=1, setpointPower={"number": 0})
        async with http.post(simulator.url + path, json=payload) as response:
            assert response.status == 200, path
    async with http.get(f"{simulator.url}/version") as response:
        assert "get" in document["paths"]["/version"]
        assert response.status == 200


async def test_ui_shows_the_batteries(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """`/ui` shows each battery's SKI, state of charge and instructions."""
    simulator.battery(SKI_B).online = False
    async with http.get(f"{simulator.url}/ui") as response:
        page = await response.text()
    assert SKI_A in page
    assert SKI_B in page
    assert "40.0 %" in page
    assert "AUTO +0 W" in page
    assert "/doc" in page


async def test_state_answer_is_proto3_json(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """Scaled numbers with string int64s; zero scales and values left out."""
    status, answer = await post(http, simulator, "BatteryStateRequest", body())
    assert status == 200
    assert answer == {
        "header": {"reqId": 7},
        "state": {
            "stateOfCharge": {"number": "400", "scale": -1},
            "stateOfHealth": {"number": "985", "scale": -1},
            "stateOfEnergy": {"number": "4000"},
            "usableCapacity": {"number": "10", "scale": 3},
            "stateOfOperation": 1,
        },
    }
    simulator.battery(SKI_A).model.soc = 0
    _, answer = await post(http, simulator, "BatteryStateRequest", body())
    assert answer["state"]["stateOfCharge"] == {"scale": -1}
    assert answer["state"]["stateOfEnergy"] == {}


async def test_rendering_style_switches(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """Numbers instead of strings, names for enums, defaults written out."""
    simulator.style = ProtoJsonStyle(
        omit_defaults=False, int64_as_string=False, enums_as_names=True
    )
    simulator.battery(SKI_A).control_state_override = 42  # no name: stays a number
    _, answer = await post(http, simulator, "BatteryControlRequest", body())
    current = answer["currentControlInstructions"]
    assert current["controlMode"] == "AUTO"
    assert current["controlState"] == 42
    assert current["setpointPower"] == {"number": 0, "scale": 0}
    assert isinstance(current["timestamp"], int)


async def test_unset_zero_setpoint_is_omitted(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """A cloud that leaves a zero setpoint unset omits the key on that side only."""
    simulator.style = ProtoJsonStyle(unset_zero_setpoint=frozenset({"desired"}))
    _, answer = await post(http, simulator, "BatteryControlRequest", body())
    assert "setpointPower" not in answer["desiredControlInstructions"]
    assert answer["currentControlInstructions"]["setpointPower"] == {}
    assert answer["desiredControlInstructions"]["controlMode"] == 3
    modify = body(controlMode=1, setpointPower={"number": -500, "scale": 0})
    await post(http, simulator, "BatteryControlModifyRequest", modify)
    _, answer = await post(http, simulator, "BatteryControlRequest", body())
    assert answer["desiredControlInstructions"]["setpointPower"] == {"number": "-500"}


async def test_command_latency(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator, clock: FakeClock
) -> None:
    """Desired at once, current (and the battery) only after the latency."""
    battery = simulator.battery(SKI_A)
    modify = body(controlMode=1, setpointPower={"number": 2000, "scale": 0})
    status, answer = await post(http, simulator, "BatteryControlModifyRequest", modify)
    assert (status, answer) == (200, {"header": {"reqId": 7}})
    _, control = await post(http, simulator, "BatteryControlRequest", body())
    assert control["desiredControlInstructions"] == {
        "controlMode": 1,
        "setpointPower": {"number": "2000"},
        "timestamp": str(int(START * 1000)),
    }
    assert control["currentControlInstructions"]["controlMode"] == 3
    assert battery.model.setpoint_w is None
    clock.now += 29.9
    _, control = await post(http, simulator, "BatteryControlRequest", body())
    assert control["currentControlInstructions"]["controlMode"] == 3
    clock.now += 0.1
    _, control = await post(http, simulator, "BatteryControlRequest", body())
    current = control["currentControlInstructions"]
    assert current["controlMode"] == 1
    assert current["controlState"] == ControlState.POWER
    assert current["setpointPower"] == {"number": "2000"}
    assert int(current["timestamp"]) == int((START + 30) * 1000)
    # FlexConnect + charge is the model's − charge: the battery takes 2 kW in.
    assert battery.model.setpoint_w == -2000
    assert battery.model.battery_power_w == -2000
    [record] = simulator.modifies
    assert (record.ski, record.control_mode, record.setpoint_w, record.req_id) == (
        SKI_A,
        1,
        2000,
        7,
    )


async def test_tick_applies_without_requests(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator, clock: FakeClock
) -> None:
    """The battery changes when its time comes, asked or not."""
    modify = body(controlMode="PCC", setpointPower={"number": "-5", "scale": "2"})
    await post(http, simulator, "BatteryControlModifyRequest", modify)
    clock.now += 30
    simulator.tick()
    battery = simulator.battery(SKI_A)
    assert battery.current.control_mode == ControlMode.PCC
    assert battery.current.setpoint_w == -500
    assert battery.control_state == ControlState.PCC
    assert battery.model.setpoint_w is None  # PCC runs as self-consumption in the model


async def test_default_latency_is_up_to_a_minute() -> None:
    """Without a setting each command takes a random time of up to 60 s."""
    simulator = FlexConnectSimulator(skis=(SKI_A,))
    assert simulator.command_latency_s == (0.0, 60.0)


async def test_fractional_setpoint_kept_exactly(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """A setpoint with decimals is echoed with the scale it needs."""
    modify = body(controlMode=1, setpointPower={"number": 15005, "scale": -1})
    await post(http, simulator, "BatteryControlModifyRequest", modify)
    _, control = await post(http, simulator, "BatteryControlRequest", body())
    assert control["desiredControlInstructions"]["setpointPower"] == {
        "number": "15005",
        "scale": -1,
    }


async def test_failsafe_and_operation_state(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """The knobs for failure states show in the answers."""
    battery = simulator.battery(SKI_A)
    battery.failsafe = True
    battery.state_of_operation = 5
    _, control = await post(http, simulator, "BatteryControlRequest", body())
    _, state = await post(http, simulator, "BatteryStateRequest", body())
    assert control["currentControlInstructions"]["controlState"] == ControlState.FAILSAFE
    assert state["state"]["stateOfOperation"] == 5
    battery.failsafe = False
    battery.current = type(battery.current)(9, battery.current.setpoint_w, 0)
    assert battery.control_state == ControlState.INIT


@pytest.mark.parametrize(
    ("name", "payload", "status", "code"),
    [
        ("BatteryStateRequest", body(SKI_UNKNOWN), 404, "DEVICE_NOT_FOUND"),
        ("BatteryStateRequest", body(SKI_A.lower()), 400, "BAD_REQUEST"),
        ("BatteryStateRequest", {**body(), "deviceId": {"stringValue": SKI_A}}, 400, "BAD_REQUEST"),
        ("BatteryStateRequest", {**body(), "deviceId": None}, 400, "BAD_REQUEST"),
        ("BatteryStateRequest", {"deviceId": body()["deviceId"]}, 400, "BAD_REQUEST"),
        ("BatteryStateRequest", {**body(), "header": {"reqId": 0}}, 400, "BAD_REQUEST"),
        (
            "BatteryStateRequest",
            {**body(), "header": {"reqId": 1, "timeoutMs": "x"}},
            400,
            "BAD_REQUEST",
        ),
        ("BatteryStateRequest", [1, 2], 400, "BAD_REQUEST"),
        ("FieldListRequest", body(), 404, "UNKNOWN_REQUEST"),
        ("BatteryControlModifyRequest", body(controlMode=7), 400, "BAD_REQUEST"),
        (
            "BatteryControlModifyRequest",
            body(controlMode=1, setpointPower={"number": 1.5}),
            400,
            "BAD_REQUEST",
        ),
        (
            "BatteryControlModifyRequest",
            body(controlMode=1, setpointPower={"number": True}),
            400,
            "BAD_REQUEST",
        ),
        (
            "BatteryControlModifyRequest",
            body(controlMode=1, setpointPower={"number": "x"}),
            400,
            "BAD_REQUEST",
        ),
        ("BatteryControlModifyRequest", body(controlMode=1, setpointPower=5), 400, "BAD_REQUEST"),
    ],
)
async def test_request_errors(
    http: aiohttp.ClientSession,
    simulator: FlexConnectSimulator,
    name: str,
    payload: Any,
    status: int,
    code: str,
) -> None:
    """Bad requests and unknown devices get an error envelope; nothing is changed."""
    answer_status, answer = await post(http, simulator, name, payload)
    assert answer_status == status
    assert answer["error"]["code"] == code
    assert simulator.modifies == []


async def test_body_that_is_not_json(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """A broken body is a 400 without a reqId to echo."""
    async with http.post(
        f"{simulator.url}/app/v1/BatteryStateRequest", data=b"{not json"
    ) as response:
        assert response.status == 400
        assert (await response.json())["header"] == {}


async def test_offline_battery_times_out(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """An offline battery: 504 after the request's timeoutMs (capped for tests)."""
    simulator.battery(SKI_A).online = False
    simulator.max_wait_s = None
    payload = body()
    payload["header"]["timeoutMs"] = 20
    status, answer = await post(http, simulator, "BatteryStateRequest", payload)
    assert status == 504
    assert answer == {
        "header": {"reqId": 7},
        "error": {"code": "TIMEOUT", "message": "the device did not answer in time"},
    }
    status, _ = await post(http, simulator, "BatteryStateRequest", body(SKI_B))
    assert status == 200


async def test_wrong_req_id_fault(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """The fault echoes a reqId that is not the request's."""
    simulator.wrong_req_id = True
    _, answer = await post(http, simulator, "BatteryStateRequest", body(req_id=41))
    assert answer["header"] == {"reqId": 42}


async def test_get_on_a_request_is_refused(
    http: aiohttp.ClientSession, simulator: FlexConnectSimulator
) -> None:
    """Requests are POST only."""
    async with http.get(f"{simulator.url}/app/v1/BatteryStateRequest") as response:
        assert response.status == 405


async def test_start_twice_refused(simulator: FlexConnectSimulator) -> None:
    """One simulator, one socket."""
    with pytest.raises(RuntimeError, match="already started"):
        await simulator.start()


async def test_command_line_launch() -> None:
    """The `python -m simulators` hooks: options, start-up summary, stop."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    sim_module.CLI.add_arguments(parser)
    args = parser.parse_args(
        [
            "--flexconnect-port",
            "0",
            "--flexconnect-ski",
            SKI_B.lower(),
            "--flexconnect-latency",
            "5",
        ]
    )
    running = await sim_module.CLI.launch(args)
    try:
        assert running.summary.startswith("flexconnect (client ")
        assert SKI_B in running.summary
        assert "up to 5 s" in running.summary
    finally:
        await running.stop()
