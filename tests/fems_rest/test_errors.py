"""A glitch clears by itself; only rejected credentials ask for the password (§1.9).

A FEMS that restarts its firmware or is overloaded answers every request with HTTP 500
for a while. That is a connection problem: entities unavailable, polling goes on with
back-off, recovery by itself. A wrong password still asks for reauthentication, on both
firmware generations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import DOMAIN
from simulators.fems import errors
from simulators.fems_rest import FemsRestSimulator

from .conftest import make_simulator, setup_fems_entry

SOC = "sensor.fems_fems12345_state_of_charge"
SETPOINT = "number.fems_fems12345_battery_power_setpoint"
EQUALS = "ess0/SetActivePowerEquals"
FIRMWARES = ["2026.5.0", "2025.3.0"]


@pytest.fixture(params=FIRMWARES)
async def device(request: pytest.FixtureRequest) -> AsyncIterator[FemsRestSimulator]:
    """A FEMS of each firmware generation (Jetty 12 500 pages; 401 / JSON-RPC before)."""
    async with make_simulator(firmware=request.param) as simulator:
        yield simulator


@pytest.fixture
async def entry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, device: FemsRestSimulator
) -> AsyncIterator[MockConfigEntry]:
    """A loaded entry with control (time frozen before its timers are scheduled)."""
    loaded = await setup_fems_entry(hass, device)
    assert loaded.state is ConfigEntryState.LOADED
    yield loaded
    await hass.config_entries.async_unload(loaded.entry_id)


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time and run what became due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def reauth_flows(hass: HomeAssistant) -> list[str]:
    """Sources of the flows in progress for Energy Flex."""
    return [
        flow["context"]["source"]
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    ]


def soc(hass: HomeAssistant) -> str:
    """The state of charge sensor's state."""
    value = hass.states.get(SOC)
    assert value is not None
    return value.state


@pytest.mark.parametrize("storm", [errors.restarting, errors.overloaded])
async def test_500_storm_clears_by_itself(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device: FemsRestSimulator,
    entry: MockConfigEntry,
    storm: Callable[[], errors.FemsError],
) -> None:
    """Five minutes of 500s: unavailable, no reauth, fewer polls, back by itself."""
    device.storm = storm()
    before = device.requests.total
    for _ in range(30):
        await tick(hass, freezer, 10)
    assert soc(hass) == STATE_UNAVAILABLE
    assert reauth_flows(hass) == []
    assert entry.state is ConfigEntryState.LOADED
    # Back-off: 10, 20, 40, 80, 120, 120 s between polls, one request each (no probe).
    assert device.requests.total - before == 6
    device.storm = None
    for _ in range(12):
        await tick(hass, freezer, 10)
    assert float(soc(hass)) == pytest.approx(50, abs=1)
    assert reauth_flows(hass) == []
    # Polling is back to every 10 s.
    before = device.requests.total
    await tick(hass, freezer, 10)
    assert device.requests.total - before == 1


async def test_write_in_a_500_storm_asks_nothing_of_the_user(
    hass: HomeAssistant,
    device: FemsRestSimulator,
    entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A command that meets the storm fails as "cannot connect": no reauth, no repair;
    after the storm the same command charges the battery."""
    device.storm = errors.restarting()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: SETPOINT, ATTR_VALUE: -1500},
            blocking=True,
        )
    assert err.value.translation_key == "cannot_connect"
    await hass.async_block_till_done()
    assert reauth_flows(hass) == []
    assert issue_registry.async_get_issue(DOMAIN, f"write_rejected_{entry.entry_id}") is None
    device.storm = None
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: SETPOINT, ATTR_VALUE: -1500},
        blocking=True,
    )
    assert [record.value for record in device.writes.for_channel(EQUALS)] == [-1500]
    assert device.battery.setpoint_w == -1500


async def test_wrong_read_password_still_asks_for_it(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device: FemsRestSimulator,
    entry: MockConfigEntry,
) -> None:
    """The guest password changed on the device: the next poll starts reauthentication."""
    device.passwords["guest"] = "changed"
    await tick(hass, freezer, 10)
    assert reauth_flows(hass) == ["reauth"]
    assert soc(hass) == STATE_UNAVAILABLE


async def test_storm_then_wrong_password(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device: FemsRestSimulator,
    entry: MockConfigEntry,
) -> None:
    """After a storm the device comes back with another password: that one is asked for."""
    device.storm = errors.restarting()
    await tick(hass, freezer, 10)
    await tick(hass, freezer, 10)
    assert reauth_flows(hass) == []
    device.storm = None
    device.passwords["guest"] = "changed"
    for _ in range(4):
        await tick(hass, freezer, 10)
    assert reauth_flows(hass) == ["reauth"]
