"""The HA-free PowerFlex client against the simulator (and a canned server) over sockets:
login and token renewal, back-off, measurements, the power unit, DCM, URLs and secrets."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from custom_components.energy_flex.api.errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiResponseError,
    EnergyFlexApiError,
)
from custom_components.energy_flex.api.powerflex import (
    MONTHS,
    ChargingState,
    ExternalSignal,
    Measurement,
    PowerFlexClient,
    SiteNotFoundError,
    TokenRefusedError,
    jwt_claims,
    parse_external_signals,
    parse_measurement_answer,
    parse_target_peak_power,
    parse_time,
    validate_base_url,
)
from simulators.powerflex import PowerFlexSimulator

from .conftest import (
    JWT_PREFIX,
    OTHER_SITE,
    PASSWORD,
    SITE,
    USERNAME,
    Canned,
    CannedServer,
    FakeClock,
    charge,
    client_for,
    influx,
    make_powerflex,
)

ONE_CAR_W = 32 * 240  # one 32 A car at 240 V, under the site's 21.616 kW cap


def data_requests(simulator: PowerFlexSimulator) -> int:
    """Requests other than logins that the simulator received."""
    return sum(1 for record in simulator.log if record.path != "/login")


# --- login and token -------------------------------------------------------------------------


async def test_one_login_serves_many_calls(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await client.async_fetch_site(SITE)
    await client.async_fetch_site(SITE)
    await client.async_get_external_signal(SITE)
    assert powerflex.login_count == 1
    login = powerflex.requests_to("login")[0]
    assert login.method == "POST"
    assert login.body == {"username": USERNAME, "password": "<redacted>"}
    assert login.authorization is None
    calls = [record for record in powerflex.log if record.path != "/login"]
    assert len(calls) == 5
    assert all(record.authorization == "Bearer <redacted>" for record in calls)
    assert powerflex.token_refusals == 0


async def test_token_renewed_before_its_exp(
    session: aiohttp.ClientSession, mono: FakeClock
) -> None:
    """A 600 s token is renewed after 540 s (a tenth before exp), before any 401."""
    async with make_powerflex(token_lifetime_s=600) as simulator:
        client = client_for(session, simulator, mono)
        await client.async_fetch_site(SITE)
        mono.advance(530)
        simulator.advance(530)
        await client.async_fetch_site(SITE)
        assert simulator.login_count == 1
        mono.advance(15)
        simulator.advance(15)
        await client.async_fetch_site(SITE)
        assert simulator.login_count == 2
        assert simulator.token_refusals == 0


async def test_expired_token_logs_in_again_once(
    session: aiohttp.ClientSession, mono: FakeClock
) -> None:
    """The service's clock runs past `exp` while ours does not: one 401, one login, retry."""
    async with make_powerflex(token_lifetime_s=600) as simulator:
        client = client_for(session, simulator, mono)
        await client.async_fetch_site(SITE)
        simulator.advance(700)
        before = data_requests(simulator)
        snapshot = await client.async_fetch_site(SITE)
        assert simulator.login_count == 2
        assert simulator.token_refusals == 1
        # ct_response twice (refused, retried), then evse_response once.
        assert data_requests(simulator) - before == 3
        assert set(snapshot.stations) == {1, 2, 3}


async def test_revoked_token_logs_in_again_once(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await client.async_get_target_peak_power(SITE)
    powerflex.revoke_tokens()
    targets = await client.async_get_target_peak_power(SITE)
    assert targets["Jan"] == 200
    assert powerflex.login_count == 2
    assert powerflex.token_refusals == 1


async def test_concurrent_calls_share_one_login(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await asyncio.gather(*(client.async_fetch_site(SITE) for _ in range(4)))
    assert powerflex.login_count == 1


async def test_unreadable_exp_falls_back_to_23_hours(
    session: aiohttp.ClientSession, canned: CannedServer, mono: FakeClock
) -> None:
    """An opaque token (no JWT claims) is kept 23 h, then renewed."""
    canned.answers["/get_target_peak_power_kW/3"] = Canned(dict.fromkeys(MONTHS, 100))
    client = PowerFlexClient(session, canned.url, USERNAME, PASSWORD, clock=mono)
    await client.async_get_target_peak_power(SITE)
    mono.advance(23 * 3600 - 60)
    await client.async_get_target_peak_power(SITE)
    assert canned.paths().count("/login") == 1
    mono.advance(61)
    await client.async_get_target_peak_power(SITE)
    assert canned.paths().count("/login") == 2


def test_jwt_claims_are_read_without_verification() -> None:
    simulator = make_powerflex(token_lifetime_s=1234)
    token = simulator.tokens.issue("someone", 1_000_000.0, 1234)
    claims = jwt_claims(token)
    assert claims is not None
    assert claims["exp"] - claims["iat"] == 1234
    assert jwt_claims("opaque") is None
    assert jwt_claims("a.!!!.c") is None
    assert jwt_claims("a.bm90IGpzb24.c") is None  # "not json"


async def test_bad_credentials_back_off_exponentially(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator, mono: FakeClock
) -> None:
    """401 on login → ApiAuthError; the next tries wait 30 s, then 60 s, without a request."""
    client = client_for(session, powerflex, mono, password="wrong")
    with pytest.raises(ApiAuthError):
        await client.async_fetch_site(SITE)
    assert powerflex.login_count == 1
    with pytest.raises(ApiAuthError):
        await client.async_fetch_site(SITE)
    assert powerflex.login_count == 1  # refused here, nothing sent
    assert client.login_retry_in == pytest.approx(30)
    mono.advance(30)
    with pytest.raises(ApiAuthError):
        await client.async_login()
    assert powerflex.login_count == 2
    mono.advance(59)
    with pytest.raises(ApiAuthError):
        await client.async_login()
    assert powerflex.login_count == 2
    mono.advance(1)
    with pytest.raises(ApiAuthError):
        await client.async_login()
    assert powerflex.login_count == 3
    assert data_requests(powerflex) == 0


@pytest.mark.parametrize("reason", ["reject_tokens", "bad_password"])
async def test_no_login_storm_under_persistent_rejection(
    session: aiohttp.ClientSession,
    powerflex: PowerFlexSimulator,
    mono: FakeClock,
    reason: str,
) -> None:
    """Six hours of 30 s polls against refused tokens (or credentials): a few logins only.

    Only the rejected login is bad credentials; a refused token is `TokenRefusedError`.
    """
    powerflex.reject_tokens = reason == "reject_tokens"
    password = "wrong" if reason == "bad_password" else PASSWORD
    client = client_for(session, powerflex, mono, password=password)
    polls = 6 * 3600 // 30
    expected = TokenRefusedError if reason == "reject_tokens" else ApiAuthError
    for _ in range(polls):
        with pytest.raises(expected):
            await client.async_fetch_site(SITE)
        mono.advance(30)
    # 30, 60, 120, ... 1920 s, then every 30 min: 7 + 11 attempts at most in 6 h.
    assert 8 <= powerflex.login_count <= 20
    assert len(powerflex.log) <= 2 * powerflex.login_count
    # Once the service accepts again, the same client recovers after its back-off.
    powerflex.reject_tokens = False
    powerflex.password = password
    mono.advance(30 * 60)
    snapshot = await client.async_fetch_site(SITE)
    assert set(snapshot.stations) == {1, 2, 3}


async def test_accepted_token_resets_the_back_off(
    client: PowerFlexClient, powerflex: PowerFlexSimulator, mono: FakeClock
) -> None:
    powerflex.reject_tokens = True
    with pytest.raises(TokenRefusedError):
        await client.async_fetch_site(SITE)
    assert client.login_retry_in == pytest.approx(30)
    powerflex.reject_tokens = False
    mono.advance(30)
    await client.async_fetch_site(SITE)
    assert client.login_retry_in == 0
    powerflex.revoke_tokens()
    await client.async_fetch_site(SITE)  # a plain expiry logs in at once again
    assert powerflex.login_count == 3


async def test_server_errors_are_connection_errors_without_login(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await client.async_login()
    for endpoint, call in (
        ("get_measurement_data", client.async_fetch_site(SITE)),
        ("get_target_peak_power_kW", client.async_get_target_peak_power(SITE)),
        ("set_real_time_load", client.async_set_real_time_load(SITE, 5)),
    ):
        powerflex.endpoint_errors[endpoint] = 503
        with pytest.raises(ApiConnectionError):
            await call
    powerflex.faults.error_status = 502
    with pytest.raises(ApiConnectionError):
        await client.async_get_external_signal(SITE)
    assert powerflex.login_count == 1
    assert powerflex.token_refusals == 0


async def test_login_server_error_backs_off_as_connection_error(
    client: PowerFlexClient, powerflex: PowerFlexSimulator, mono: FakeClock
) -> None:
    powerflex.faults.error_status = 503
    with pytest.raises(ApiConnectionError):
        await client.async_fetch_site(SITE)
    powerflex.faults.reset()
    with pytest.raises(ApiConnectionError):
        await client.async_fetch_site(SITE)  # still backing off: nothing sent
    assert powerflex.requests.total == 1
    mono.advance(30)
    await client.async_fetch_site(SITE)
    assert powerflex.requests.total == 4  # the login again, then the two measurements
    assert powerflex.login_count == 1  # the faulted one never reached the handler


async def test_unreachable_service_is_a_connection_error(
    session: aiohttp.ClientSession, mono: FakeClock
) -> None:
    simulator = make_powerflex()
    await simulator.start()
    client = client_for(session, simulator, mono)
    await simulator.stop()
    with pytest.raises(ApiConnectionError):
        await client.async_login()


@pytest.mark.parametrize(
    "answer",
    [
        Canned({"message": "welcome"}),
        Canned({"access_token": ""}),
        Canned({"access_token": 42}),
        Canned({"msg": "Bad username or password"}, status=401),
        Canned({"msg": "forbidden"}, status=403),
        Canned({"access_token": "abc"}, status=201),
    ],
)
async def test_login_without_token_is_bad_credentials(
    session: aiohttp.ClientSession, canned: CannedServer, answer: Canned
) -> None:
    canned.answers["/login"] = answer
    client = PowerFlexClient(session, canned.url, USERNAME, PASSWORD)
    with pytest.raises(ApiAuthError):
        await client.async_login()


async def test_login_html_page_is_a_response_error(
    session: aiohttp.ClientSession, canned: CannedServer
) -> None:
    canned.answers["/login"] = Canned("<html><body>Portal</body></html>", content_type="text/html")
    client = PowerFlexClient(session, canned.url, USERNAME, PASSWORD)
    with pytest.raises(ApiResponseError):
        await client.async_login()


# --- secrets ---------------------------------------------------------------------------------


async def test_token_and_password_never_logged_or_raised(
    client: PowerFlexClient,
    powerflex: PowerFlexSimulator,
    mono: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[EnergyFlexApiError] = []
    await client.async_fetch_site(SITE)
    token = client._token.value if client._token else ""
    assert token.startswith(JWT_PREFIX)
    powerflex.revoke_tokens()
    await client.async_fetch_site(SITE)
    powerflex.measurement_answers["ct_response"] = {
        "error": f"bad query with {token} and {PASSWORD}"
    }
    powerflex.reject_tokens = True
    for _ in range(3):
        try:
            await client.async_fetch_site(SITE)
        except EnergyFlexApiError as err:
            errors.append(err)
        mono.advance(31)
    powerflex.reject_tokens = False
    mono.advance(3600)
    try:
        await client.async_fetch_site(SITE)
    except EnergyFlexApiError as err:
        errors.append(err)
    assert {type(err) for err in errors} == {TokenRefusedError, ApiResponseError}
    texts = [caplog.text, repr(client), *(f"{err!s} {err!r}" for err in errors)]
    texts += [str(record) for record in powerflex.log]
    for text in texts:
        assert PASSWORD not in text
        assert token not in text
        assert JWT_PREFIX not in text
    assert "PowerFlex" in caplog.text  # the client did log (at debug)


# --- measurements ----------------------------------------------------------------------------


async def test_fetch_site_is_two_requests_whatever_the_station_count(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await client.async_login()
    for acs_id in range(10, 30):
        powerflex.add_station(SITE, acs_id)
    powerflex.advance(10)
    before = powerflex.requests.total
    snapshot = await client.async_fetch_site(SITE)
    assert powerflex.requests.total - before == 2
    assert len(snapshot.stations) == 23
    bodies = [record.body for record in powerflex.log][-2:]
    assert [body["measurement"] for body in bodies] == ["ct_response", "evse_response"]


async def test_time_filter_covers_the_window(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await client.async_fetch_site(SITE, window_s=90)
    body = powerflex.requests_to("get_measurement_data")[-1].body
    assert isinstance(body, dict)
    start, stop = body["time_filter"]
    assert isinstance(start, int)
    assert isinstance(stop, int)
    assert stop - start == 90
    assert start <= powerflex.now() < stop
    with pytest.raises(ValueError, match="window"):
        await client.async_fetch_site(SITE, window_s=0)
    with pytest.raises(ValueError, match="12 h"):
        await client.async_get_measurement_data(Measurement.CT_RESPONSE, (0, 13 * 3600))


async def test_measurement_rows_of_every_site(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    """One query returns every station of every site, ids zero-padded strings."""
    stop = int(powerflex.now()) + 1
    rows = await client.async_get_measurement_data(Measurement.EVSE_REQUEST, (stop - 60, stop))
    assert {(row["acc_id"], row["acs_id"]) for row in rows} == {
        ("03", "01"),
        ("03", "02"),
        ("03", "03"),
        ("04", "01"),
        ("04", "02"),
    }
    assert all("mamps_limit" in row for row in rows)


async def test_rows_of_other_sites_are_ignored_and_ids_are_integers(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    charge(powerflex, 1, 2, site=OTHER_SITE)
    charge(powerflex, 2)
    snapshot = await client.async_fetch_site(SITE)
    assert snapshot.site_id == SITE
    assert set(snapshot.stations) == {1, 2, 3}  # "01".."03" of "03", none of "04"
    assert snapshot.stations[2].power_w == ONE_CAR_W
    assert snapshot.stations[1].power_w == 0
    assert snapshot.charging_power_w == ONE_CAR_W  # site 4's two cars are not counted
    other = await client.async_fetch_site(OTHER_SITE)
    assert other.charging_power_w == 2 * ONE_CAR_W


async def test_station_values_and_newest_row(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    charge(powerflex, 1)
    powerflex.advance(50)  # six reports of a charging car in the window
    snapshot = await client.async_fetch_site(SITE)
    station = snapshot.stations[1]
    model = powerflex.station(SITE, 1)
    assert station.charging_state is ChargingState.ADAPTIVE
    assert station.current_a == 32
    assert station.voltage_v == 240
    assert station.current_limit_a == 32
    assert station.vehicle_connected is True
    assert station.contactor_closed is True
    assert station.acg_id == 1
    assert station.evse_type == "AeroVironment"
    assert station.space_number == "P001"
    # The newest row's session energy: 50 s at 7.68 kW (the first step had no pilot yet).
    assert station.session_energy_kwh == pytest.approx(model.session_wh / 1000)
    assert station.session_energy_kwh == pytest.approx(7.68 * 50 / 3600)
    assert station.time is not None
    assert station.time.timestamp() == pytest.approx(powerflex.model.time)
    assert snapshot.time == station.time
    idle = snapshot.stations[2]
    assert idle.charging_state is ChargingState.UNPLUGGED
    assert idle.vehicle_connected is False
    assert idle.contactor_closed is False
    assert idle.power_w == 0


@pytest.mark.parametrize("unit", ["mW", "kW", "W"])
async def test_every_power_encoding_gives_the_same_watts(
    session: aiohttp.ClientSession, mono: FakeClock, unit: Any
) -> None:
    async with make_powerflex(power_unit=unit) as simulator:
        charge(simulator, 1, 3)
        client = client_for(session, simulator, mono)
        snapshot = await client.async_fetch_site(SITE)
        raw = await client.async_get_measurement_data(
            Measurement.CT_RESPONSE, (int(simulator.now()) - 5, int(simulator.now()) + 1)
        )
    assert snapshot.stations[1].power_w == pytest.approx(ONE_CAR_W)
    assert snapshot.stations[1].power_unit == unit
    assert snapshot.charging_power_w == pytest.approx(2 * ONE_CAR_W)
    assert snapshot.power_unit == unit
    assert client.power_unit == unit
    scale = {"mW": 1000.0, "kW": 0.001, "W": 1.0}[unit]
    assert {row["power"] for row in raw if row["acc_id"] == "03"} >= {ONE_CAR_W * scale}


async def test_power_that_fits_no_unit_is_unknown(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    charge(powerflex, 1, 2)
    # 55 is neither 7.68 kW nor 7680 W nor 7.68e6 mW: no unit brings it near V × A.
    powerflex.row_overrides[("ct_response", SITE, 1)] = {"power": 55.0}
    powerflex.row_overrides[("ct_response", SITE, 2)] = {"power": None}
    snapshot = await client.async_fetch_site(SITE)
    assert snapshot.stations[1].power_w is None
    assert snapshot.stations[1].power_unit == "unknown"
    assert snapshot.stations[2].power_w is None
    assert snapshot.stations[1].current_a == 32  # the rest of the row is still used
    assert snapshot.charging_power_w is None  # a sum with an unknown part is unknown
    assert snapshot.stations[3].power_w == 0


async def test_small_power_uses_the_unit_learned_before(
    client: PowerFlexClient,
    powerflex: PowerFlexSimulator,
    session: aiohttp.ClientSession,
    mono: FakeClock,
) -> None:
    """Below 500 W V × A cannot decide: a fresh client says unknown, a taught one knows."""
    charge(powerflex, 1)
    # 240 V × 1 A = 240 W and 240 W in mW on station 2.
    powerflex.row_overrides[("ct_response", SITE, 2)] = {"mamps_actual": 1000.0, "power": 240e3}
    fresh = client_for(session, powerflex, mono)
    untaught = fresh.site_snapshot(
        SITE,
        [
            {
                "time": powerflex.now(),
                "acc_id": "03",
                "acs_id": "02",
                "mamps_actual": 1000.0,
                "voltage": 240000.0,
                "power": 240e3,
            }
        ],
        [],
    )
    assert untaught.stations[2].power_w is None
    snapshot = await client.async_fetch_site(SITE)  # station 1 (7.68 kW) teaches mW
    assert snapshot.stations[2].power_w == pytest.approx(240)
    assert snapshot.stations[2].power_unit == "mW"


async def test_partial_answer_is_asked_again_in_halves(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    charge(powerflex, 1)
    powerflex.advance(60)
    powerflex.partial_window_s = 40
    await client.async_login()
    before = powerflex.requests.total
    snapshot = await client.async_fetch_site(SITE, window_s=60)
    # Each measurement: the 60 s window (partial), then 30 s + 30 s.
    assert powerflex.requests.total - before == 6
    windows = [r.body["time_filter"] for r in powerflex.requests_to("get_measurement_data")][-3:]
    assert windows[0][1] - windows[0][0] == 60
    assert windows[1] == [windows[0][0], windows[0][0] + 30]
    assert windows[2] == [windows[0][0] + 30, windows[0][1]]
    assert snapshot.stations[1].power_w == ONE_CAR_W
    assert snapshot.stations[1].time is not None
    assert snapshot.stations[1].time.timestamp() == pytest.approx(powerflex.model.time)


async def test_partial_answer_that_stays_partial_is_an_error(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    powerflex.measurement_answers["ct_response"] = influx(partial=True)["data"]
    with pytest.raises(ApiResponseError, match="incomplete"):
        await client.async_fetch_site(SITE)


async def test_empty_window_is_no_station_not_an_error(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    powerflex.measurement_answers["ct_response"] = {"results": [{"statement_id": 0}]}
    powerflex.measurement_answers["evse_response"] = {"results": []}
    snapshot = await client.async_fetch_site(SITE)
    assert snapshot.stations == {}
    assert snapshot.charging_power_w is None
    assert snapshot.time is None


@pytest.mark.parametrize(
    "data",
    [
        {"error": "timeout"},
        {"results": [{"statement_id": 0, "error": "database not found"}]},
        {"results": "nope"},
        {"results": [{"statement_id": 0, "series": [{"columns": "time", "values": []}]}]},
        None,
    ],
)
async def test_error_answers_raise_response_errors(
    client: PowerFlexClient, powerflex: PowerFlexSimulator, data: Any
) -> None:
    powerflex.measurement_answers["ct_response"] = data
    with pytest.raises(ApiResponseError) as caught:
        await client.async_fetch_site(SITE)
    assert "database" not in str(caught.value)
    assert "timeout" not in str(caught.value)


async def test_answers_that_are_not_json_raise_response_errors(
    session: aiohttp.ClientSession,
    canned: CannedServer,
    client: PowerFlexClient,
    powerflex: PowerFlexSimulator,
) -> None:
    powerflex.faults.malformed_body = True
    powerflex.faults.methods = frozenset({"GET"})
    with pytest.raises(ApiResponseError):
        await client.async_get_target_peak_power(SITE)
    canned.answers["/get_measurement_data"] = Canned(
        "<!DOCTYPE html><html>Bad gateway</html>", content_type="text/html"
    )
    canned.answers["/get_external_signal/3"] = Canned({"result": "ok"}, status=404)
    other = PowerFlexClient(session, canned.url, USERNAME, PASSWORD)
    with pytest.raises(ApiResponseError, match="not JSON"):
        await other.async_fetch_site(SITE)
    with pytest.raises(SiteNotFoundError):
        await other.async_get_external_signal(SITE)
    canned.answers["/get_measurement_data"] = Canned({"results": []})  # no "data" wrapper
    with pytest.raises(ApiResponseError, match="without data"):
        await other.async_fetch_site(SITE)


async def test_influx_parsing_edge_cases(session: aiohttp.ClientSession) -> None:
    """Several series with tags, nulls kept, misfit rows dropped, RFC 3339 times."""
    answer = influx(
        {
            "name": "ct_response",
            "tags": {"acc_id": "03"},
            "columns": ["time", "acs_id", "power", "mamps_actual", "voltage"],
            "values": [
                ["2026-01-01T10:00:00Z", "01", None, 0.0, 240000.0],
                ["2026-01-01T10:00:10.5Z", "01", 7.2, 30000.0, 240000.0],
                ["2026-01-01T10:00:20Z", "01"],  # fits no column list: left out
            ],
        },
        {
            "name": "ct_response",
            "tags": {"acc_id": "3"},
            "columns": ["time", "acs_id", "power"],
            "values": [[1767261600, "002", None]],
        },
    )
    parsed = parse_measurement_answer(answer)
    assert not parsed.partial
    assert len(parsed.rows) == 3
    assert parsed.rows[0]["power"] is None
    assert parsed.rows[0]["acc_id"] == "03"
    client = PowerFlexClient(session, "https://x.y", USERNAME, PASSWORD)
    snapshot = client.site_snapshot(3, parsed.rows, [])
    assert set(snapshot.stations) == {1, 2}  # "03" and "3" are site 3, "002" is station 2
    assert snapshot.stations[1].power_w == pytest.approx(7200)
    assert snapshot.stations[1].power_unit == "kW"
    assert snapshot.stations[1].time is not None
    assert snapshot.stations[1].time.isoformat() == "2026-01-01T10:00:10.500000+00:00"
    assert snapshot.stations[2].power_w is None
    assert snapshot.stations[2].vehicle_connected is None  # no state, no evse_response
    assert parse_measurement_answer(influx(partial=True)).partial


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1767261600, datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("1767261600.5", datetime(2026, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        (1767261600_000, datetime(2026, 1, 1, 10, tzinfo=UTC)),  # epoch=ms
        (1767261600_000_000, datetime(2026, 1, 1, 10, tzinfo=UTC)),  # epoch=u
        (1767261600_000_000_000, datetime(2026, 1, 1, 10, tzinfo=UTC)),  # epoch=ns
        ("2026-01-01T11:00:00+01:00", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("2026-01-01T10:00:00", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("yesterday", None),
        (-5, None),
        (None, None),
        (True, None),
        (1e300, None),
    ],
)
def test_row_times(raw: object, expected: datetime | None) -> None:
    assert parse_time(raw) == expected


@pytest.mark.parametrize(
    "data",
    [
        {"results": ["x"]},
        {"results": [{"series": "x"}]},
        {"results": [{"series": ["x"]}]},
        {"results": [{"series": [{"columns": ["time"], "values": "x"}]}]},
        {"results": [{"series": [{"columns": ["time"], "values": [], "tags": [1]}]}]},
    ],
)
def test_malformed_influx_answers(data: Any) -> None:
    with pytest.raises(ApiResponseError, match="malformed"):
        parse_measurement_answer({"data": data})


async def test_rows_without_station_or_time_and_state_only_stations(
    session: aiohttp.ClientSession,
) -> None:
    client = PowerFlexClient(session, "https://x.y", USERNAME, PASSWORD)
    rows: list[dict[str, object]] = [
        {"acc_id": "03", "acs_id": None, "power": 1.0},  # no station: left out
        {"acc_id": "03", "acs_id": "01", "charging_state": "READY", "power": 0},
        {"acc_id": "03", "acs_id": "01", "charging_state": "NOT CHARGING", "power": 0},
    ]
    snapshot = client.site_snapshot(3, rows, [])
    assert set(snapshot.stations) == {1}
    station = snapshot.stations[1]
    assert station.charging_state is ChargingState.NOT_CHARGING  # later in the answer wins
    assert station.vehicle_connected is True  # plugged in unless UNPLUGGED (notes §7)
    assert station.time is None
    assert snapshot.charging_power_w == 0
    with pytest.raises(ValueError, match="whole epoch"):
        await client.async_get_measurement_data(Measurement.CT_RESPONSE, (0.5, 10))


async def test_empty_answers_to_signal_calls(
    session: aiohttp.ClientSession, canned: CannedServer
) -> None:
    canned.answers["/get_external_signal/3"] = Canned("")
    canned.answers["/set_external_signal/3"] = Canned({})
    client = PowerFlexClient(session, canned.url, USERNAME, PASSWORD)
    assert await client.async_get_external_signals(SITE) == {}
    assert await client.async_get_external_signal(SITE) is None
    sent = await client.async_set_external_signal(
        SITE, max_load=7, max_load_unit="A", is_enabled=True, name="Other"
    )
    assert sent == ExternalSignal("Other", 7.0, "A", True)
    assert canned.received[-1][2] == {
        "max_load": 7.0,
        "max_load_unit": "A",
        "is_enabled": True,
        "name": "Other",
    }
    with pytest.raises(ValueError, match="name is required"):
        await client.async_set_external_signal(
            SITE, max_load=7, max_load_unit="A", is_enabled=True, name=""
        )


async def test_unknown_values_are_unknown(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    powerflex.row_overrides[("ct_response", SITE, 1)] = {
        "charging_state": "WARP SPEED",
        "voltage": "n/a",
        "mamps_actual": -5.0,
        "energy_delivered": float("nan"),
    }
    powerflex.row_overrides[("evse_response", SITE, 1)] = {
        "charging_state": "WARP SPEED",
        "connected": 7,
        "contactor": None,
    }
    snapshot = await client.async_fetch_site(SITE)
    station = snapshot.stations[1]
    assert station.charging_state is None
    assert station.voltage_v is None
    assert station.current_a is None
    assert station.session_energy_kwh is None
    assert station.vehicle_connected is None
    assert station.contactor_closed is None
    assert station.power_w == 0  # 0 is 0 W in any unit


# --- external signal -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["by_request", "keyed", "bare"])
async def test_both_signal_shapes_read_the_same(
    session: aiohttp.ClientSession, mono: FakeClock, shape: Any
) -> None:
    async with make_powerflex(signal_shape=shape) as simulator:
        client = client_for(session, simulator, mono)
        named = await client.async_get_external_signal(SITE)
        every = await client.async_get_external_signals(SITE)
        bodies = [record.body for record in simulator.requests_to("get_external_signal")]
    expected = ExternalSignal("DCM_EVSE_Allocation", 21.616, "kW", True)
    assert named == expected
    assert every == {"DCM_EVSE_Allocation": expected}
    assert bodies == [{"name": "DCM_EVSE_Allocation"}, {}]


def test_signal_answers_are_validated() -> None:
    bare = {"is_enabled": 1, "max_load": "32", "max_load_unit": "a", "name": "X"}
    assert parse_external_signals(bare) == {"X": ExternalSignal("X", 32.0, "A", True)}
    keyed = {"Y": {"is_enabled": False, "max_load": 5, "max_load_unit": "KW"}}
    assert parse_external_signals(keyed) == {"Y": ExternalSignal("Y", 5.0, "kW", False)}
    for wrong in (
        [],
        {"X": "text"},
        {"name": "X", "max_load": None, "max_load_unit": "kW", "is_enabled": True},
        {"name": "X", "max_load": 3, "max_load_unit": "MW", "is_enabled": True},
        {"name": "X", "max_load": -3, "max_load_unit": "kW", "is_enabled": True},
        {"name": "X", "max_load": 3, "max_load_unit": "kW", "is_enabled": "maybe"},
    ):
        with pytest.raises(ApiResponseError):
            parse_external_signals(wrong)


async def test_missing_signal_is_none(
    client: PowerFlexClient,
    powerflex: PowerFlexSimulator,
    canned: CannedServer,
    session: aiohttp.ClientSession,
) -> None:
    powerflex.site(SITE).signals.clear()
    assert await client.async_get_external_signals(SITE) == {}
    with pytest.raises(SiteNotFoundError):
        await client.async_get_external_signal(SITE)  # the simulator answers 404
    canned.answers["/get_external_signal/3"] = Canned({})
    other = PowerFlexClient(session, canned.url, USERNAME, PASSWORD)
    assert await other.async_get_external_signal(SITE) is None


async def test_set_external_signal_sends_every_field_and_the_name(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    signal = await client.async_set_external_signal(
        SITE, max_load=12.5, max_load_unit="kW", is_enabled=False
    )
    record = powerflex.requests_to("set_external_signal")[-1]
    assert record.method == "POST"
    assert record.path == "/set_external_signal/3"
    assert record.body == {
        "max_load": 12.5,
        "max_load_unit": "kW",
        "is_enabled": False,
        "name": "DCM_EVSE_Allocation",
    }
    assert signal == ExternalSignal("DCM_EVSE_Allocation", 12.5, "kW", False)
    assert powerflex.site(SITE).signals["DCM_EVSE_Allocation"].is_enabled is False
    with pytest.raises(ValueError, match="max_load_unit"):
        await client.async_set_external_signal(
            SITE,
            max_load=1,
            max_load_unit="MW",
            is_enabled=True,
        )
    with pytest.raises(ValueError, match="max_load"):
        await client.async_set_external_signal(
            SITE, max_load=float("inf"), max_load_unit="A", is_enabled=True
        )
    assert len(powerflex.requests_to("set_external_signal")) == 1


async def test_lower_cap_lowers_the_site_load(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    charge(powerflex, 1, 2, 3)
    before = await client.async_fetch_site(SITE)
    assert before.charging_power_w == pytest.approx(3 * 30 * 240)  # 21.616 kW → 30 A each
    await client.async_set_external_signal(SITE, max_load=40, max_load_unit="A", is_enabled=True)
    powerflex.advance(10)
    after = await client.async_fetch_site(SITE)
    assert after.charging_power_w is not None
    assert after.charging_power_w <= 40 * 240
    assert sum(s.current_limit_a or 0 for s in after.stations.values()) <= 40


# --- Demand Charge Mitigation ----------------------------------------------------------------


async def test_real_time_load_is_sent_as_an_integer(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await client.async_set_real_time_load(SITE, 1100)
    record = powerflex.requests_to("set_real_time_load")[-1]
    assert record.path == "/set_real_time_load/3"
    assert record.body == {"real_time_load_kW": 1100}
    assert isinstance(record.body["real_time_load_kW"], int)
    assert powerflex.site(SITE).real_time_load_kw == 1100
    for wrong in (1100.0, 12.5, True, "1100"):
        with pytest.raises(ValueError, match="whole number"):
            await client.async_set_real_time_load(SITE, wrong)
    assert len(powerflex.requests_to("set_real_time_load")) == 1


async def test_target_peak_power_read_and_partial_write(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    targets = await client.async_get_target_peak_power(SITE)
    assert list(targets) == list(MONTHS)
    assert set(targets.values()) == {200}
    read = powerflex.requests_to("get_target_peak_power_kW")[-1]
    assert (read.method, read.path, read.body) == ("GET", "/get_target_peak_power_kW/3", None)
    updated = await client.async_set_target_peak_power(SITE, {"Jun": 700, "jul": 555})
    write = powerflex.requests_to("set_target_peak_power_kW")[-1]
    assert (write.method, write.path) == ("POST", "/set_target_peak_power_kW/3")
    assert write.body == {"target_peak_power": {"Jun": 700, "Jul": 555}}
    assert updated == {**targets, "Jun": 700, "Jul": 555}
    for wrong in ({}, {"June": 1}, {"Jun": 1.5}, {"Jun": -1}, {"Jun": True}):
        with pytest.raises(ValueError, match=r"month|whole"):
            await client.async_set_target_peak_power(SITE, wrong)
    assert len(powerflex.requests_to("set_target_peak_power_kW")) == 1


def test_target_peak_power_answers_are_validated() -> None:
    tolerant = {**dict.fromkeys(MONTHS, "100"), "Feb": 123.0, "extra": "ignored"}
    assert parse_target_peak_power(tolerant)["Feb"] == 123
    assert parse_target_peak_power(tolerant)["Mar"] == 100
    for wrong in (
        [1, 2],
        dict.fromkeys(MONTHS[:11], 100),
        {**dict.fromkeys(MONTHS, 100), "Jan": 1.5},
        {**dict.fromkeys(MONTHS, 100), "Jan": None},
    ):
        with pytest.raises(ApiResponseError):
            parse_target_peak_power(wrong)


async def test_site_id_is_an_integer_in_urls(
    client: PowerFlexClient, powerflex: PowerFlexSimulator
) -> None:
    await client.async_get_target_peak_power("03")
    assert powerflex.requests_to("get_target_peak_power_kW")[-1].path == (
        "/get_target_peak_power_kW/3"
    )
    with pytest.raises(SiteNotFoundError) as err:
        await client.async_get_target_peak_power(99)  # a site the account lacks
    assert err.value.reason == "site_not_found"
    with pytest.raises(SiteNotFoundError):
        await client.async_get_external_signals(99)
    for wrong in (-1, 1.5, True, "x"):
        with pytest.raises(ValueError, match="site id"):
            await client.async_get_target_peak_power(wrong)


# --- base URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://acme.powerflex.com:9443", "https://acme.powerflex.com:9443"),
        (" https://ACME.powerflex.com:9443/ ", "https://acme.powerflex.com:9443"),
        ("acme.powerflex.com:9443", "https://acme.powerflex.com:9443"),
        ("http://127.0.0.1:8095", "http://127.0.0.1:8095"),
        ("http://127.4.5.6", "http://127.4.5.6"),
        ("http://[::1]:8095", "http://[::1]:8095"),
        ("http://localhost:8095", "http://localhost:8095"),
    ],
)
def test_base_url_is_normalised(url: str, expected: str) -> None:
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.powerflex.com:9443",
        "http://192.168.1.5:8095",
        "http://localhost.example.com",
        "http://128.0.0.1",
        "ftp://acme.powerflex.com",
        "https://acme.powerflex.com:9443/api",
        "https://acme.powerflex.com?x=1",
        f"https://{USERNAME}:{PASSWORD}@acme.powerflex.com",
        "https://acme.powerflex.com:99999",
        "https://",
    ],
)
def test_base_url_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"URL|https") as caught:
        validate_base_url(url)
    assert PASSWORD not in str(caught.value)
    assert "acme" not in str(caught.value)


async def test_client_requires_https_off_loopback(session: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError, match="https"):
        PowerFlexClient(session, "http://acme.powerflex.com:9443", USERNAME, PASSWORD)
    client = PowerFlexClient(session, "https://acme.powerflex.com:9443", USERNAME, PASSWORD)
    assert client.base_url == "https://acme.powerflex.com:9443"
    assert PASSWORD not in repr(client)
    assert USERNAME not in repr(client)
