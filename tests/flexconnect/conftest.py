"""FlexConnect fixtures: a simulated development client with two batteries, and entries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_DEVICE_IDS,
    CONNECTION_FLEXCONNECT,
    DOMAIN,
)
from simulators.battery import BatteryModel, FixedProfile
from simulators.flexconnect import FlexConnectSimulator

SKI_A = "90D2A30FA3D2AD48525CD255F469C167ECF8292C"
SKI_B = "5C3A81E0B7D94F26A1C0E4D2B8F7A6390C1D2E3F"
# A well-formed SKI that no simulated battery has.
SKI_UNKNOWN = "0123456789ABCDEF0123456789ABCDEF01234567"
LATENCY_S = 30.0


def wall_clock() -> float:
    """Seconds of Home Assistant's clock, so `freezer` moves the simulator too."""
    return dt_util.utcnow().timestamp()


def battery_factory(clock: Callable[[], float]) -> BatteryModel:
    """A 10 kWh battery at 50 % in a house drawing 500 W without PV."""
    return BatteryModel(profile=FixedProfile(pv=0, load=500), soc=50, clock=clock)


def make_simulator(**kwargs: Any) -> FlexConnectSimulator:
    """Two batteries; commands apply after 30 s; offline batteries fail at once."""
    options: dict[str, Any] = {
        "skis": (SKI_A, SKI_B),
        "battery_factory": battery_factory,
        "clock": wall_clock,
        "command_latency_s": (LATENCY_S, LATENCY_S),
        "max_wait_s": 0.0,
    }
    options.update(kwargs)
    return FlexConnectSimulator(**options)


@pytest.fixture
async def flexconnect() -> AsyncIterator[FlexConnectSimulator]:
    """A running simulated development client."""
    async with make_simulator() as simulator:
        yield simulator


def entry_data(simulator: FlexConnectSimulator, skis: tuple[str, ...]) -> dict[str, Any]:
    """Config-entry data that reaches `simulator`'s batteries `skis`."""
    return {
        CONF_CONNECTION: CONNECTION_FLEXCONNECT,
        CONF_URL: simulator.url,
        CONF_DEVICE_IDS: list(skis),
    }


def add_entry(
    hass: HomeAssistant,
    simulator: FlexConnectSimulator,
    skis: tuple[str, ...] = (SKI_A, SKI_B),
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """A not-yet-loaded FlexConnect entry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=",".join(sorted(skis)),
        title="FlexConnect " + ", ".join(ski[:8] for ski in skis),
        data=entry_data(simulator, skis),
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def setup_entry(
    hass: HomeAssistant,
    simulator: FlexConnectSimulator,
    skis: tuple[str, ...] = (SKI_A, SKI_B),
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add and set up a FlexConnect entry."""
    entry = add_entry(hass, simulator, skis, options)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def flexconnect_entry(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> AsyncIterator[MockConfigEntry]:
    """A loaded entry with both simulated batteries, unloaded while the client still runs.

    Tests that move time ask for `freezer` before this fixture: freezing the clock
    after the entry's timers were scheduled would make all of them due at once.
    """
    entry = await setup_entry(hass, flexconnect)
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


def entity_id(platform: str, key: str, ski: str = SKI_A) -> str:
    """The entity id of one battery's entity by its name-derived suffix."""
    return f"{platform}.flexconnect_battery_{ski[:8].lower()}_{key}"
