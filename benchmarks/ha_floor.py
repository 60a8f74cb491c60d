"""Home Assistant's own share of a poll: the floor under every configuration's figures.

A stand-in integration (`ha_floor`, registered with the test plugin's mock loader) whose
devices each show 19 sensors, registered with unique ids and bound to a device as Energy
Flex's are, on one `DataUpdateCoordinator` per device. Its update does no I/O and no
parsing: it changes as many values per poll as a poll of the simulated FEMS does (7.4 on
average), and each entity writes its state only when its value changed. The sensors have
the classes and units of the FEMS values (power in W, energy in Wh shown in kWh, …).

What this costs per poll (event-loop CPU) and per device (memory) is what Home Assistant
itself spends to show such a device: the coordinator, its listeners, the state writes and
the registries. No integration that shows the same entities can go below it, so the
difference between a configuration and this floor is what that configuration adds.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from homeassistant.components.sensor import SensorEntity
from homeassistant.config_entries import HANDLERS, ConfigEntry, ConfigFlow
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

DOMAIN = "ha_floor"
_LOGGER = logging.getLogger(__name__)

# (device class, unit, state class, suggested unit) of the 19 sensors, in the order their
# values change: the first 7 change every poll, the 8th on two polls of five (7.4 changes
# per poll, as the FEMS simulator's), the rest keep their value.
SENSORS: tuple[tuple[str | None, str | None, str | None, str | None], ...] = (
    *(("power", "W", "measurement", None),) * 5,
    *(("energy", "Wh", "total_increasing", "kWh"),) * 6,
    ("power", "W", "measurement", None),
    ("power", "W", "measurement", None),
    ("battery", "%", "measurement", None),
    ("energy_storage", "Wh", "measurement", "kWh"),
    ("energy_storage", "Wh", "measurement", "kWh"),
    ("power", "W", "measurement", None),
    (None, None, None, None),
    (None, None, None, None),
)
_EVERY_POLL = 7
_SOMETIMES = 7  # index of the value that changes on two polls of five
_SOMETIMES_POLLS = frozenset({0, 2})


class FloorCoordinator(DataUpdateCoordinator[tuple[float, ...]]):
    """One device's values; each refresh changes 7 or 8 of them, with no I/O."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=10),
        )
        self._refreshes = 0
        self._sometimes = 0

    async def _async_update_data(self) -> tuple[float, ...]:
        self._refreshes += 1
        if self._refreshes % 5 in _SOMETIMES_POLLS:
            self._sometimes += 1
        return tuple(
            float(self._refreshes + index)
            if index < _EVERY_POLL
            else float(self._sometimes if index == _SOMETIMES else index)
            for index in range(len(SENSORS))
        )


class FloorSensor(CoordinatorEntity[FloorCoordinator], SensorEntity):
    """One value of the device; writes its state only when the value changed."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: FloorCoordinator, entry: ConfigEntry, index: int) -> None:
        super().__init__(coordinator)
        device_class, unit, state_class, suggested_unit = SENSORS[index]
        self._index = index
        self._attr_name = f"Value {index}"
        self._attr_unique_id = f"{entry.entry_id}_{index}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)}, name=entry.title, manufacturer="Floor"
        )
        self._attr_device_class = device_class  # type: ignore[assignment]
        self._attr_native_unit_of_measurement = unit
        self._attr_state_class = state_class  # type: ignore[assignment]
        self._attr_suggested_unit_of_measurement = suggested_unit
        self._attr_native_value = coordinator.data[index]

    @callback
    def _handle_coordinator_update(self) -> None:
        value = self.coordinator.data[self._index]
        if value != self._attr_native_value:
            self._attr_native_value = value
            self.async_write_ha_state()


class FloorFlow(ConfigFlow):
    """The flow handler Home Assistant looks up for every entry; no step is ever run."""


async def _async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    coordinator = FloorCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, ["sensor"])
    return True


async def _async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    return await hass.config_entries.async_unload_platforms(entry, ["sensor"])


async def _async_setup_sensors(
    _hass: HomeAssistant, entry: ConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    async_add_entities(FloorSensor(entry.runtime_data, entry, i) for i in range(len(SENSORS)))


_counter = itertools.count()


def register(hass: HomeAssistant) -> None:
    """Make `ha_floor` loadable in `hass` (once per instance)."""
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockModule,
        MockPlatform,
        mock_integration,
        mock_platform,
    )

    if hass.data.get(DOMAIN):
        return
    hass.data[DOMAIN] = True
    mock_integration(
        hass,
        MockModule(
            DOMAIN,
            async_setup_entry=_async_setup_entry,
            async_unload_entry=_async_unload_entry,
        ),
    )
    mock_platform(hass, f"{DOMAIN}.sensor", MockPlatform(async_setup_entry=_async_setup_sensors))
    # Entries are added directly, never by a flow, but setup wants a flow handler.
    mock_platform(hass, f"{DOMAIN}.config_flow")
    HANDLERS.setdefault(DOMAIN, FloorFlow)


async def async_add_devices(hass: HomeAssistant, devices: int, tag: str) -> list[ConfigEntry]:
    """Set up `devices` floor devices (one config entry each); their entries, in order."""
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        MockConfigEntry,
    )

    register(hass)
    entries: list[ConfigEntry] = []
    for _ in range(devices):
        unique_id = f"{tag}floor{next(_counter):05d}"
        entry = MockConfigEntry(domain=DOMAIN, unique_id=unique_id, title=unique_id)
        entry.add_to_hass(hass)
        if not await hass.config_entries.async_setup(entry.entry_id):
            raise RuntimeError("the Home Assistant floor did not set up")
        entries.append(entry)
    return entries


def entity_ids(hass: HomeAssistant, entries: Sequence[ConfigEntry]) -> list[list[str]]:
    """Per entry, its sensors' entity ids."""
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    registry = er.async_get(hass)
    return [
        [e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)]
        for entry in entries
    ]


def refresh_of(entry: ConfigEntry) -> Any:
    """The poll of one floor device."""
    coordinator: FloorCoordinator = entry.runtime_data
    return coordinator.async_refresh
