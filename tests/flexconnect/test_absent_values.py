"""A state field a battery never sends gets no entity; a battery silent at setup gets all."""

from __future__ import annotations

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.energy_flex.const import DOMAIN
from simulators.flexconnect import FlexConnectSimulator

from .conftest import SKI_A, SKI_B, setup_entry


def registered(registry: er.EntityRegistry, key: str, ski: str) -> str | None:
    return registry.async_get_entity_id("sensor", DOMAIN, f"{ski}_{key}")


async def test_fields_a_battery_does_not_send_get_no_entity(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Battery A reports no state of health or usable capacity; battery B does."""
    flexconnect.battery(SKI_A).absent_fields.update({"stateOfHealth", "usableCapacity"})
    entry = await setup_entry(hass, flexconnect)
    assert registered(entity_registry, "state_of_health", SKI_A) is None
    assert registered(entity_registry, "usable_capacity", SKI_A) is None
    assert registered(entity_registry, "state_of_charge", SKI_A) is not None
    assert registered(entity_registry, "state_of_health", SKI_B) is not None
    assert registered(entity_registry, "usable_capacity", SKI_B) is not None
    state = entry.runtime_data.coordinator.data[SKI_A].state
    assert not state.sent("stateOfHealth")
    assert state.sent("stateOfCharge")
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_battery_silent_at_setup_gets_every_entity(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Nothing is known about a battery that did not answer: no entity is left out."""
    flexconnect.battery(SKI_B).absent_fields.add("stateOfHealth")
    flexconnect.battery(SKI_B).online = False
    entry = await setup_entry(hass, flexconnect)
    health = registered(entity_registry, "state_of_health", SKI_B)
    assert health is not None
    assert hass.states.is_state(health, STATE_UNAVAILABLE)
    flexconnect.battery(SKI_B).online = True
    assert await hass.config_entries.async_unload(entry.entry_id)
