"""FEMS cloud fixtures: the backend simulator on a real socket, with pinned clocks.

Edges run a fixed house (PV 2 kW, load 1 kW), so live values are exact; the wall clock
is pinned so computed history never depends on the day the tests run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.api.fems_cloud import FemsCloudClient
from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_EDGE_IDS,
    CONNECTION_FEMS_CLOUD,
    DOMAIN,
)
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


# --- Home Assistant side ------------------------------------------------------------------


def ha_clock() -> float:
    """Seconds of Home Assistant's clock, so `freezer` moves the simulated edges too."""
    return dt_util.utcnow().timestamp()


def ha_now() -> datetime:
    """Home Assistant's "now": the backend's history ends there."""
    return dt_util.utcnow()


def make_ha_cloud(*, edges: int = 2, **kwargs: Any) -> FemsCloudSimulator:
    """A backend whose clocks follow Home Assistant's (and `freezer`)."""
    edge_list = [
        SimulatedEdge(
            f"fems{1001 + index}",
            battery=BatteryModel(profile=FixedProfile(pv=2000, load=1000), soc=50, clock=ha_clock),
            fix_active_power=index == 0,
            clock=ha_clock,
            wall_clock=ha_now,
        )
        for index in range(edges)
    ]
    return FemsCloudSimulator(
        edges=edge_list,
        users=make_users([edge.edge_id for edge in edge_list]),
        clock=ha_clock,
        wall_clock=ha_now,
        **kwargs,
    )


@pytest.fixture
async def ha_cloud() -> AsyncIterator[FemsCloudSimulator]:
    """A running backend on 127.0.0.1 that follows Home Assistant's clock."""
    simulator = make_ha_cloud()
    await simulator.start()
    yield simulator
    await simulator.stop()


def entry_data(
    simulator: FemsCloudSimulator,
    edge_ids: Sequence[str] = (EDGE_A, EDGE_B),
    login: str = OWNER,
) -> dict[str, Any]:
    """Config-entry data that reaches `simulator` as `login`."""
    return {
        CONF_CONNECTION: CONNECTION_FEMS_CLOUD,
        CONF_URL: simulator.url,
        CONF_USERNAME: login,
        CONF_PASSWORD: PASSWORDS[login],
        CONF_EDGE_IDS: list(edge_ids),
    }


def add_entry(
    hass: HomeAssistant,
    simulator: FemsCloudSimulator,
    edge_ids: Sequence[str] = (EDGE_A, EDGE_B),
    *,
    login: str = OWNER,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A not-yet-loaded FEMS cloud entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"127.0.0.1/{login}",
        title=f"FENECON cloud {login}",
        data=entry_data(simulator, edge_ids, login),
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def setup_entry(
    hass: HomeAssistant,
    simulator: FemsCloudSimulator,
    edge_ids: Sequence[str] = (EDGE_A, EDGE_B),
    *,
    login: str = OWNER,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add and set up a FEMS cloud entry."""
    entry = add_entry(hass, simulator, edge_ids, login=login, options=options)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def entity_id(platform: str, key: str, edge_id: str = EDGE_A) -> str:
    """The entity id of one edge's entity by its name-derived suffix."""
    return f"{platform}.fems_{edge_id}_{key}"


def state_of(hass: HomeAssistant, entity: str) -> str:
    """The state of an entity that must exist."""
    state = hass.states.get(entity)
    assert state is not None, entity
    return state.state


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time (the simulated edges included) and run what became due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
