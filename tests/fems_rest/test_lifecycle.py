"""Entry lifecycle: setup failures, unload, device removal."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.energy_flex.config_flow import EnergyFlexConfigFlow
from custom_components.energy_flex.const import DOMAIN
from simulators.fems_rest import FemsRestSimulator

from .conftest import setup_fems_entry


async def test_unreachable_device_retries_setup(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """A device that does not answer at start leaves the entry retrying."""
    fems.faults.error_status = 503
    entry = await setup_fems_entry(hass, fems)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_rejected_password_at_start_asks_to_reauth(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """A wrong password at start fails setup and opens the reauth flow."""
    fems.passwords["guest"] = "changed"
    entry = await setup_fems_entry(hass, fems)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_unload(hass: HomeAssistant, fems_entry: MockConfigEntry) -> None:
    """Unloading removes the entities' state."""
    assert await hass.config_entries.async_unload(fems_entry.entry_id)
    assert fems_entry.state is ConfigEntryState.NOT_LOADED


async def test_options_offered(fems_entry: MockConfigEntry) -> None:
    """FEMS entries offer the options dialog."""
    assert EnergyFlexConfigFlow.async_supports_options_flow(fems_entry)


async def test_remove_stale_device_only(
    hass: HomeAssistant,
    fems_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The live FEMS device cannot be removed; a stale one can."""
    assert await async_setup_component(hass, "config", {})
    live = device_registry.async_get_device_by_identifier(
        (DOMAIN, "fems12345"), fems_entry.entry_id
    )
    assert live is not None
    stale = device_registry.async_get_or_create(
        config_entry_id=fems_entry.entry_id, identifiers={(DOMAIN, "old-device")}
    )
    client = await hass_ws_client(hass)
    for device, expected in ((live, False), (stale, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": fems_entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is expected


async def test_read_only_again_removes_control_entities(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """Dropping the write password removes the control entities instead of leaving them."""
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    from custom_components.energy_flex.const import CONF_WRITE_PASSWORD  # noqa: PLC0415

    registry = er.async_get(hass)
    number = "number.fems_fems12345_battery_power_setpoint"
    assert registry.async_get(number) is not None
    data = {key: value for key, value in fems_entry.data.items() if key != CONF_WRITE_PASSWORD}
    hass.config_entries.async_update_entry(fems_entry, data=data)
    await hass.config_entries.async_reload(fems_entry.entry_id)
    await hass.async_block_till_done()
    for entity_id in (
        number,
        "button.fems_fems12345_release_control",
        "binary_sensor.fems_fems12345_control_active",
    ):
        assert registry.async_get(entity_id) is None, entity_id
    assert registry.async_get("sensor.fems_fems12345_state_of_charge") is not None
