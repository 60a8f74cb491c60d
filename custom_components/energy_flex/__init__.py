"""Energy Flex: home batteries and EV-charging sites from several vendors."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.typing import ConfigType

from .binary_sensor import CONTROL_ACTIVE
from .button import RELEASE_CONTROL
from .const import CONF_CONNECTION, DOMAIN
from .coordinator import EnergyFlexConfigEntry
from .services import async_setup_services
from .vendors import VENDORS

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, whatever entries exist."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EnergyFlexConfigEntry) -> bool:
    """Connect, create the entities, then finish what was held before a restart."""
    vendor = VENDORS[entry.data[CONF_CONNECTION]]
    entry.runtime_data = await vendor.async_create_runtime(hass, entry)
    _remove_stale_control_entities(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for device in entry.runtime_data.devices:
        if device.controller is not None:
            await device.controller.async_restore()
    return True


def _remove_stale_control_entities(hass: HomeAssistant, entry: EnergyFlexConfigEntry) -> None:
    """Drop control entities of devices that can no longer be controlled.

    Reconfiguring from read-write to read-only (no write password, no read-write app)
    would otherwise leave them behind as unavailable leftovers.
    """
    runtime = entry.runtime_data
    control_keys = {
        CONTROL_ACTIVE.key,
        RELEASE_CONTROL.key,
        *(description.key for description in runtime.numbers),
        *(description.key for description in runtime.selects),
    }
    stale = {
        f"{device.identity}_{key}"
        for device in runtime.devices
        if device.controller is None
        for key in control_keys
    }
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.unique_id in stale:
            registry.async_remove(entity.entity_id)


async def async_unload_entry(hass: HomeAssistant, entry: EnergyFlexConfigEntry) -> bool:
    """Hand control back, stop repeating, then remove the entities."""
    for device in entry.runtime_data.devices:
        if device.controller is not None:
            await device.controller.async_unload()
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EnergyFlexConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing only devices the entry no longer has."""
    current = {(DOMAIN, handle.identity) for handle in entry.runtime_data.devices}
    return not current & device.identifiers
