"""sonnen fixtures: simulators on real sockets with a fixed house, and loaded entries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import CONF_CONNECTION, CONNECTION_SONNEN, DOMAIN
from simulators.battery import BatteryModel, FixedProfile
from simulators.sonnen import SonnenSimulator
from simulators.sonnen.profiles import PROFILES

PROFILE_NAMES = sorted(PROFILES)
# DE_Ticket_Number of the eu_current profile: the device identity.
SERIAL = "330123"
TITLE = f"sonnenBatterie {SERIAL}"


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_sonnen(
    profile: str = "eu_current",
    *,
    clock: Callable[[], float] = time.monotonic,
    pv: float = 2000,
    load: float = 1000,
    soc: float = 50,
    **kwargs: Any,
) -> SonnenSimulator:
    """A sonnenBatterie with fixed PV and house load, so the powers are exact."""
    battery = BatteryModel(profile=FixedProfile(pv=pv, load=load), soc=soc, clock=clock)
    return SonnenSimulator(profile=profile, battery=battery, clock=clock, **kwargs)


@pytest.fixture
def clock() -> FakeClock:
    """The simulator's clock (Home Assistant's time moves with `freezer`)."""
    return FakeClock()


@pytest.fixture
async def sonnen(clock: FakeClock) -> AsyncIterator[SonnenSimulator]:
    """A running current EU unit in automatic mode."""
    simulator = make_sonnen(clock=clock)
    await simulator.start()
    yield simulator
    await simulator.stop()


def sonnen_entry(
    hass: HomeAssistant,
    simulator: SonnenSimulator,
    *,
    unique_id: str = SERIAL,
    title: str = TITLE,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A not-yet-loaded entry for `simulator`."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=unique_id,
        title=title,
        data={
            CONF_CONNECTION: CONNECTION_SONNEN,
            CONF_HOST: "127.0.0.1",
            CONF_PORT: simulator.port,
        },
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def setup_sonnen_entry(
    hass: HomeAssistant, simulator: SonnenSimulator, **kwargs: Any
) -> MockConfigEntry:
    """Add and set up an entry for `simulator`."""
    entry = sonnen_entry(hass, simulator, **kwargs)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def sonnen_entry_loaded(hass: HomeAssistant, sonnen: SonnenSimulator) -> MockConfigEntry:
    """A loaded entry of the current EU unit."""
    return await setup_sonnen_entry(hass, sonnen)


def entity_id(hass: HomeAssistant, platform: str, key: str, identity: str = SERIAL) -> str:
    """The entity id of one of the device's entities, by description key."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{identity}_{key}")
    assert found is not None, key
    return found


def state(hass: HomeAssistant, key: str, platform: str = "sensor", identity: str = SERIAL) -> str:
    """The state of one entity by key."""
    value = hass.states.get(entity_id(hass, platform, key, identity))
    assert value is not None, key
    return value.state


def setpoints(simulator: SonnenSimulator) -> list[tuple[str, Any]]:
    """Every write the unit accepted, in order, as (channel, value)."""
    return [(record.channel, record.value) for record in simulator.writes.records]
