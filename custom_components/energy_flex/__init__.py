"""Energy Flex: home batteries and EV-charging sites from several vendors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.importlib import async_import_module
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_CONNECTION,
    DOMAIN,
    KEY_CONTROL_ACTIVE,
    KEY_CONTROL_PLAN,
    KEY_RELEASE_CONTROL,
)
from .coordinator import EnergyFlexConfigEntry, EnergyFlexRuntime
from .entity import device_has
from .services import async_setup_services
from .vendors import async_get_vendor

if TYPE_CHECKING:
    from .planner import SocPlanner

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
    vendor = await async_get_vendor(hass, entry.data[CONF_CONNECTION])
    entry.runtime_data = await vendor.async_create_runtime(hass, entry)
    await _async_attach_planners(hass, entry)
    _remove_stale_entities(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, _platforms(entry.runtime_data))
    for device in entry.runtime_data.devices:
        if device.controller is not None:
            await device.controller.async_restore()
    return True


def _platforms(runtime: EnergyFlexRuntime) -> list[Platform]:
    """The platforms the entry has entities on: a read-only device needs no control ones.

    Home Assistant then loads (and keeps in memory) only the entity components in use.
    Decided from the entry's descriptions and controllers, so devices that appear later
    (an EV site's new station, never controlled itself) find their platforms loaded.
    """
    control = any(device.controller is not None for device in runtime.devices)
    used = {
        Platform.BINARY_SENSOR: control or bool(runtime.binary_sensors),
        Platform.BUTTON: control,
        Platform.NUMBER: bool(runtime.setting_numbers) or (control and bool(runtime.numbers)),
        Platform.SELECT: control and bool(runtime.selects),
        # `control_plan` is a sensor of every controlled device.
        Platform.SENSOR: control or bool(runtime.sensors),
        Platform.SWITCH: bool(runtime.switches),
    }
    return [platform for platform in PLATFORMS if used[platform]]


async def _async_attach_planners(hass: HomeAssistant, entry: EnergyFlexConfigEntry) -> None:
    """Every battery Energy Flex controls can be planned (`reach_state_of_charge`).

    The planner's code loads (in the import executor) only with a controlled battery: an
    installation that only reads its devices never needs it.
    """
    coordinator = entry.runtime_data.coordinator
    batteries = [
        (device, device.controller)
        for device in entry.runtime_data.devices
        if device.controller is not None and device.battery is not None
    ]
    if not batteries:
        return
    planner: type[SocPlanner] = (
        await async_import_module(hass, f"{__package__}.planner")
    ).SocPlanner
    for device, controller in batteries:
        device.planner = planner(
            hass,
            entry,
            coordinator=coordinator,
            controller=controller,
            facts=device.battery_facts,
            name=device.name,
        )


def _remove_stale_entities(hass: HomeAssistant, entry: EnergyFlexConfigEntry) -> None:
    """Drop registry entries of entities the entry's devices no longer offer.

    Control entities of devices that can no longer be controlled (reconfigured from
    read-write to read-only) and sensors of values a device does not have at all (earlier
    versions created them for every device, and they stayed unknown forever) would
    otherwise be left behind as "no longer provided" leftovers.
    """
    runtime = entry.runtime_data
    control = {
        (Platform.BINARY_SENSOR, KEY_CONTROL_ACTIVE),
        (Platform.BUTTON, KEY_RELEASE_CONTROL),
        (Platform.SENSOR, KEY_CONTROL_PLAN),
        *((Platform.NUMBER, description.key) for description in runtime.numbers),
        *((Platform.SELECT, description.key) for description in runtime.selects),
    }
    values = (
        *((Platform.SENSOR, description) for description in runtime.sensors),
        *((Platform.BINARY_SENSOR, description) for description in runtime.binary_sensors),
    )
    stale: set[tuple[str, str]] = set()
    for device in runtime.devices:
        if device.controller is None:
            stale.update((platform, f"{device.identity}_{key}") for platform, key in control)
        stale.update(
            (platform, f"{device.identity}_{description.key}")
            for platform, description in values
            if not device_has(runtime.coordinator, device, description)
        )
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if (entity.domain, entity.unique_id) in stale:
            registry.async_remove(entity.entity_id)


async def async_unload_entry(hass: HomeAssistant, entry: EnergyFlexConfigEntry) -> bool:
    """Hand control back, stop repeating, then remove the entities."""
    for device in entry.runtime_data.devices:
        if device.controller is not None:
            await device.controller.async_unload()
    return await hass.config_entries.async_unload_platforms(entry, _platforms(entry.runtime_data))


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EnergyFlexConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing only devices the entry no longer has."""
    current = {(DOMAIN, handle.identity) for handle in entry.runtime_data.devices}
    return not current & device.identifiers
