"""The one base entity every platform builds on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
)
from .device import EnergyFlexDevice

if TYPE_CHECKING:
    from .control import SetpointController


def device_has(
    coordinator: EnergyFlexCoordinator[Any],
    device: EnergyFlexDevice,
    description: EntityDescription,
) -> bool:
    """Whether to create the entity: the device has the value at all (peblar's `has_fn`).

    Judged once, on the first refresh's data, when the platforms are set up: a value absent
    from what this device answers (a channel, register, status key or field it does not
    have) gets no entity. A value that is merely undefined now (null, 0xFFFF, NaN) is
    present: its entity exists and shows unknown. A device that did not answer yet gets
    every entity, since nothing is known about it.
    """
    has_fn: Callable[[Any], bool] | None = getattr(description, "has_fn", None)
    data = device.data(coordinator.data)
    return has_fn is None or data is None or has_fn(data)


@callback
def async_add_device_entities(
    entry: EnergyFlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[EnergyFlexDevice], Iterable[Entity]],
) -> None:
    """Add `build(device)` for every device of the entry, now and for devices added later.

    Devices that appear while the entry is loaded (an EV site's new charging station)
    get their entities without a reload.
    """
    runtime = entry.runtime_data

    @callback
    def add(devices: list[EnergyFlexDevice]) -> None:
        async_add_entities([entity for device in devices for entity in build(device)])

    add(runtime.devices)
    entry.async_on_unload(runtime.async_listen_new_devices(add))


class EnergyFlexEntity(CoordinatorEntity[EnergyFlexCoordinator[Any]]):
    """An entity of one device: named by translation key, identified by the device."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: EnergyFlexCoordinator[Any],
        device: EnergyFlexDevice,
        description: EntityDescription,
    ) -> None:
        """Bind the entity to its device and description."""
        super().__init__(coordinator)
        self.entity_description = description
        self._device = device
        self._attr_unique_id = f"{device.identity}_{description.key}"
        self._attr_device_info = device.info
        # What `_shown()` gave at the last write (None: never written). Set here, not at
        # the first write: a late attribute costs every entity a full instance dict.
        self._written: object = None
        # What `_shown()` gave for the write under way, so it is computed once per poll.
        self._shown_for_write: object = None

    @property
    def device_data(self) -> Any:
        """This device's part of the last poll."""
        return self._device.data(self.coordinator.data)

    @property
    def available(self) -> bool:
        """Unavailable while the device does not answer or is offline."""
        data = self.device_data
        return super().available and data is not None and self._device.online(data)

    # --- write state only when what the entity shows changed ---------------------------
    # Most values of a poll equal the last one's; computing and writing their state again
    # would cost the event loop and fire state events for nothing.

    def _shown(self) -> object:
        """Everything the state machine holds for this entity that a poll can change.

        Platforms may return something cheaper that changes exactly when this does.
        """
        if not self.available:  # then Home Assistant reads nothing else either
            return False
        return (
            self.state,
            self.capability_attributes,
            self.state_attributes,
            self.extra_state_attributes,
        )

    @callback
    def _async_write_ha_state(self) -> None:
        """Every write (ours or Home Assistant's own) remembers what it wrote."""
        shown = self._shown_for_write
        self._written = self._shown() if shown is None else shown
        super()._async_write_ha_state()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the new poll's state unless the entity would show the same as before."""
        if (shown := self._shown()) != self._written:
            self._shown_for_write = shown
            try:
                self.async_write_ha_state()
            finally:
                self._shown_for_write = None


class EnergyFlexControlEntity(EnergyFlexEntity):
    """An entity that shows or changes what the device's controller holds."""

    def __init__(
        self,
        coordinator: EnergyFlexCoordinator[Any],
        device: EnergyFlexDevice,
        description: EntityDescription,
        controller: SetpointController,
    ) -> None:
        """Also follow the controller, which changes between polls."""
        super().__init__(coordinator, device, description)
        self.controller = controller

    async def async_added_to_hass(self) -> None:
        """Write state whenever the held setpoints change."""
        await super().async_added_to_hass()
        self.async_on_remove(self.controller.async_add_listener(self.async_write_ha_state))
