"""A real Home Assistant with a FEMS REST entry (as in the demo) and a websocket client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from scripts.develop_bootstrap import HassWebSocket
from simulators.fems_rest import FemsRestSimulator
from tests.fems_rest.conftest import make_simulator, setup_fems_entry


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
