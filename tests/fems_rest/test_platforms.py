"""An entry loads only the platforms it has entities on."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import async_get_platforms

from custom_components.energy_flex.const import DOMAIN
from simulators.fems_rest import FemsRestSimulator

from .conftest import setup_fems_entry


def _platforms(hass: HomeAssistant) -> set[str]:
    return {platform.domain for platform in async_get_platforms(hass, DOMAIN)}


async def test_read_only_device_loads_sensors_only(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """Without control there are no buttons, numbers or binary sensors to load."""
    entry = await setup_fems_entry(hass, fems, write=False)
    assert entry.state is ConfigEntryState.LOADED
    assert _platforms(hass) == {Platform.SENSOR}
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert _platforms(hass) == set()


async def test_controllable_device_loads_control_platforms(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """With control: the setpoint numbers, release button and control_active, too."""
    entry = await setup_fems_entry(hass, fems, write=True)
    assert _platforms(hass) == {
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.NUMBER,
        Platform.SENSOR,
    }
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert _platforms(hass) == set()
