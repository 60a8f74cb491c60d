"""PowerFlex fixtures: the simulator on a real socket, clocks tests move, a canned server,
and entries of a real Home Assistant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.api.powerflex import PowerFlexClient
from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_SITE_ID,
    CONNECTION_POWERFLEX,
    DOMAIN,
)
from simulators.powerflex import PowerFlexSimulator
from simulators.powerflex.model import Arrivals

from ..common.http_server import serve_http

# Distinctive secrets, so a test can prove they leak nowhere.
USERNAME = "fleet-operator"
PASSWORD = "pf-secret-pw-5d1e"
SITE = 3
OTHER_SITE = 4
# Every JWT starts with the base64url of '{"': no log line or error text may hold one.
JWT_PREFIX = "eyJ"


class FakeClock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_powerflex(**kwargs: Any) -> PowerFlexSimulator:
    """Site 3 with 3 stations and site 4 with 2, no random cars, a wall clock at rest."""
    options: dict[str, Any] = {
        "sites": {SITE: 3, OTHER_SITE: 2},
        "username": USERNAME,
        "password": PASSWORD,
        "arrivals": Arrivals(enabled=False),
        "clock": FakeClock(1_790_000_000.0),
    }
    options.update(kwargs)
    return PowerFlexSimulator(**options)


@pytest.fixture
def mono() -> FakeClock:
    """The client's monotonic clock (token renewal and login back-off)."""
    return FakeClock(5_000.0)


@pytest.fixture
async def powerflex() -> AsyncIterator[PowerFlexSimulator]:
    """A running simulator (power in mW, the by-request signal shapes)."""
    simulator = make_powerflex()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as any HA-free user of the client would have."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client_for(
    session: aiohttp.ClientSession,
    simulator: PowerFlexSimulator,
    mono: FakeClock,
    *,
    password: str = PASSWORD,
) -> PowerFlexClient:
    """A client that reaches `simulator`, with the test's clocks."""
    return PowerFlexClient(
        session, simulator.url, USERNAME, password, clock=mono, wall_clock=simulator.now
    )


@pytest.fixture
def client(
    session: aiohttp.ClientSession, powerflex: PowerFlexSimulator, mono: FakeClock
) -> PowerFlexClient:
    """A client of the running simulator."""
    return client_for(session, powerflex, mono)


def charge(simulator: PowerFlexSimulator, *stations: int, site: int = SITE) -> None:
    """Plug a 32 A car into each station and let one report step pass (they charge)."""
    for acs_id in stations:
        simulator.plug_in(site, acs_id)
    simulator.advance(simulator.model.report_interval_s)


# --- a server that answers whatever a test sets ------------------------------------------


@dataclass
class Canned:
    """One answer: status, body (JSON unless bytes/str) and content type."""

    body: Any = None
    status: int = 200
    content_type: str = "application/json"

    def response(self) -> web.Response:
        if isinstance(self.body, bytes | str):
            raw = self.body.encode() if isinstance(self.body, str) else self.body
        else:
            raw = json.dumps(self.body).encode()
        return web.Response(status=self.status, body=raw, content_type=self.content_type)


@dataclass
class CannedServer:
    """Answers `answers[path]`; `/login` gives an opaque (non-JWT) token unless set."""

    answers: dict[str, Canned] = field(default_factory=dict)
    received: list[tuple[str, str, Any]] = field(default_factory=list)
    url: str = ""

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.received]

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append((request.method, request.path, json.loads(raw) if raw else None))
        canned = self.answers.get(request.path)
        if canned is None and request.path == "/login":
            canned = Canned({"access_token": "opaque-token-without-claims"})
        return (canned or Canned({"msg": "Not Found"}, status=404)).response()


@pytest.fixture
async def canned() -> AsyncIterator[CannedServer]:
    """A running canned server."""
    server = CannedServer()
    async with serve_http(server.handle) as url:
        server.url = url
        yield server


def influx(*series: dict[str, Any], **result: Any) -> dict[str, Any]:
    """`{"data": ...}` with one result holding `series` (none: the empty-window shape)."""
    body: dict[str, Any] = {"statement_id": 0, **result}
    if series:
        body["series"] = list(series)
    return {"data": {"results": [body]}}


# --- Home Assistant ---------------------------------------------------------------------------

SITE_IDENTITY = f"127.0.0.1_{SITE}"
SITE_TITLE = f"PowerFlex site {SITE}"


def ha_clock() -> float:
    """Home Assistant's clock in epoch seconds, so `freezer` moves the simulator too."""
    return dt_util.utcnow().timestamp()


@pytest.fixture
async def site_sim() -> AsyncIterator[PowerFlexSimulator]:
    """A running simulator on Home Assistant's clock (site 3: 3 stations, site 4: 2)."""
    simulator = make_powerflex(clock=ha_clock)
    await simulator.start()
    yield simulator
    await simulator.stop()


def entry_data(simulator: PowerFlexSimulator, **changes: Any) -> dict[str, Any]:
    """Config-entry data that reaches `simulator`'s site 3."""
    return {
        CONF_CONNECTION: CONNECTION_POWERFLEX,
        CONF_URL: simulator.url,
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_SITE_ID: SITE,
        **changes,
    }


def add_entry(
    hass: HomeAssistant, simulator: PowerFlexSimulator, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """A not-yet-loaded PowerFlex entry for site 3."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=SITE_IDENTITY,
        title=SITE_TITLE,
        data=entry_data(simulator),
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def setup_entry(
    hass: HomeAssistant, simulator: PowerFlexSimulator, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Add and set up a PowerFlex entry for site 3."""
    entry = add_entry(hass, simulator, options)
    await hass.config_entries.async_setup(entry.entry_id)
    # Also what setup started in the background (a first real-time load), so that no
    # request is still on its way when a test moves the clock.
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


@pytest.fixture
async def site_entry(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> AsyncIterator[MockConfigEntry]:
    """A loaded entry of site 3, unloaded while the simulator still runs.

    Tests that move time ask for `freezer` before this fixture.
    """
    entry = await setup_entry(hass, site_sim)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


def station_identity(acs_id: int) -> str:
    """A station's device identity."""
    return f"{SITE_IDENTITY}_station_{acs_id}"


def entity_id(hass: HomeAssistant, platform: str, key: str, station: int | None = None) -> str:
    """The entity id of the site's (or a station's) entity `key`, by unique id."""
    identity = SITE_IDENTITY if station is None else station_identity(station)
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{identity}_{key}")
    assert found is not None, f"{platform} {identity}_{key}"
    return found


def state(hass: HomeAssistant, platform: str, key: str, station: int | None = None) -> str:
    """The state of the site's (or a station's) entity `key`."""
    current = hass.states.get(entity_id(hass, platform, key, station))
    assert current is not None
    return current.state


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time (the simulator's too) and run what became due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def writes(simulator: PowerFlexSimulator, endpoint: str) -> list[Any]:
    """The bodies of every request to `endpoint` the simulator received."""
    return [record.body for record in simulator.requests_to(endpoint)]
