"""A real Home Assistant with the demo's FEMS REST entry, PowerFlex site and FENECON cloud
account, and a websocket client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.energy_flex.const import (
    CONF_REAL_TIME_LOAD_ENTITY,
    CONF_REAL_TIME_LOAD_INTERVAL,
    DOMAIN,
)
from scripts.develop_bootstrap import HassWebSocket, _form_data, _parser
from simulators.fems_cloud import FemsCloudSimulator, default_edges
from simulators.fems_rest import FemsRestSimulator
from simulators.powerflex import PowerFlexSimulator
from tests.fems_cloud.conftest import ha_now
from tests.fems_rest.conftest import make_simulator, setup_fems_entry
from tests.powerflex.conftest import ha_clock, make_powerflex, setup_entry

# The demo's house load, which scripts/develop pushes to the PowerFlex site.
HOUSE_LOAD = "sensor.fems_fems12345_consumption_power"
# The demo's FENECON cloud: the simulator's two default edges, the second one dropping off
# the cloud and coming back every 300 s (scripts/develop's FEMS_CLOUD_OFFLINE_CYCLE).
CLOUD_EDGES = ("fems1001", "fems1002")
FLAKY_EDGE = "fems1002"
OFFLINE_CYCLE_S = 300.0


def make_demo_cloud() -> FemsCloudSimulator:
    """The cloud scripts/develop starts (the CLI's edges and logins), on HA's clock."""
    simulator = FemsCloudSimulator(
        edges=default_edges(len(CLOUD_EDGES), clock=ha_clock, wall_clock=ha_now),
        clock=ha_clock,
        wall_clock=ha_now,
    )
    simulator.cycle_offline([FLAKY_EDGE], OFFLINE_CYCLE_S)
    return simulator


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


@pytest.fixture
async def fems_cloud() -> AsyncIterator[FemsCloudSimulator]:
    """The demo's FENECON cloud simulator (fems1002 starts offline)."""
    simulator = make_demo_cloud()
    await simulator.start()
    yield simulator
    await simulator.stop()


async def add_demo_cloud_entry(hass: HomeAssistant, simulator: FemsCloudSimulator) -> ConfigEntry:
    """The cloud entry as the bootstrap adds it: the vendor menu, then its form data."""
    args = _parser().parse_args(["--fems-cloud-port", str(simulator.port)])
    data = _form_data(args)["fems_cloud"]
    menu = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert menu["type"] is FlowResultType.MENU
    assert "fems_cloud" in menu["menu_options"]
    form = await hass.config_entries.flow.async_configure(
        menu["flow_id"], {"next_step_id": "fems_cloud"}
    )
    assert form["type"] is FlowResultType.FORM
    assert form["step_id"] == "fems_cloud"
    result = await hass.config_entries.flow.async_configure(form["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done(wait_background_tasks=True)
    entry: ConfigEntry = result["result"]
    return entry


@pytest.fixture
async def fems_cloud_entry(
    hass: HomeAssistant, fems_cloud: FemsCloudSimulator
) -> AsyncIterator[ConfigEntry]:
    """The demo's loaded FENECON cloud entry (both edges)."""
    entry = await add_demo_cloud_entry(hass, fems_cloud)
    yield entry
    # Unloaded while the simulator still listens.
    await hass.config_entries.async_unload(entry.entry_id)
