"""Reconfigure moves an address-identified FEMS: same device, same entities, no orphans."""

from __future__ import annotations

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import CONF_CONNECTION, DOMAIN
from simulators.fems_rest import FemsRestSimulator

from .conftest import make_simulator
from .test_config_flow import form_input


async def add_address_entry(hass: HomeAssistant, simulator: FemsRestSimulator) -> MockConfigEntry:
    """A FEMS without `_host/Hostname`, identified by host and read port, set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"127.0.0.1:{simulator.read_port}",
        title="FEMS 127.0.0.1",
        data={CONF_CONNECTION: "fems_rest", **form_input(simulator)},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_moved_device_keeps_device_entities_and_their_ids(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """The FEMS moved to another address: the user's device, entities and ids survive."""
    old_sim, new_sim = make_simulator(), make_simulator()
    for simulator in (old_sim, new_sim):
        simulator.absent.add("_host/Hostname")
        await simulator.start()
    try:
        entry = await add_address_entry(hass, old_sim)
        old_id = entry.unique_id
        device = device_registry.async_get_device_by_identifier((DOMAIN, old_id), entry.entry_id)
        assert device is not None
        # An id not built from the address (none is today) is left as it is.
        entity_registry.async_get_or_create("sensor", DOMAIN, "not_by_address", config_entry=entry)
        before = {
            item.entity_id: item.unique_id
            for item in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        }
        assert len(before) > 10
        # The user renamed one: automations use that id.
        soc = entity_registry.async_get_entity_id("sensor", DOMAIN, f"{old_id}_state_of_charge")
        assert soc is not None
        entity_registry.async_update_entity(soc, new_entity_id="sensor.home_battery_soc")
        await hass.async_block_till_done()
        await old_sim.stop()  # the old address is gone

        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(new_sim)
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()

        new_id = f"127.0.0.1:{new_sim.read_port}"
        assert entry.unique_id == new_id
        # One device, the same one, now under the new identifier.
        devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
        assert [item.id for item in devices] == [device.id]
        assert devices[0].identifiers == {(DOMAIN, new_id)}
        # The same entities with the same ids, unique ids moved along; none added.
        after = {
            item.entity_id: item.unique_id
            for item in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        }
        before["sensor.home_battery_soc"] = before.pop(soc)
        assert set(after) == set(before)
        for entity_id, unique_id in before.items():
            moved = unique_id.replace(old_id, new_id) if unique_id.startswith(old_id) else unique_id
            assert after[entity_id] == moved, entity_id
        for entity_id in set(before) - {"sensor.energy_flex_not_by_address"}:
            registered = entity_registry.async_get(entity_id)
            assert registered is not None
            assert registered.device_id == device.id, entity_id
        # And they read the FEMS at its new address.
        state = hass.states.get("sensor.home_battery_soc")
        assert state is not None
        assert state.state not in (STATE_UNAVAILABLE, "unknown")
        assert float(state.state) == 50
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await old_sim.stop()
        await new_sim.stop()


async def test_move_onto_an_address_already_configured_aborts(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    """Two entries can never end up with the same address: nothing is changed."""
    first_sim, second_sim = make_simulator(), make_simulator()
    for simulator in (first_sim, second_sim):
        simulator.absent.add("_host/Hostname")
        await simulator.start()
    try:
        first = await add_address_entry(hass, first_sim)
        second = await add_address_entry(hass, second_sim)
        first_ids = {
            item.unique_id
            for item in er.async_entries_for_config_entry(entity_registry, first.entry_id)
        }
        result = await first.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(second_sim)
        )
        assert result["reason"] == "already_configured"
        assert first.unique_id == f"127.0.0.1:{first_sim.read_port}"
        assert first_ids == {
            item.unique_id
            for item in er.async_entries_for_config_entry(entity_registry, first.entry_id)
        }
        assert second.unique_id == f"127.0.0.1:{second_sim.read_port}"
        for entry in (first, second):
            assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await first_sim.stop()
        await second_sim.stop()


async def test_same_address_changes_nothing_else(
    hass: HomeAssistant, fems: FemsRestSimulator, entity_registry: er.EntityRegistry
) -> None:
    """Reconfigured at the same address (read-only now): ids stay, control entities go."""
    fems.absent.add("_host/Hostname")
    entry = await add_address_entry(hass, fems)
    unique_id = entry.unique_id
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(fems, write_password=None)
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.unique_id == unique_id
    assert entity_registry.async_get_entity_id("sensor", DOMAIN, f"{unique_id}_state_of_charge")
    assert not entity_registry.async_get_entity_id(
        "number", DOMAIN, f"{unique_id}_battery_power_setpoint"
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
