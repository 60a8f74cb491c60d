"""FEMS cloud fixtures: the backend simulator on a real socket, with pinned clocks.

Edges run a fixed house (PV 2 kW, load 1 kW), so live values are exact; the wall clock
is pinned so computed history never depends on the day the tests run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from custom_components.energy_flex.api.fems_cloud import FemsCloudClient
from simulators.battery import BatteryModel, FixedProfile
from simulators.fems_cloud import CloudUser, FemsCloudSimulator, Role, SimulatedEdge

# Distinctive secrets, so a test can prove none of them leaks anywhere.
OWNER = "owner@example.com"
OWNER_PASSWORD = "owner-pw-5d1e"
GUEST = "guest@example.com"
GUEST_PASSWORD = "guest-pw-0b7a"
INSTALLER = "installer@example.com"
INSTALLER_PASSWORD = "installer-pw-c4d2"
ADMIN = "admin@example.com"
ADMIN_PASSWORD = "admin-pw-93fe"
PASSWORDS = {
    OWNER: OWNER_PASSWORD,
    GUEST: GUEST_PASSWORD,
    INSTALLER: INSTALLER_PASSWORD,
    ADMIN: ADMIN_PASSWORD,
}

EDGE_A = "fems1001"  # has a Controller.Ess.FixActivePower
EDGE_B = "fems1002"  # has none
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_edges(clock: FakeClock, count: int = 2) -> list[SimulatedEdge]:
    """`fems1001`, `fems1002`, …: the first with a FixActivePower controller."""
    return [
        SimulatedEdge(
            f"fems{1001 + index}",
            battery=BatteryModel(profile=FixedProfile(pv=2000, load=1000), soc=50, clock=clock),
            fix_active_power=index == 0,
            clock=clock,
            wall_clock=lambda: NOW,
        )
        for index in range(count)
    ]


def make_users(edge_ids: list[str]) -> list[CloudUser]:
    """Guest on the first edge only; owner and installer on all; a global admin."""
    return [
        CloudUser(GUEST, GUEST_PASSWORD, {edge_ids[0]: Role.GUEST}),
        CloudUser(OWNER, OWNER_PASSWORD, dict.fromkeys(edge_ids, Role.OWNER)),
        CloudUser(INSTALLER, INSTALLER_PASSWORD, dict.fromkeys(edge_ids, Role.INSTALLER)),
        CloudUser(ADMIN, ADMIN_PASSWORD, global_role=Role.ADMIN),
    ]


def make_cloud(clock: FakeClock, *, edges: int = 2, **kwargs: Any) -> FemsCloudSimulator:
    """A backend with `edges` edges and the test accounts."""
    edge_list = make_edges(clock, edges)
    return FemsCloudSimulator(
        edges=edge_list,
        users=make_users([edge.edge_id for edge in edge_list]),
        clock=clock,
        wall_clock=lambda: NOW,
        **kwargs,
    )


@pytest.fixture
def clock() -> FakeClock:
    """The simulator's and the client's monotonic clock."""
    return FakeClock()


@pytest.fixture
async def cloud(clock: FakeClock) -> AsyncIterator[FemsCloudSimulator]:
    """A running backend simulator on 127.0.0.1, port 0."""
    simulator = make_cloud(clock)
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
    simulator: FemsCloudSimulator,
    clock: FakeClock,
    login: str = OWNER,
    password: str | None = None,
) -> FemsCloudClient:
    """A client for `login` that reaches `simulator` and shares its clock."""
    return FemsCloudClient(
        session,
        login,
        PASSWORDS[login] if password is None else password,
        url=simulator.url,
        clock=clock,
    )


@pytest.fixture
def client(
    session: aiohttp.ClientSession, cloud: FemsCloudSimulator, clock: FakeClock
) -> FemsCloudClient:
    """The owner's client."""
    return client_for(session, cloud, clock)
