"""Which loaded Energy Flex entry an action's device belongs to."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from .const import CONF_CONNECTION, DOMAIN
from .coordinator import EnergyFlexConfigEntry


def loaded_entry(
    hass: HomeAssistant, device: dr.BaseDeviceEntry, connection: str | None = None
) -> EnergyFlexConfigEntry | None:
    """The device's Energy Flex entry (of `connection`, if given), else `None`.

    An entry that is not loaded has no runtime to act through: a translated refusal.
    """
    entry: EnergyFlexConfigEntry | None = hass.config_entries.async_get_entry(
        device.config_entry_id
    )
    if entry is None or entry.domain != DOMAIN:
        return None
    if connection is not None and entry.data.get(CONF_CONNECTION) != connection:
        return None
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    return entry
