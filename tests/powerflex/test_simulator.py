"""The PowerFlex simulator over raw HTTP: tokens, the endpoints' shapes, the station model
(cars, the DCM cap), run-time stations, the request log and the command line."""

from __future__ import annotations

import argparse
import base64
import json
from typing import Any

import aiohttp
import pytest

from simulators.powerflex import CLI, PowerFlexSimulator
from simulators.powerflex.influx import COLUMNS
from simulators.powerflex.model import MIN_PILOT_A, Arrivals

from .conftest import JWT_PREFIX, OTHER_SITE, PASSWORD, SITE, USERNAME, charge, make_powerflex


async def login(session: aiohttp.ClientSession, simulator: PowerFlexSimulator) -> str:
    async with session.post(
        f"{simulator.url}/login", json={"username": USERNAME, "password": PASSWORD}
    ) as response:
        assert response.status == 200
        body = await response.json()
    token = body["access_token"]
    assert isinstance(token, str)
    return token


async def call(
    session: aiohttp.ClientSession,
    simulator: PowerFlexSimulator,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(
        method, f"{simulator.url}{path}", json=body, headers=headers
    ) as response:
        return response.status, await response.json(content_type=None)


def window(simulator: PowerFlexSimulator, seconds: int = 60) -> list[int]:
    stop = int(simulator.now()) + 1
    return [stop - seconds, stop]


# --- login and tokens ------------------------------------------------------------------------


async def test_login_issues_an_hs256_jwt_with_exp(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    token = await login(session, powerflex)
    header, payload, signature = token.split(".")
    assert token.startswith(JWT_PREFIX)
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) == {
        "alg": "HS256",
        "typ": "JWT",
    }
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] - claims["iat"] == 24 * 3600
    assert claims["iat"] == int(powerflex.now())
    assert claims["identity"] == USERNAME
    assert len(base64.urlsafe_b64decode(signature + "=")) == 32
    assert powerflex.login_count == 1


@pytest.mark.parametrize(
    "body",
    [
        {"username": USERNAME, "password": "wrong"},
        {"username": "someone", "password": PASSWORD},
        {"username": USERNAME},
        "not an object",
        None,
    ],
)
async def test_bad_login_is_401(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator, body: Any
) -> None:
    status, answer = await call(session, powerflex, "POST", "/login", None, body)
    assert status == 401
    assert "access_token" not in answer
    assert powerflex.failed_logins == 1


async def test_tokens_are_checked(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    token = await login(session, powerflex)
    path, body = "/get_external_signal/3", {}
    assert (await call(session, powerflex, "POST", path, token, body))[0] == 200
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}AA"
    for bad in (None, "garbage", tampered, f"{head}.{payload}"):
        status, answer = await call(session, powerflex, "POST", path, bad, body)
        assert status == 401
        assert "msg" in answer
    powerflex.advance(24 * 3600)
    status, answer = await call(session, powerflex, "POST", path, token, body)
    assert (status, answer) == (401, {"msg": "Token has expired"})
    fresh = await login(session, powerflex)
    assert (await call(session, powerflex, "POST", path, fresh, body))[0] == 200
    powerflex.revoke_tokens()
    assert (await call(session, powerflex, "POST", path, fresh, body))[0] == 401
    assert powerflex.token_refusals == 6


async def test_reject_tokens_refuses_even_fresh_ones(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    powerflex.reject_tokens = True
    token = await login(session, powerflex)
    status, _ = await call(session, powerflex, "GET", "/get_target_peak_power_kW/3", token)
    assert status == 401


# --- endpoints -------------------------------------------------------------------------------


async def test_reads_are_posts_except_the_targets(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    token = await login(session, powerflex)
    assert (await call(session, powerflex, "GET", "/get_measurement_data", token))[0] == 405
    assert (await call(session, powerflex, "GET", "/get_external_signal/3", token))[0] == 405
    assert (await call(session, powerflex, "POST", "/get_target_peak_power_kW/3", token))[0] == 405
    status, targets = await call(session, powerflex, "GET", "/get_target_peak_power_kW/3", token)
    assert status == 200
    assert len(targets) == 12
    assert (await call(session, powerflex, "POST", "/get_external_signal/03", token, {}))[0] == 404
    assert (await call(session, powerflex, "POST", "/get_external_signal/9", token, {}))[0] == 404


async def test_measurement_answer_is_influxdb_json(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    token = await login(session, powerflex)
    body = {"measurement": "ct_response", "time_filter": window(powerflex)}
    status, answer = await call(session, powerflex, "POST", "/get_measurement_data", token, body)
    assert status == 200
    series = answer["data"]["results"][0]["series"][0]
    assert series["name"] == "ct_response"
    assert series["columns"][0] == "time"
    assert series["columns"][1:] == sorted(series["columns"][1:])
    rows = [dict(zip(series["columns"], values, strict=True)) for values in series["values"]]
    assert {(row["acc_id"], row["acs_id"]) for row in rows} == {
        ("03", "01"),
        ("03", "02"),
        ("03", "03"),
        ("04", "01"),
        ("04", "02"),
    }
    assert all(isinstance(row["time"], float) for row in rows)
    assert rows[0]["acn_id"] == "0012"
    for measurement, columns in COLUMNS.items():
        assert {"time", "acc_id", "acs_id", "charging_state"} <= set(columns), measurement


async def test_time_filter_selects_start_inclusive_stop_exclusive(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    powerflex.advance(30)  # reports at t0, t0+10, t0+20, t0+30
    t0 = int(powerflex.now()) - 30
    token = await login(session, powerflex)

    async def times(start: int, stop: int) -> list[float]:
        body = {"measurement": "evse_response", "time_filter": [start, stop]}
        _, answer = await call(session, powerflex, "POST", "/get_measurement_data", token, body)
        result = answer["data"]["results"][0]
        return sorted({values[0] for values in result.get("series", [{}])[0].get("values", [])})

    assert await times(t0 + 10, t0 + 30) == [t0 + 10, t0 + 20]
    assert await times(t0, t0 + 31) == [t0, t0 + 10, t0 + 20, t0 + 30]
    _, empty = await call(
        session,
        powerflex,
        "POST",
        "/get_measurement_data",
        token,
        {"measurement": "evse_response", "time_filter": [t0 - 100, t0 - 50]},
    )
    assert empty == {"data": {"results": [{"statement_id": 0}]}}  # no "series" key


@pytest.mark.parametrize(
    "body",
    [
        {"measurement": "ct response", "time_filter": [0, 1]},
        {"measurement": "ct_response"},
        {"measurement": "ct_response", "time_filter": [0]},
        {"measurement": "ct_response", "time_filter": ["a", "b"]},
    ],
)
async def test_bad_measurement_requests_are_400(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator, body: Any
) -> None:
    token = await login(session, powerflex)
    status, _ = await call(session, powerflex, "POST", "/get_measurement_data", token, body)
    assert status == 400


async def test_long_windows_come_back_partial(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    powerflex.advance(60)
    powerflex.partial_window_s = 20
    token = await login(session, powerflex)
    body = {"measurement": "ct_response", "time_filter": window(powerflex, 61)}
    _, answer = await call(session, powerflex, "POST", "/get_measurement_data", token, body)
    result = answer["data"]["results"][0]
    assert result["partial"] is True
    times = {values[0] for values in result["series"][0]["values"]}
    assert max(times) < body["time_filter"][0] + 20


@pytest.mark.parametrize(
    ("shape", "named_is_bare", "all_is_bare"),
    [("by_request", True, False), ("keyed", False, False), ("bare", True, True)],
)
async def test_signal_answer_shapes(
    session: aiohttp.ClientSession, shape: Any, named_is_bare: bool, all_is_bare: bool
) -> None:
    async with make_powerflex(signal_shape=shape) as simulator:
        token = await login(session, simulator)
        path = "/get_external_signal/3"
        _, named = await call(
            session, simulator, "POST", path, token, {"name": "DCM_EVSE_Allocation"}
        )
        _, every = await call(session, simulator, "POST", path, token, {})
    signal = {
        "is_enabled": True,
        "max_load": 21.616,
        "max_load_unit": "kW",
        "name": "DCM_EVSE_Allocation",
    }
    keyed = {"DCM_EVSE_Allocation": signal}
    assert named == (signal if named_is_bare else keyed)
    assert every == (signal if all_is_bare else keyed)


@pytest.mark.parametrize(
    "body",
    [
        {"max_load": 10, "max_load_unit": "kW", "is_enabled": True},  # no name
        {"max_load": -1, "max_load_unit": "kW", "is_enabled": True, "name": "X"},
        {"max_load": 10, "max_load_unit": "MW", "is_enabled": True, "name": "X"},
        {"max_load": 10, "max_load_unit": "kW", "is_enabled": "yes", "name": "X"},
    ],
)
async def test_set_external_signal_validates(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator, body: Any
) -> None:
    token = await login(session, powerflex)
    status, _ = await call(session, powerflex, "POST", "/set_external_signal/3", token, body)
    assert status == 400
    assert set(powerflex.site(SITE).signals) == {"DCM_EVSE_Allocation"}


async def test_dcm_writes(session: aiohttp.ClientSession, powerflex: PowerFlexSimulator) -> None:
    token = await login(session, powerflex)
    load = "/set_real_time_load/3"
    assert (await call(session, powerflex, "POST", load, token, {"real_time_load_kW": 1100.5}))[
        0
    ] == 400
    assert (await call(session, powerflex, "POST", load, token, {"real_time_load_kW": 1100})) == (
        200,
        {},
    )
    assert powerflex.site(SITE).real_time_load_kw == 1100
    targets = "/set_target_peak_power_kW/3"
    bad = {"target_peak_power": {"June": 1}}
    assert (await call(session, powerflex, "POST", targets, token, bad))[0] == 400
    good = {"target_peak_power": {"Jun": 700, "Jul": 555}}
    status, answer = await call(session, powerflex, "POST", targets, token, good)
    assert status == 200
    assert len(answer) == 12
    assert (answer["Jun"], answer["Jul"], answer["Aug"]) == (700, 555, 200)
    assert powerflex.site(OTHER_SITE).target_peak_kw["Jun"] == 200


async def test_endpoint_errors_and_faults(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    token = await login(session, powerflex)
    powerflex.endpoint_errors["get_target_peak_power_kW"] = 500
    assert (await call(session, powerflex, "GET", "/get_target_peak_power_kW/3", token))[0] == 500
    powerflex.faults.error_status = 503
    async with session.post(f"{powerflex.url}/login", json={}) as response:
        assert response.status == 503
    assert powerflex.login_count == 1  # the faulted request never reached the service


# --- request log -----------------------------------------------------------------------------


async def test_request_log_redacts_token_and_password(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    token = await login(session, powerflex)
    await call(session, powerflex, "POST", "/set_real_time_load/3", token, {"real_time_load_kW": 7})
    first, second = list(powerflex.log)
    assert (first.method, first.path, first.authorization) == ("POST", "/login", None)
    assert first.body == {"username": USERNAME, "password": "<redacted>"}
    assert (second.path, second.body) == ("/set_real_time_load/3", {"real_time_load_kW": 7})
    assert second.authorization == "Bearer <redacted>"
    assert token not in repr(list(powerflex.log))
    assert PASSWORD not in repr(list(powerflex.log))


# --- the station model -----------------------------------------------------------------------


async def test_a_car_charges_at_the_pilot_then_leaves() -> None:
    simulator = make_powerflex(power_unit="kW")
    simulator.plug_in(SITE, 1, max_current_a=16, energy_needed_wh=1000, stay_s=1800)
    station = simulator.station(SITE, 1)
    assert station.charging_state == "READY"
    simulator.advance(10)
    assert station.charging_state == "ADAPTIVE"
    assert station.current_a == station.pilot_a == 16
    assert station.contactor_closed
    simulator.advance(1000)  # 16 A × 240 V = 3.84 kW: 1 kWh in under 16 min
    assert station.charging_state == "IDLE"
    assert station.current_a == 0
    assert station.session_wh == pytest.approx(1000, abs=3.84e3 * 10 / 3600 + 1e-6)
    simulator.advance(780)
    assert station.charging_state == "IDLE"  # the car stays until its 1800 s are up
    simulator.advance(10)
    assert station.charging_state == "UNPLUGGED"
    assert station.car is None
    # The last ct_response row says the same.
    row = next(
        row
        for row in reversed(simulator._rows["ct_response"])
        if (row["acc_id"], row["acs_id"]) == ("03", "01")
    )
    assert (row["acs_id"], row["charging_state"], row["power"]) == ("01", "UNPLUGGED", 0.0)


def test_site_load_respects_the_cap() -> None:
    simulator = make_powerflex(sites={SITE: 6})
    for acs_id in range(1, 7):
        simulator.plug_in(SITE, acs_id)
    simulator.advance(10)
    site = simulator.site(SITE)
    # 21.616 kW at 240 V is 90 A: six cars of 32 A get 15 A each.
    assert site.charging_power_w <= 21_616
    assert {station.current_a for station in site.stations.values()} == {15}
    signal = site.signals["DCM_EVSE_Allocation"]
    signal.max_load, signal.max_load_unit = 20, "A"
    simulator.advance(10)
    pilots = sorted(station.pilot_a for station in site.stations.values())
    assert sum(pilots) <= 20
    assert all(pilot == 0 or pilot >= MIN_PILOT_A for pilot in pilots)
    states = {station.charging_state for station in site.stations.values()}
    assert states == {"ADAPTIVE", "NOT CHARGING"}
    signal.is_enabled = False
    simulator.advance(10)
    assert site.charging_power_w == 6 * 32 * 240


def test_random_cars_are_deterministic_per_seed() -> None:
    def run(seed: int) -> list[tuple[str, float]]:
        simulator = make_powerflex(arrivals=Arrivals(per_station_per_h=2.0), seed=seed)
        simulator.advance(6 * 3600)
        return [(s.charging_state, s.session_wh) for s in simulator.site(SITE).stations.values()]

    first = run(1)
    assert first == run(1)
    assert first != run(2)
    simulator = make_powerflex(arrivals=Arrivals(per_station_per_h=2.0), seed=1)
    seen: set[str] = set()
    for _ in range(2 * 360):
        simulator.advance(10)
        seen |= {s.charging_state for s in simulator.site(SITE).stations.values()}
    assert {"UNPLUGGED", "READY", "ADAPTIVE"} <= seen


def test_history_stays_bounded() -> None:
    simulator = make_powerflex(history_s=600)
    simulator.advance(3 * 3600)
    rows = simulator._rows["ct_response"]
    assert len(rows) == (600 // 10 + 1) * 5


async def test_stations_added_and_removed_at_run_time(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator
) -> None:
    added = powerflex.add_station(SITE, max_current_a=48)
    assert added.acs_id == 4
    with pytest.raises(ValueError, match="exists"):
        powerflex.add_station(SITE, 4)
    powerflex.remove_station(SITE, 2)
    charge(powerflex, 4)
    token = await login(session, powerflex)
    body = {"measurement": "ct_response", "time_filter": window(powerflex, 5)}
    _, answer = await call(session, powerflex, "POST", "/get_measurement_data", token, body)
    series = answer["data"]["results"][0]["series"][0]
    rows = [dict(zip(series["columns"], values, strict=True)) for values in series["values"]]
    site_rows = {row["acs_id"]: row for row in rows if row["acc_id"] == "03"}
    assert set(site_rows) == {"01", "03", "04"}
    assert site_rows["04"]["mamps_actual"] == 32000  # the car's 32 A, the station's 48 A


# --- command line ----------------------------------------------------------------------------


def test_every_flag_has_help_with_its_default() -> None:
    parser = argparse.ArgumentParser()
    CLI.add_arguments(parser)
    flags = [action for action in parser._actions if action.dest.startswith("powerflex")]
    assert {action.option_strings[0] for action in flags} >= {
        "--powerflex-port",
        "--powerflex-stations",
        "--powerflex-power-unit",
        "--powerflex-username",
        "--powerflex-password",
        "--powerflex-site",
    }
    for action in flags:
        assert action.help is not None
        assert "%(default)s" in action.help, action.dest
    assert parser.parse_args([]).powerflex_port == 8095


async def test_cli_launches_and_stops(session: aiohttp.ClientSession) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    CLI.add_arguments(parser)
    args = parser.parse_args(
        ["--powerflex-port", "0", "--powerflex-stations", "2", "--powerflex-power-unit", "kW"]
    )
    running = await CLI.launch(args)
    try:
        assert CLI.name == "powerflex"
        assert "http://127.0.0.1:" in running.summary
        assert "power in kW" in running.summary
        url = running.summary.split()[1]
        async with session.post(
            f"{url}/login", json={"username": "demo", "password": "demo-password"}
        ) as response:
            assert response.status == 200
    finally:
        await running.stop()
