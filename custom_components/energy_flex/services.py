"""Actions: `set_battery_power` and `release_control` for targeted devices."""

from __future__ import annotations

from datetime import timedelta

import probatio
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .const import (
    ATTR_DURATION,
    ATTR_POWER,
    DOMAIN,
    SERVICE_RELEASE_CONTROL,
    SERVICE_SET_BATTERY_POWER,
)
from .control import SetpointController, SetpointKind
from .coordinator import EnergyFlexConfigEntry
from .vendors.powerflex.services import async_setup_powerflex_services

_TARGET = cv.TARGET_SERVICE_FIELDS
SET_BATTERY_POWER_SCHEMA = probatio.Schema(
    {
        **_TARGET,
        probatio.Required(ATTR_POWER): probatio.Coerce(float),
        probatio.Optional(ATTR_DURATION): probatio.All(
            cv.positive_time_period, probatio.Range(min=timedelta(seconds=1))
        ),
    }
)
RELEASE_CONTROL_SCHEMA = probatio.Schema(_TARGET)


def _targeted_controllers(hass: HomeAssistant, call: ServiceCall) -> list[SetpointController]:
    """Every controller of the devices (or their entities) the call targets."""
    device_ids = set(call.data.get("device_id", []))
    entity_registry = er.async_get(hass)
    for entity_id in call.data.get("entity_id", []):
        if (entity := entity_registry.async_get(entity_id)) and entity.device_id:
            device_ids.add(entity.device_id)
    device_registry = dr.async_get(hass)
    controllers: list[SetpointController] = []
    for device_id in device_ids:
        device = device_registry.async_get(device_id)
        if device is None:
            continue
        for entry_id in device.config_entries:
            entry: EnergyFlexConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
            if entry is None or entry.domain != DOMAIN:
                continue
            if entry.state is not ConfigEntryState.LOADED:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="entry_not_loaded",
                    translation_placeholders={"title": entry.title},
                )
            controllers.extend(
                handle.controller
                for handle in entry.runtime_data.devices
                if handle.controller is not None and (DOMAIN, handle.identity) in device.identifiers
            )
    if not controllers:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_controllable_target"
        )
    return controllers


async def _async_set_battery_power(call: ServiceCall) -> None:
    controllers = _targeted_controllers(call.hass, call)
    power: float = call.data[ATTR_POWER]
    # Validate every target before writing to any, so a bad value writes nothing.
    for controller in controllers:
        controller.validate(SetpointKind.BATTERY_POWER, power)
    for controller in controllers:
        await controller.async_set(SetpointKind.BATTERY_POWER, power, call.data.get(ATTR_DURATION))


async def _async_release_control(call: ServiceCall) -> None:
    for controller in _targeted_controllers(call.hass, call):
        await controller.async_release()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_BATTERY_POWER, _async_set_battery_power, SET_BATTERY_POWER_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RELEASE_CONTROL, _async_release_control, RELEASE_CONTROL_SCHEMA
    )
    async_setup_powerflex_services(hass)
