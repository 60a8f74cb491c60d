"""Energy Flex: home batteries and EV-charging sites from several vendors."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

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
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for device in entry.runtime_data.devices:
        if device.controller is not None:
            await device.controller.async_restore()
    return True


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
