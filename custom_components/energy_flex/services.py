"""Actions for targeted devices: `set_battery_power`, `release_control`, `reach_state_of_charge`."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

import probatio
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.importlib import async_import_module
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType

from .const import (
    ATTR_BY,
    ATTR_DURATION,
    ATTR_MAX_POWER,
    ATTR_POWER,
    ATTR_STATE_OF_CHARGE,
    CONNECTION_FEMS_CLOUD,
    CONNECTION_POWERFLEX,
    DOMAIN,
    SERVICE_REACH_STATE_OF_CHARGE,
    SERVICE_RELEASE_CONTROL,
    SERVICE_SET_BATTERY_POWER,
    SetpointKind,
)
from .device import EnergyFlexDevice
from .targets import loaded_entry
from .vendors.fems_cloud.actions import ACTIONS as FEMS_CLOUD_ACTIONS
from .vendors.powerflex.actions import ACTIONS as POWERFLEX_ACTIONS

if TYPE_CHECKING:
    from .control import SetpointController
    from .planner import SocPlanner

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
# Values are checked in the action, so that a bad one gets a translated error.
REACH_STATE_OF_CHARGE_SCHEMA = probatio.Schema(
    {
        **_TARGET,
        probatio.Required(ATTR_STATE_OF_CHARGE): probatio.Coerce(float),
        # A date and time (without a zone: Home Assistant's), or a time of day.
        probatio.Required(ATTR_BY): probatio.Any(cv.datetime, cv.time),
        probatio.Optional(ATTR_MAX_POWER): probatio.Coerce(float),
    }
)


def resolve_deadline(by: datetime | time, now: datetime) -> datetime:
    """The deadline in UTC.

    A datetime as given (without a zone: Home Assistant's), or the next occurrence of a
    time of day (a time already past today means tomorrow).
    """
    zone = dt_util.get_default_time_zone()
    if isinstance(by, datetime):
        return dt_util.as_utc(by if by.tzinfo is not None else by.replace(tzinfo=zone))
    today = dt_util.as_local(now).date()
    deadline = datetime.combine(today, by.replace(tzinfo=None), tzinfo=zone)
    if deadline <= now:
        deadline = datetime.combine(today + timedelta(days=1), by.replace(tzinfo=None), zone)
    return dt_util.as_utc(deadline)


def _targeted_devices(hass: HomeAssistant, call: ServiceCall) -> list[tuple[str, EnergyFlexDevice]]:
    """Every Energy Flex device the call targets (directly or by an entity), with its id."""
    device_ids = set(call.data.get("device_id", []))
    entity_registry = er.async_get(hass)
    for entity_id in call.data.get("entity_id", []):
        if (entity := entity_registry.async_get(entity_id)) and entity.device_id:
            device_ids.add(entity.device_id)
    device_registry = dr.async_get(hass)
    targeted: list[tuple[str, EnergyFlexDevice]] = []
    for device_id in device_ids:
        device = device_registry.async_get(device_id)
        if device is None:
            continue
        if (entry := loaded_entry(hass, device)) is None:
            continue
        targeted.extend(
            (device_id, handle)
            for handle in entry.runtime_data.devices
            if (DOMAIN, handle.identity) in device.identifiers
        )
    return targeted


def _targeted_controllers(hass: HomeAssistant, call: ServiceCall) -> list[SetpointController]:
    """Every controller of the devices (or their entities) the call targets."""
    controllers = [
        device.controller
        for _, device in _targeted_devices(hass, call)
        if device.controller is not None
    ]
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


def _targeted_planners(hass: HomeAssistant, call: ServiceCall) -> list[tuple[str, SocPlanner]]:
    """The planner of every targeted battery; any target that cannot be planned refuses."""
    planners: list[tuple[str, SocPlanner]] = []
    for device_id, device in _targeted_devices(hass, call):
        if device.battery is None:
            raise _refusal("plan_not_a_battery", name=device.name)
        if device.planner is None:
            raise _refusal("plan_read_only", name=device.name)
        planners.append((device_id, device.planner))
    if not planners:
        raise _refusal("no_controllable_target")
    return planners


async def _async_reach_state_of_charge(call: ServiceCall) -> ServiceResponse:
    target: float = call.data[ATTR_STATE_OF_CHARGE]
    if not (math.isfinite(target) and 0 <= target <= 100):
        raise _refusal("plan_target_out_of_range", target=f"{target:g}")
    max_power: float | None = call.data.get(ATTR_MAX_POWER)
    if max_power is not None and not (math.isfinite(max_power) and max_power >= 0):
        raise _refusal("plan_max_power_invalid", max_power=f"{max_power:g}")
    now = dt_util.utcnow()
    deadline = resolve_deadline(call.data[ATTR_BY], now)
    if deadline <= now:
        shown = dt_util.as_local(deadline).replace(microsecond=0).isoformat(" ")
        raise _refusal("plan_deadline_passed", deadline=shown)
    # Check every target before sending to any, so a refusal sends nothing at all.
    prepared = [
        (device_id, planner, planner.prepare(target, deadline, max_power))
        for device_id, planner in _targeted_planners(call.hass, call)
    ]
    plans: JsonObjectType = {
        device_id: await planner.async_start(start) for device_id, planner, start in prepared
    }
    return {"plans": plans} if call.return_response else None


def _refusal(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_BATTERY_POWER, _async_set_battery_power, SET_BATTERY_POWER_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RELEASE_CONTROL, _async_release_control, RELEASE_CONTROL_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_REACH_STATE_OF_CHARGE,
        _async_reach_state_of_charge,
        REACH_STATE_OF_CHARGE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    for connection, actions in (
        (CONNECTION_FEMS_CLOUD, FEMS_CLOUD_ACTIONS),
        (CONNECTION_POWERFLEX, POWERFLEX_ACTIONS),
    ):
        handler = _lazy_handler(f"{__package__}.vendors.{connection}.services")
        for name, schema, supports_response in actions:
            hass.services.async_register(
                DOMAIN, name, handler, schema=schema, supports_response=supports_response
            )


def _lazy_handler(
    module: str,
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """A handler that loads a connection's action handlers at the first call.

    Until an entry of that connection exists no call can succeed, so its handlers (and
    their client) need not be in memory. The first call imports them in Home Assistant's
    import executor; later calls find them loaded.
    """

    async def handle(call: ServiceCall) -> ServiceResponse:
        handlers = (await async_import_module(call.hass, module)).HANDLERS
        return cast(ServiceResponse, await handlers[call.service](call))

    return handle
