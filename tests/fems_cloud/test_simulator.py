"""The FEMS cloud simulator over raw HTTP: what any client of the real backend sees."""

from __future__ import annotations

import argparse
import base64
import io
import json
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from simulators.battery import BatteryModel, FixedProfile
from simulators.fems_cloud import (
    CLI,
    FIX_ACTIVE_POWER,
    ErrorShape,
    FemsCloudSimulator,
    SimulatedEdge,
)
from simulators.fems_cloud.errors import too_many_requests
from simulators.fems_cloud.xlsx import build_xlsx, column_letters

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
    make_cloud,
    make_users,
)

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
NAMED = "io.openems.common.exceptions.OpenemsError$OpenemsNamedException"


def basic(login: str, password: str | None = None) -> dict[str, str]:
    secret = PASSWORDS[login] if password is None else password
    token = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: Any,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, Any]:
    """POST a JSON body (or raw bytes); the status, content type and decoded answer."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with session.post(url, data=data, headers=headers or basic(OWNER)) as response:
        raw = await response.read()
        content_type = response.headers.get("Content-Type", "")
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode("iso-8859-1")
        return response.status, content_type, decoded


async def rpc(
    session: aiohttp.ClientSession,
    cloud: FemsCloudSimulator,
    method: str,
    params: dict[str, Any],
    login: str = OWNER,
) -> tuple[int, Any]:
    body = {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params}
    status, _, answer = await post(session, cloud.url, body, basic(login))
    return status, answer


async def edge_rpc(
    session: aiohttp.ClientSession,
    cloud: FemsCloudSimulator,
    edge_id: str,
    method: str,
    params: dict[str, Any],
    login: str = OWNER,
) -> tuple[int, Any]:
    payload = {"method": method, "params": params}
    return await rpc(session, cloud, "edgeRpc", {"edgeId": edge_id, "payload": payload}, login)


def history_params(day: date, resolution: Any = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "timezone": "Europe/Berlin",
        "fromDate": day.isoformat(),
        "toDate": day.isoformat(),
        "channels": ["_sum/EssSoc", "_sum/GridSellActiveEnergy"],
        **extra,
    }
    if resolution is not None:
        params["resolution"] = resolution
    return params


def inner_result(answer: Any) -> Any:
    payload = answer["result"]["payload"]
    assert payload["jsonrpc"] == "2.0"
    return payload["result"]


# --- authentication and transport -------------------------------------------------------------


async def test_unauthenticated_requests_get_jettys_500_page(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    body = {"method": "getEdgesStatus", "params": {"edgeIds": [EDGE_A]}}
    async with session.post(cloud.url, json=body) as response:
        page = await response.text()
        assert response.status == 500
        assert response.headers["Content-Type"].startswith("text/html")
    assert "HTTP ERROR 500" in page
    assert "Authentication failed" in page
    status, content_type, answer = await post(
        session, cloud.url, body, {**basic(OWNER, "wrong"), "Accept": "application/json"}
    )
    assert (status, content_type) == (500, "application/json;charset=utf-8")
    assert answer["message"] == f"{NAMED}: Authentication failed"
    assert [entry.username for entry in cloud.request_log] == [None, None]
    assert cloud.calls == {}


async def test_credentials_are_trimmed_and_checked_per_login(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    body = {"method": "getEdgesStatus", "params": {"edgeIds": [EDGE_A]}}
    token = base64.b64encode(f" {OWNER} : {OWNER_PASSWORD} ".encode()).decode()
    status, _, _ = await post(session, cloud.url, body, {"Authorization": f"Basic {token}"})
    assert status == 200
    # The guest's password does not open the owner's account.
    status, _, _ = await post(session, cloud.url, body, basic(OWNER, PASSWORDS[GUEST]))
    assert status == 500


async def test_envelope_defaults_and_checks(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    status, _, answer = await post(
        session, cloud.url, {"method": "getEdgesStatus", "params": {"edgeIds": [EDGE_A]}}
    )
    assert status == 200
    assert answer["jsonrpc"] == "2.0"
    uuid.UUID(answer["id"])  # filled in when missing
    assert answer["result"] == {EDGE_A: {"online": True}}

    for body, text in (
        ({"id": "not-a-uuid", "method": "getEdgesStatus", "params": {}}, "id must be a UUID"),
        ({"method": "getEdgesStatus"}, "not a valid Request"),
        (b"{nope", "Unable to parse"),
        ({"method": "subscribeEdges", "params": {}}, "Unhandled JSON-RPC method [subscribeEdges]"),
    ):
        status, _, answer = await post(session, cloud.url, body)
        assert status == 400
        assert answer["id"] == ZERO_UUID
        assert answer["error"]["code"] == 1
        assert answer["error"]["message"].startswith("Unable to get Response: ")
        assert text in answer["error"]["message"]
        assert answer["error"]["data"] == [answer["error"]["message"]]


async def test_get_is_not_json_rpc_and_other_paths_answer_empty(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    async with session.get(cloud.url, headers=basic(OWNER)) as response:
        answer = await response.json()
    assert response.status == 400
    assert "Method [GET] is not supported" in answer["error"]["message"]
    async with session.post(
        cloud.url.replace("jsonrpc", "other"), headers=basic(OWNER)
    ) as response:
        assert (response.status, await response.read()) == (200, b"")
    b2b_path = cloud.url.replace("/fems/rest/jsonrpc", "/jsonrpc")
    status, _, answer = await post(
        session, b2b_path, {"method": "getEdgesStatus", "params": {"edgeIds": [EDGE_A]}}
    )
    assert (status, answer["result"]) == (200, {EDGE_A: {"online": True}})


async def test_faults_apply_to_every_request(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    cloud.faults.error_status = 429
    status, _ = await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]})
    assert status == 429
    assert cloud.requests.total == 1
    assert cloud.request_log == []  # the fault answered before the backend saw it


async def test_rate_limiter_answers_too_many_requests(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    cloud = make_cloud(clock, requests_per_minute=1)
    await cloud.start()
    try:
        assert (await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]}))[0] == 200
        status, answer = await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]})
        assert status == 400
        assert "Too Many Requests" in answer["error"]["message"]
        # Per login: another account is not limited by the owner's requests.
        assert (await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]}, ADMIN))[0] == 200
        clock.advance(60)
        assert (await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]}))[0] == 200
    finally:
        await cloud.stop()


# --- getEdgesStatus / getEdgesChannelsValues --------------------------------------------------


async def test_edges_status_needs_edge_ids(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    status, answer = await rpc(session, cloud, "getEdgesStatus", {})
    assert status == 400
    assert "JSON [edgeIds] is not a member" in answer["error"]["message"]


async def test_one_invisible_edge_fails_the_whole_status_request(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    status, answer = await rpc(
        session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A, EDGE_B]}, GUEST
    )
    assert status == 400
    assert "Role for User [guest@example.com] is not defined" in answer["error"]["message"]
    status, answer = await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]}, GUEST)
    assert answer["result"] == {EDGE_A: {"online": True}}
    # A global admin passes the check; an id without metadata is simply left out.
    status, answer = await rpc(
        session, cloud, "getEdgesStatus", {"edgeIds": ["fems9999", EDGE_B]}, ADMIN
    )
    assert answer["result"] == {EDGE_B: {"online": True}}


async def test_channel_values_are_an_object_per_edge_with_sorted_keys(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    channels = ["_sum/GridActivePower", "_sum/EssSoc", "_sum/Unknown"]
    status, answer = await rpc(
        session, cloud, "getEdgesChannelsValues", {"ids": [EDGE_A, EDGE_B], "channels": channels}
    )
    assert status == 200
    for edge_id in (EDGE_A, EDGE_B):
        values = answer["result"][edge_id]
        assert list(values) == sorted(channels)
        assert values == {"_sum/EssSoc": 50, "_sum/GridActivePower": 0, "_sum/Unknown": None}
    status, answer = await rpc(
        session, cloud, "getEdgesChannelsValues", {"ids": [EDGE_A], "channels": ["EssSoc"]}
    )
    assert status == 400
    assert "This [EssSoc] is not a valid channel address" in answer["error"]["message"]


async def test_values_freeze_while_offline_and_move_again_online(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    params = {"ids": [EDGE_A], "channels": ["_sum/EssSoc", "_sum/EssDcChargeEnergy"]}
    cloud.set_online(EDGE_A, False)
    _, frozen = await rpc(session, cloud, "getEdgesChannelsValues", params)
    clock.advance(1800)
    _, still = await rpc(session, cloud, "getEdgesChannelsValues", params)
    assert still["result"] == frozen["result"]
    _, status = await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]})
    assert status["result"] == {EDGE_A: {"online": False}}

    cloud.set_online(EDGE_A, True)
    _, fresh = await rpc(session, cloud, "getEdgesChannelsValues", params)
    # Half an hour of 1 kW charging reached the model; the cache shows it again.
    assert fresh["result"][EDGE_A]["_sum/EssSoc"] == 55
    charged = fresh["result"][EDGE_A]["_sum/EssDcChargeEnergy"]
    assert charged - frozen["result"][EDGE_A]["_sum/EssDcChargeEnergy"] == 500


async def test_offline_cycle_takes_edges_off_and_brings_them_back(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    """Offline for a period, online for the next, offline again: as the clock moves."""
    status_params = {"edgeIds": [EDGE_A, EDGE_B]}
    values_params = {"ids": [EDGE_B], "channels": ["_sum/EssSoc"]}
    cloud.cycle_offline([EDGE_B], 300)

    async def online() -> dict[str, bool]:
        _, answer = await rpc(session, cloud, "getEdgesStatus", status_params)
        return {edge_id: value["online"] for edge_id, value in answer["result"].items()}

    assert await online() == {EDGE_A: True, EDGE_B: False}
    _, frozen = await rpc(session, cloud, "getEdgesChannelsValues", values_params)
    clock.advance(299)
    assert await online() == {EDGE_A: True, EDGE_B: False}
    _, still = await rpc(session, cloud, "getEdgesChannelsValues", values_params)
    assert still["result"] == frozen["result"]  # the backend's stale cache
    # An offline edge takes no configuration change.
    status, answer = await edge_rpc(
        session, cloud, EDGE_B, "deleteComponentConfig", {"componentId": "ctrlBalancing0"}
    )
    assert status == 400
    assert f"Edge [{EDGE_B}] is not connected" in answer["error"]["message"]

    clock.advance(1)
    assert await online() == {EDGE_A: True, EDGE_B: True}
    clock.advance(1800)  # 1 kW of surplus charges the battery while online: values move
    assert await online() == {EDGE_A: True, EDGE_B: True}  # 2100 s: the 8th period, online
    _, fresh = await rpc(session, cloud, "getEdgesChannelsValues", values_params)
    assert fresh["result"][EDGE_B]["_sum/EssSoc"] > frozen["result"][EDGE_B]["_sum/EssSoc"]
    clock.advance(300)
    assert await online() == {EDGE_A: True, EDGE_B: False}
    clock.advance(300)
    assert await online() == {EDGE_A: True, EDGE_B: True}


def test_offline_cycle_checks_its_edges_and_period(cloud: FemsCloudSimulator) -> None:
    with pytest.raises(ValueError, match="unknown edge ids"):
        cloud.cycle_offline(["fems7777"], 60)
    for period in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="period must be positive"):
            cloud.cycle_offline([EDGE_B], period)
    assert cloud.edges[EDGE_B].online  # nothing changed


# --- edgeRpc, error shapes --------------------------------------------------------------------


async def test_edge_rpc_wraps_the_inner_response_with_its_id(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    inner_id = str(uuid.uuid4())
    payload = {"jsonrpc": "2.0", "id": inner_id, "method": "getEdgeConfig", "params": {}}
    body_id = str(uuid.uuid4())
    body = {"id": body_id, "method": "edgeRpc", "params": {"edgeId": EDGE_A, "payload": payload}}
    status, _, answer = await post(session, cloud.url, body)
    assert status == 200
    assert answer["id"] == body_id
    assert answer["result"]["payload"]["id"] == inner_id
    assert cloud.calls == {"edgeRpc": 1, "edgeRpc/getEdgeConfig": 1}


@pytest.mark.parametrize(
    ("shape", "status", "error"),
    [
        (
            ErrorShape.HTTP400,
            400,
            {"code": 1, "message": f"{NAMED}: Edge [fems1002] is not connected"},
        ),
        (ErrorShape.NAMED200, 200, {"code": 3000, "message": "Edge [fems1002] is not connected"}),
        (
            ErrorShape.EDGE_PAYLOAD,
            400,
            {"code": 1, "message": f"{NAMED}: Edge [fems1002] is not connected"},
        ),
    ],
)
async def test_offline_edge_error_per_shape(
    session: aiohttp.ClientSession,
    cloud: FemsCloudSimulator,
    shape: ErrorShape,
    status: int,
    error: dict[str, Any],
) -> None:
    """A failure while completing carries the request id; the backend's own stays outside."""
    cloud.error_shape = shape
    cloud.set_online(EDGE_B, False)
    request_id = str(uuid.uuid4())
    payload = {"method": "setChannelValue", "params": {"componentId": "ess0"}}
    body = {"id": request_id, "method": "edgeRpc", "params": {"edgeId": EDGE_B, "payload": payload}}
    got_status, _, answer = await post(session, cloud.url, body)
    assert got_status == status
    assert answer["id"] == request_id
    assert {key: answer["error"][key] for key in ("code", "message")} == error


@pytest.mark.parametrize("shape", list(ErrorShape))
async def test_edge_side_role_denial_per_shape(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, shape: ErrorShape
) -> None:
    cloud.error_shape = shape
    params = {"componentId": "ess0", "channelId": "SetActivePowerEquals", "value": 1000}
    status, answer = await edge_rpc(session, cloud, EDGE_A, "setChannelValue", params)
    text = "Access to this resource [setChannelValue] is denied for User with Role [OWNER]"
    if shape is ErrorShape.EDGE_PAYLOAD:
        assert status == 200
        assert answer["result"]["payload"]["error"]["code"] == 1002
        assert answer["result"]["payload"]["error"]["message"] == text
    elif shape is ErrorShape.NAMED200:
        assert (status, answer["error"]["code"], answer["error"]["message"]) == (200, 1002, text)
        assert answer["error"]["data"] == ["setChannelValue", "OWNER"]
    else:
        assert (status, answer["error"]["code"]) == (400, 1)
        assert answer["error"]["message"] == f"{NAMED}: {text}"
    assert cloud.writes.rejected[-1].channel == "fems1001/ess0/SetActivePowerEquals"


async def test_synchronous_error_in_named_shape_is_still_code_1(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    cloud.error_shape = ErrorShape.NAMED200
    status, answer = await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_B]}, GUEST)
    assert (status, answer["id"], answer["error"]["code"]) == (200, ZERO_UUID, 1)
    assert answer["error"]["message"].startswith("Unable to get Response: Access to this resource")


# --- configuration ----------------------------------------------------------------------------


async def test_edge_config_with_and_without_fix_active_power(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    _, answer = await edge_rpc(session, cloud, EDGE_A, "getEdgeConfig", {})
    config = inner_result(answer)
    controller = config["components"]["ctrlFixActivePower0"]
    assert controller["factoryId"] == FIX_ACTIVE_POWER
    assert controller["properties"]["mode"] == "MANUAL_OFF"
    assert "id" not in controller
    assert "channels" not in config["components"]["ess0"]  # gone since 2024.7.0
    assert FIX_ACTIVE_POWER in config["factories"]

    _, answer = await edge_rpc(session, cloud, EDGE_B, "getEdgeConfig", {})
    config = inner_result(answer)
    assert all(c["factoryId"] != FIX_ACTIVE_POWER for c in config["components"].values())
    # Only factories in use are listed.
    assert FIX_ACTIVE_POWER not in config["factories"]

    cloud.set_online(EDGE_B, False)  # answered from the backend's metadata cache
    status, answer = await edge_rpc(session, cloud, EDGE_B, "getEdgeConfig", {}, GUEST)
    assert status == 400  # the guest has no role on fems1002
    status, answer = await edge_rpc(session, cloud, EDGE_B, "getEdgeConfig", {})
    assert status == 200
    assert "ess0" in inner_result(answer)["components"]


async def test_config_changes_and_their_guards(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    create = {
        "factoryPid": "Controller.Debug.Log",
        "properties": [{"name": "alias", "value": "Debug"}],
    }
    status, _ = await edge_rpc(session, cloud, EDGE_B, "createComponentConfig", create, OWNER)
    assert status == 400
    status, answer = await edge_rpc(
        session, cloud, EDGE_B, "createComponentConfig", create, INSTALLER
    )
    assert (status, inner_result(answer)) == (200, {})
    assert cloud.edges[EDGE_B].components["ctrlDebugLog0"].alias == "Debug"
    status, answer = await edge_rpc(
        session, cloud, EDGE_B, "createComponentConfig", create, INSTALLER
    )
    assert cloud.edges[EDGE_B].components["ctrlDebugLog1"].alias == "Debug"  # next free id

    update = {"componentId": "ctrlDebugLog0", "properties": [{"name": "enabled", "value": "no"}]}
    status, answer = await edge_rpc(session, cloud, EDGE_B, "updateComponentConfig", update)
    assert (
        "Unable to apply configuration to Component [ctrlDebugLog0]" in answer["error"]["message"]
    )
    update["properties"] = [{"name": "enabled", "value": False}, {"name": "pid", "value": "x"}]
    status, _ = await edge_rpc(session, cloud, EDGE_B, "updateComponentConfig", update, GUEST)
    assert status == 400
    status, _ = await edge_rpc(session, cloud, EDGE_B, "updateComponentConfig", update)
    assert status == 200
    assert cloud.edges[EDGE_B].components["ctrlDebugLog0"].properties == {"enabled": False}

    for component_id, text in (
        ("_sum", "Core components cannot be deleted"),
        ("nope0", "Unable to delete configuration for Component [nope0]"),
    ):
        _, answer = await edge_rpc(
            session, cloud, EDGE_B, "deleteComponentConfig", {"componentId": component_id}, ADMIN
        )
        assert text in answer["error"]["message"]
    status, _ = await edge_rpc(
        session, cloud, EDGE_B, "deleteComponentConfig", {"componentId": "ctrlDebugLog0"}, INSTALLER
    )
    assert status == 200
    assert "ctrlDebugLog0" not in cloud.edges[EDGE_B].components
    created = [w.channel for w in cloud.writes.records]
    assert created[:2] == ["fems1002/Controller.Debug.Log", "fems1002/Controller.Debug.Log"]
    assert created[-1] == "fems1002/ctrlDebugLog0"


async def test_fix_active_power_drives_the_battery(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    edge = cloud.edges[EDGE_A]
    update = {
        "componentId": "ctrlFixActivePower0",
        "properties": [{"name": "mode", "value": "MANUAL_ON"}, {"name": "power", "value": -4000}],
    }
    await edge_rpc(session, cloud, EDGE_A, "updateComponentConfig", update)
    assert edge.setpoint_w == -4000
    # Persistent: still held well after the 60 s API timeout of setChannelValue writes.
    # (Short steps: the shared BatteryModel snaps to full when a step ends near it.)
    clock.advance(300)
    params = {"ids": [EDGE_A], "channels": ["_sum/EssDischargePower", "_sum/GridActivePower"]}
    _, answer = await rpc(session, cloud, "getEdgesChannelsValues", params)
    assert answer["result"][EDGE_A] == {
        "_sum/EssDischargePower": -4000,
        "_sum/GridActivePower": 3000,
    }
    update["properties"] = [{"name": "enabled", "value": False}]
    await edge_rpc(session, cloud, EDGE_A, "updateComponentConfig", update)
    assert edge.setpoint_w is None


async def test_set_channel_value_needs_admin_and_times_out(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> None:
    params = {"componentId": "ess0", "channelId": "SetActivePowerEquals", "value": 2500}
    for login in (OWNER, INSTALLER):
        status, _ = await edge_rpc(session, cloud, EDGE_A, "setChannelValue", params, login)
        assert status == 400
    status, _ = await edge_rpc(session, cloud, EDGE_A, "setChannelValue", params, ADMIN)
    assert status == 200
    edge = cloud.edges[EDGE_A]
    assert edge.setpoint_w == 2500
    clock.advance(61)  # the backend controller's apiTimeout drops the write
    assert edge.setpoint_w is None
    for channel, text in (("Soc", "is not a Write Channel"), ("Nope", "is not defined for ID")):
        params["channelId"] = channel
        _, answer = await edge_rpc(session, cloud, EDGE_A, "setChannelValue", params, ADMIN)
        assert text in answer["error"]["message"]


async def test_component_json_api(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    params = {
        "componentId": "_componentManager",
        "payload": {"method": "getChannelsOfComponent", "params": {"componentId": "ess0"}},
    }
    _, answer = await edge_rpc(session, cloud, EDGE_A, "componentJsonApi", params)
    channels = {channel["id"]: channel for channel in inner_result(answer)["channels"]}
    assert channels["SetActivePowerEquals"]["accessMode"] == "WO"
    params["componentId"] = "ctrlNope0"
    _, answer = await edge_rpc(session, cloud, EDGE_A, "componentJsonApi", params)
    assert "Component with id 'ctrlNope0' was not found" in answer["error"]["message"]


# --- history ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "resolution", "count"),
    [
        (date(2025, 3, 30), {"value": 1, "unit": "HOURS"}, 23),
        (date(2025, 10, 26), {"value": 1, "unit": "hours"}, 25),
        (date(2025, 3, 30), {"value": 15, "unit": "MINUTES"}, 92),
        (date(2025, 10, 26), {"value": 15, "unit": "MINUTES"}, 100),
        (date(2025, 6, 2), {"value": 1, "unit": "DAYS"}, 1),
        (date(2025, 6, 2), 3600, 24),  # legacy: a bare number is seconds
        (date(2025, 6, 2), None, 288),  # automatic: one day → 5 minutes
    ],
)
async def test_periods_in_the_requested_zone(
    session: aiohttp.ClientSession,
    cloud: FemsCloudSimulator,
    day: date,
    resolution: Any,
    count: int,
) -> None:
    params = history_params(day, resolution)
    _, answer = await edge_rpc(session, cloud, EDGE_A, "queryHistoricTimeseriesData", params)
    result = inner_result(answer)
    assert len(result["timestamps"]) == count
    assert all(stamp.endswith("Z") for stamp in result["timestamps"])
    assert list(result["data"]) == sorted(params["channels"])
    assert all(len(values) == count for values in result["data"].values())
    first = datetime.fromisoformat(result["timestamps"][0])
    assert first.astimezone(cloud.edges[EDGE_A].history.zone).time().hour == 0


async def test_auto_resolution_quirk_of_a_full_month(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    """2025-01-01..2025-01-31 is P1M: zero days, so the backend picks 5 minutes."""
    params = history_params(date(2025, 1, 1), toDate="2025-01-31")
    _, answer = await edge_rpc(session, cloud, EDGE_A, "queryHistoricTimeseriesData", params)
    assert len(inner_result(answer)["timestamps"]) == 31 * 288
    params = history_params(date(2025, 1, 1), toDate="2025-01-07")  # 7 days → 1 hour
    _, answer = await edge_rpc(session, cloud, EDGE_A, "queryHistoricTimeseriesData", params)
    assert len(inner_result(answer)["timestamps"]) == 7 * 24


async def test_history_is_continuous_deterministic_and_bounded_in_time(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    """A draining battery (no PV, 200 W load: 2 % per hour) across midnight, down to 0 %."""
    now = datetime(2025, 1, 3, 12, 0, tzinfo=UTC)
    edge = SimulatedEdge(
        "fems2001",
        battery=BatteryModel(profile=FixedProfile(pv=0, load=200), soc=50, clock=clock),
        commissioned=date(2025, 1, 1),
        timezone="UTC",
        clock=clock,
        wall_clock=lambda: now,
    )
    cloud = FemsCloudSimulator(
        edges=[edge], users=make_users(["fems2001"]), clock=clock, wall_clock=lambda: now
    )
    await cloud.start()
    try:
        params = history_params(
            date(2024, 12, 31), {"value": 1, "unit": "HOURS"}, toDate="2025-01-03", timezone="UTC"
        )
        method = "queryHistoricTimeseriesData"
        _, answer = await edge_rpc(session, cloud, "fems2001", method, params)
        _, again = await edge_rpc(session, cloud, "fems2001", method, params)
    finally:
        await cloud.stop()
    result = inner_result(answer)
    assert inner_result(again) == result
    soc = result["data"]["_sum/EssSoc"]
    assert len(soc) == 4 * 24
    assert soc[:24] == [None] * 24  # before commissioning
    # Hourly means of 5-minute samples: 50 % at the start, 2 % less every hour.
    assert soc[24] == pytest.approx(50 - 2 * 11 / 24, abs=1e-3)
    assert soc[24 + 23] == pytest.approx(50 - 2 * 23 - 2 * 11 / 24, abs=1e-3)
    # Midnight: the next day starts where the last one ended (2 % left).
    assert soc[48] == pytest.approx(2 - 2 * 11 / 24, abs=1e-3)
    assert soc[49:72] == [0] * 23  # empty, and it stays empty
    assert soc[72 + 11] == 0  # 2025-01-03 11:00-12:00 is over at 12:00
    assert soc[72 + 12 :] == [None] * 12  # the future has no data yet


async def test_energy_queries_agree_with_each_other(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    day = date(2025, 10, 26)
    channels = ["_sum/GridSellActiveEnergy", "_sum/ProductionActiveEnergy", "_sum/EssSoc"]
    base = history_params(day, channels=channels)
    _, energy = await edge_rpc(session, cloud, EDGE_A, "queryHistoricTimeseriesEnergy", base)
    per_period = {**base, "resolution": {"value": 1, "unit": "HOURS"}}
    _, periods = await edge_rpc(
        session, cloud, EDGE_A, "queryHistoricTimeseriesEnergyPerPeriod", per_period
    )
    data = inner_result(periods)["data"]
    totals = inner_result(energy)["data"]
    assert totals["_sum/EssSoc"] is None  # not a counter
    assert totals["_sum/ProductionActiveEnergy"] == pytest.approx(2000 * 25)
    for channel in ("_sum/GridSellActiveEnergy", "_sum/ProductionActiveEnergy"):
        assert sum(data[channel]) == pytest.approx(totals[channel])
    assert data["_sum/EssSoc"] == [None] * 25
    missing = {key: value for key, value in base.items() if key != "timezone"}
    status, answer = await edge_rpc(
        session, cloud, EDGE_A, "queryHistoricTimeseriesEnergyPerPeriod", missing
    )
    assert status == 400
    assert "JSON [timezone] is not a member" in answer["error"]["message"]


async def test_gaps_leave_null_periods_and_the_counters_run_on(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    """An outage of the edge's link: no values in it; the next period holds its energy."""
    day = date(2025, 6, 2)
    start = int(datetime(2025, 6, 2, 2, tzinfo=UTC).timestamp())
    cloud.edges[EDGE_A].history.gaps = [(start, start + 3 * 3600)]
    params = history_params(
        day,
        channels=["_sum/ConsumptionActiveEnergy", "_sum/EssSoc"],
        timezone="UTC",
        resolution={"value": 1, "unit": "HOURS"},
    )
    _, answer = await edge_rpc(
        session, cloud, EDGE_A, "queryHistoricTimeseriesEnergyPerPeriod", params
    )
    consumed = inner_result(answer)["data"]["_sum/ConsumptionActiveEnergy"]
    assert consumed[:2] == [1000.0, 1000.0]
    assert consumed[2:5] == [None, None, None]
    assert consumed[5] == 4000.0  # the three hours of the gap and its own
    assert sum(value or 0 for value in consumed) == 24000.0
    _, answer = await edge_rpc(session, cloud, EDGE_A, "queryHistoricTimeseriesData", params)
    assert inner_result(answer)["data"]["_sum/EssSoc"][2:5] == [None, None, None]


async def test_inner_faults_answer_an_error_instead(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    """A switched-on fault refuses one edgeRpc method before it is answered; others work."""
    cloud.inner_faults["queryHistoricTimeseriesEnergy"] = too_many_requests()
    params = history_params(date(2025, 6, 2))
    status, answer = await edge_rpc(session, cloud, EDGE_A, "queryHistoricTimeseriesEnergy", params)
    assert status == 400
    assert "Too Many Requests" in answer["error"]["message"]
    status, _ = await edge_rpc(session, cloud, EDGE_A, "getEdgeConfig", {})
    assert status == 200


async def test_history_errors(session: aiohttp.ClientSession, cloud: FemsCloudSimulator) -> None:
    day = date(2025, 6, 2)
    for method, params, text in (
        (
            "queryHistoricTimeseriesData",
            history_params(day, channels=["_sum/Nope"]),
            "None of the requested Channels",
        ),
        (
            "queryHistoricTimeseriesEnergy",
            history_params(date(2020, 1, 1)),
            "None of the requested Channels",
        ),
        (
            "queryHistoricTimeseriesEnergyPerPeriod",
            history_params(day),
            "JSON [resolution] is not a member",
        ),
        (
            "queryHistoricTimeseriesData",
            history_params(day, fromDate="2025-06-03"),
            "fromDate is after toDate",
        ),
        (
            "queryHistoricTimeseriesData",
            history_params(day, {"value": 1, "unit": "FORTNIGHTS"}),
            "Unsupported resolution",
        ),
    ):
        status, answer = await edge_rpc(session, cloud, EDGE_A, method, params)
        assert status == 400, method
        assert text in answer["error"]["message"]


async def test_unknown_and_numeric_time_zones(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    day = date(2025, 6, 2)
    hourly = {"value": 1, "unit": "HOURS"}
    _, answer = await edge_rpc(
        session,
        cloud,
        EDGE_A,
        "queryHistoricTimeseriesData",
        history_params(day, hourly, timezone="Mars/Base"),
    )
    assert inner_result(answer)["timestamps"][0] == "2025-06-02T00:00:00Z"  # silently GMT
    _, answer = await edge_rpc(
        session,
        cloud,
        EDGE_A,
        "queryHistoricTimeseriesData",
        history_params(day, hourly, timezone=-7200),
    )
    # Legacy seconds with inverted sign: -7200 is UTC+2.
    assert inner_result(answer)["timestamps"][0] == "2025-06-01T22:00:00Z"


async def test_xlsx_export_has_the_fixed_channel_set(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    params = history_params(date(2025, 10, 26), dataChannels=["_sum/Ignored"], energyChannels=[])
    del params["channels"]
    _, answer = await edge_rpc(session, cloud, EDGE_A, "queryHistoricTimeseriesExportXlxs", params)
    content = base64.b64decode(inner_result(answer)["payload"], validate=True)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        workbook = archive.read("xl/workbook.xml").decode()
        power = archive.read("xl/worksheets/sheet1.xml").decode()
        energy = archive.read("xl/worksheets/sheet2.xml").decode()
        content_types = archive.read("[Content_Types].xml").decode()
    assert 'name="Power"' in workbook
    assert 'name="Energy"' in workbook
    assert "/xl/worksheets/sheet2.xml" in content_types
    assert power.count("<row ") == 1 + 100  # header and the quarter hours of 25 hours
    assert "_sum/EssSoc" in power
    assert "_sum/Ignored" not in power
    assert "2025-10-26T02:00+02:00" in power
    assert "2025-10-26T02:00+01:00" in power  # the repeated hour
    assert "_sum/GridSellActiveEnergy" in energy
    assert "<v>25000" in energy


def test_xlsx_package_is_self_consistent() -> None:
    """Every part is XML, every content-type override and relationship target exists."""
    content = build_xlsx(
        [("A & B <sheet> with a name longer than 31 chars", [["x", 1, 2.5, None, float("nan")]])]
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        parts = {name: ET.fromstring(archive.read(name)) for name in names}  # noqa: S314
    overrides = parts["[Content_Types].xml"].findall(f"{{{CT_NS}}}Override")
    assert {o.attrib["PartName"].lstrip("/") for o in overrides} <= names
    targets = parts["xl/_rels/workbook.xml.rels"].findall(f"{{{PKG_REL_NS}}}Relationship")
    assert {f"xl/{t.attrib['Target']}" for t in targets} == {"xl/worksheets/sheet1.xml"}
    sheet = parts["xl/workbook.xml"].find(f".//{{{MAIN_NS}}}sheet")
    assert sheet is not None
    assert sheet.attrib["name"] == "A & B <sheet> with a name longer"[:31]
    cells = parts["xl/worksheets/sheet1.xml"].findall(f".//{{{MAIN_NS}}}c")
    assert [c.attrib["r"] for c in cells] == ["A1", "B1", "C1"]  # empty and NaN left out
    assert [column_letters(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    assert build_xlsx([("s", [[1]])]) == build_xlsx([("s", [[1]])])  # deterministic bytes


# --- logs, counters, CLI ----------------------------------------------------------------------


async def test_request_log_and_counters_never_hold_credentials(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator
) -> None:
    await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]})
    await edge_rpc(session, cloud, EDGE_A, "getEdgeConfig", {})
    await rpc(session, cloud, "getEdgesStatus", {"edgeIds": [EDGE_A]}, OWNER)
    status, _, _ = await post(
        session, cloud.url, {"method": "x", "params": {}}, basic(OWNER, "bad")
    )
    assert status == 500
    assert cloud.requests.total == 4
    assert cloud.calls == {"getEdgesStatus": 2, "edgeRpc": 1, "edgeRpc/getEdgeConfig": 1}
    assert [entry.http_status for entry in cloud.request_log] == [200, 200, 200, 500]
    text = repr(cloud.request_log)
    for secret in (*PASSWORDS.values(), "Basic", "Authorization"):
        assert secret not in text
    cloud.reset_counters()
    assert (cloud.requests.total, len(cloud.calls), len(cloud.request_log)) == (0, 0, 0)


def test_cli_flags_have_help_with_defaults() -> None:
    parser = argparse.ArgumentParser()
    CLI.add_arguments(parser)
    flags = {
        action.option_strings[0]: action
        for action in parser._actions
        if action.option_strings and action.option_strings[0].startswith("--fems-cloud")
    }
    assert set(flags) == {
        "--fems-cloud-port",
        "--fems-cloud-edges",
        "--fems-cloud-offline",
        "--fems-cloud-offline-cycle",
        "--fems-cloud-error-shape",
    }
    for action in flags.values():
        assert action.help is not None
        assert "default" in action.help
    assert CLI.name == "fems_cloud"
    with pytest.raises(SystemExit):
        parser.parse_args(["--fems-cloud-edges", "0"])
    for cycle in ("-1", "nan"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--fems-cloud-offline-cycle", cycle])


async def test_cli_launches_and_stops(session: aiohttp.ClientSession) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    CLI.add_arguments(parser)
    args = parser.parse_args(
        ["--fems-cloud-port", "0", "--fems-cloud-edges", "3", "--fems-cloud-offline", "fems1002"]
    )
    running = await CLI.launch(args)
    try:
        assert running.summary.startswith("fems_cloud: POST http://127.0.0.1:")
        assert (
            "fems1001 (FixActivePower), fems1002 offline, fems1003 (FixActivePower)"
            in running.summary
        )
        url = running.summary.split()[2]
        assert await edges_online(session, url) == {"fems1001": True, "fems1002": False}
    finally:
        await running.stop()
    bad = parser.parse_args(["--fems-cloud-port", "0", "--fems-cloud-offline", "fems7777"])
    with pytest.raises(SystemExit):
        await CLI.launch(bad)
    no_edges = parser.parse_args(["--fems-cloud-port", "0", "--fems-cloud-offline-cycle", "60"])
    with pytest.raises(SystemExit, match="needs edges in --fems-cloud-offline"):
        await CLI.launch(no_edges)


async def edges_online(session: aiohttp.ClientSession, url: str) -> dict[str, bool]:
    """fems1001's and fems1002's `online`, asked as the owner with `getEdgesStatus`."""
    status, _, answer = await post(
        session,
        url,
        {"method": "getEdgesStatus", "params": {"edgeIds": ["fems1001", "fems1002"]}},
        {"Authorization": "Basic " + base64.b64encode(b"owner@example.com:owner").decode()},
    )
    assert status == 200
    return {edge: state["online"] for edge, state in answer["result"].items()}


async def test_cli_offline_cycle(session: aiohttp.ClientSession) -> None:
    """`--fems-cloud-offline-cycle`: the listed edge starts offline and says it cycles."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    CLI.add_arguments(parser)
    args = parser.parse_args(
        [
            "--fems-cloud-port",
            "0",
            "--fems-cloud-offline",
            "fems1002",
            "--fems-cloud-offline-cycle",
            "3600",
        ]
    )
    running = await CLI.launch(args)
    try:
        assert "fems1002 offline (3600 s off, 3600 s on, ...)" in running.summary
        url = running.summary.split()[2]
        assert await edges_online(session, url) == {"fems1001": True, "fems1002": False}
    finally:
        await running.stop()


def test_default_wall_clock_is_now() -> None:
    """The history's "now" defaults to the real time (data up to the last 5 minutes)."""
    edge = SimulatedEdge("fems3001")
    window = edge.history.window(
        int((datetime.now(UTC) - timedelta(hours=1)).timestamp()),
        int(datetime.now(UTC).timestamp()),
    )
    assert 11 <= len(window.timestamps) <= 12
