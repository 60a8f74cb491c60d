"""PowerFlex fixtures: the simulator on a real socket, clocks tests move, a canned server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.energy_flex.api.powerflex import PowerFlexClient
from simulators.powerflex import PowerFlexSimulator
from simulators.powerflex.model import Arrivals

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
    _runner: web.AppRunner | None = None

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.received]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append((request.method, request.path, json.loads(raw) if raw else None))
        canned = self.answers.get(request.path)
        if canned is None and request.path == "/login":
            canned = Canned({"access_token": "opaque-token-without-claims"})
        return (canned or Canned({"msg": "Not Found"}, status=404)).response()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def canned() -> AsyncIterator[CannedServer]:
    """A running canned server."""
    server = CannedServer()
    await server.start()
    yield server
    await server.stop()


def influx(*series: dict[str, Any], **result: Any) -> dict[str, Any]:
    """`{"data": ...}` with one result holding `series` (none: the empty-window shape)."""
    body: dict[str, Any] = {"statement_id": 0, **result}
    if series:
        body["series"] = list(series)
    return {"data": {"results": [body]}}
