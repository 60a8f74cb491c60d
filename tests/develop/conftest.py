"""A real Home Assistant with the demo's FEMS REST entry and PowerFlex site, and a
websocket client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.energy_flex.const import (
    CONF_REAL_TIME_LOAD_ENTITY,
    CONF_REAL_TIME_LOAD_INTERVAL,
)
from scripts.develop_bootstrap import HassWebSocket
from simulators.fems_rest import FemsRestSimulator
from simulators.powerflex import PowerFlexSimulator
from tests.fems_rest.conftest import make_simulator, setup_fems_entry
from tests.powerflex.conftest import ha_clock, make_powerflex, setup_entry

# The demo's house load, which scripts/develop pushes to the PowerFlex site.
HOUSE_LOAD = "sensor.fems_fems12345_consumption_power"


@pytest.fixture
async def fems() -> AsyncIterator[FemsRestSimulator]:
    """The FEMS REST simulator; its hostname is the demo's, so are the entity ids."""
    simulator = make_simulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def fems_entry(hass: HomeAssistant, fems: FemsRestSimulator) -> MockConfigEntry:
    """A loaded FEMS REST entry with control, titled like the demo's."""
    return await setup_fems_entry(hass, fems)


@pytest.fixture
async def ws(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> HassWebSocket:
    """The bootstrap's websocket client on Home Assistant's websocket API (as admin)."""
    # The registries' websocket commands (config/entity_registry/list ...).
    assert await async_setup_component(hass, "config", {})
    return HassWebSocket(await hass_ws_client(hass))


@pytest.fixture
async def powerflex() -> AsyncIterator[PowerFlexSimulator]:
    """The PowerFlex simulator: site 3 (the demo's) with 3 stations, on HA's clock."""
    simulator = make_powerflex(clock=ha_clock)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def powerflex_entry(
    hass: HomeAssistant, fems_entry: MockConfigEntry, powerflex: PowerFlexSimulator
) -> AsyncIterator[MockConfigEntry]:
    """A loaded PowerFlex entry titled like the demo's, fed the FEMS house load."""
    options = {CONF_REAL_TIME_LOAD_ENTITY: HOUSE_LOAD, CONF_REAL_TIME_LOAD_INTERVAL: 30}
    entry = await setup_entry(hass, powerflex, options)
    yield entry
    # Unloaded while the simulator still listens.
    await hass.config_entries.async_unload(entry.entry_id)
