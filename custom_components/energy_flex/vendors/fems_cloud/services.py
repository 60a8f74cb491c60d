"""FEMS cloud action handlers: history queries, the XLSX export, the edge configuration and changes.

Each action takes `device_id`: one edge's device. Responses are what the backend
answers (`{"timestamps", "data"}`, `{"data"}`, the configuration). Every request is
sent in Home Assistant's own IANA time zone, and a history resolution is always sent:
the backend's automatic one has quirks (a calendar month gives 5-minute periods).

The configuration changes (`update_component`, `create_component`, `delete_component`,
`set_channel_value`) are refused, with nothing sent, unless the entry's option
`allow_configuration_changes` is on; when they run they are logged with the component id
(property names only: values can be secrets).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, cast

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr

from ...api.errors import ApiAuthError, ApiConnectionError, ApiDeviceError, EnergyFlexApiError
from ...api.fems_cloud import (
    ComponentProperty,
    FemsCloudErrorReason,
    FemsCloudResolution,
    FemsCloudTimeseries,
    ResolutionUnit,
)
from ...const import (
    CONNECTION_FEMS_CLOUD,
    DOMAIN,
    SERVICE_CREATE_COMPONENT,
    SERVICE_DELETE_COMPONENT,
    SERVICE_EXPORT_HISTORY,
    SERVICE_GET_EDGE_CONFIG,
    SERVICE_QUERY_ENERGY,
    SERVICE_QUERY_HISTORY,
    SERVICE_SET_CHANNEL_VALUE,
    SERVICE_UPDATE_COMPONENT,
)
from ...coordinator import EnergyFlexConfigEntry
from ...targets import loaded_entry
from .actions import (
    ATTR_CHANNEL_ID,
    ATTR_CHANNELS,
    ATTR_COMPONENT_ID,
    ATTR_DEVICE_ID,
    ATTR_FACTORY_PID,
    ATTR_FILENAME,
    ATTR_FROM_DATE,
    ATTR_PROPERTIES,
    ATTR_RESOLUTION,
    ATTR_TO_DATE,
    ATTR_VALUE,
)
from .setup import FemsCloudEntryData

_LOGGER = logging.getLogger(__name__)

# Exports go here, inside Home Assistant's configuration folder. Not under `www/`: that
# folder is served at /local/ without a login, and this is a household's energy data.
EXPORT_FOLDER: Final = ("energy_flex", "exports")
_MAX_FILENAME: Final = 120
# Beyond this the backend refuses or takes minutes; a clear error is better.
_MAX_RANGE_DAYS: Final = 366 * 3
_MAX_CHANNELS: Final = 100

# Automatic resolution when none is given: the backend's table (notes §3.6) without its
# quirk (a range counted in whole days, not in the day part of a period).
_AUTO_RESOLUTION: Final = (
    (1, FemsCloudResolution(5, ResolutionUnit.MINUTES)),
    (2, FemsCloudResolution(10, ResolutionUnit.MINUTES)),
    (3, FemsCloudResolution(15, ResolutionUnit.MINUTES)),
    (4, FemsCloudResolution(20, ResolutionUnit.MINUTES)),
    (6, FemsCloudResolution(30, ResolutionUnit.MINUTES)),
    (12, FemsCloudResolution(1, ResolutionUnit.HOURS)),
    (24, FemsCloudResolution(2, ResolutionUnit.HOURS)),
    (48, FemsCloudResolution(4, ResolutionUnit.HOURS)),
    (96, FemsCloudResolution(8, ResolutionUnit.HOURS)),
    (144, FemsCloudResolution(12, ResolutionUnit.HOURS)),
)
_DAILY: Final = FemsCloudResolution(1, ResolutionUnit.DAYS)

# The least edge role each request needs (notes §3.5), for the role-error message.
_REQUIRED_ROLE: Final = {
    SERVICE_UPDATE_COMPONENT: "OWNER",
    SERVICE_CREATE_COMPONENT: "INSTALLER",
    SERVICE_DELETE_COMPONENT: "INSTALLER",
    SERVICE_SET_CHANNEL_VALUE: "ADMIN",
}

type _Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]


@dataclass(frozen=True, slots=True)
class _Target:
    """The edge an action is for, and its loaded entry."""

    entry: EnergyFlexConfigEntry
    cloud: FemsCloudEntryData
    edge_id: str


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _target(call: ServiceCall) -> _Target:
    """The loaded FEMS cloud entry and edge of the call's `device_id`."""
    hass = call.hass
    device = dr.async_get(hass).async_get(call.data[ATTR_DEVICE_ID])
    if (
        device is not None
        and (entry := loaded_entry(hass, device, CONNECTION_FEMS_CLOUD)) is not None
    ):
        # A loaded fems_cloud entry always carries its cloud data.
        cloud = cast(FemsCloudEntryData, entry.runtime_data.vendor_data)
        for edge_id in cloud.edge_ids:
            if (DOMAIN, edge_id) in device.identifiers:
                return _Target(entry, cloud, edge_id)
    raise _invalid("not_a_fems_cloud_edge")


def _map_error(call: ServiceCall, target: _Target, err: EnergyFlexApiError) -> HomeAssistantError:
    """A failed request, as the user should read it."""
    if isinstance(err, ApiAuthError):
        target.entry.async_start_reauth(call.hass)
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="invalid_auth")
    if isinstance(err, ApiConnectionError):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="cannot_connect")
    if isinstance(err, ApiDeviceError):
        if err.reason == FemsCloudErrorReason.ROLE_DENIED:
            return HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cloud_role_denied",
                translation_placeholders={
                    "edge_id": target.edge_id,
                    "action": call.service,
                    "role": _REQUIRED_ROLE.get(call.service, "GUEST"),
                },
            )
        return HomeAssistantError(translation_domain=DOMAIN, translation_key=err.reason)
    return HomeAssistantError(translation_domain=DOMAIN, translation_key="invalid_response")


async def _async_send[T](call: ServiceCall, target: _Target, request: Awaitable[T]) -> T:
    try:
        return await request
    except EnergyFlexApiError as err:
        raise _map_error(call, target, err) from err


# --- checks before anything is sent ---------------------------------------------------------


def _date_range(call: ServiceCall) -> tuple[date, date]:
    from_date: date = call.data[ATTR_FROM_DATE]
    to_date: date = call.data[ATTR_TO_DATE]
    if to_date < from_date:
        raise _invalid("invalid_date_range")
    if (to_date - from_date).days >= _MAX_RANGE_DAYS:
        raise _invalid("date_range_too_long", max_days=str(_MAX_RANGE_DAYS))
    return from_date, to_date


def _channels(call: ServiceCall) -> list[str]:
    channels: list[str] = []
    for raw in call.data[ATTR_CHANNELS]:
        channel = raw.strip()
        component, sep, channel_id = channel.partition("/")
        if not sep or not component or not channel_id or "/" in channel_id:
            raise _invalid("invalid_channel_address", channel=channel[:100])
        if channel not in channels:
            channels.append(channel)
    if not channels or len(channels) > _MAX_CHANNELS:
        raise _invalid("invalid_channel_count", max=str(_MAX_CHANNELS))
    return channels


def _resolution(call: ServiceCall, from_date: date, to_date: date) -> FemsCloudResolution:
    """The given resolution in whole minutes, hours or days; else one fitting the range."""
    given: timedelta | None = call.data.get(ATTR_RESOLUTION)
    if given is None:
        days = (to_date - from_date).days + 1
        return next(
            (resolution for max_days, resolution in _AUTO_RESOLUTION if days <= max_days), _DAILY
        )
    seconds = given.total_seconds()
    for unit, length in (
        (ResolutionUnit.DAYS, 86400),
        (ResolutionUnit.HOURS, 3600),
        (ResolutionUnit.MINUTES, 60),
    ):
        if seconds >= length and seconds % length == 0:
            return FemsCloudResolution(int(seconds // length), unit)
    raise _invalid("invalid_resolution")


def _timeseries_response(series: FemsCloudTimeseries) -> dict[str, Any]:
    """The backend's shape: ISO-8601 UTC timestamps and one aligned list per channel."""
    return {
        "timestamps": [instant.strftime("%Y-%m-%dT%H:%M:%SZ") for instant in series.timestamps],
        "data": {channel: list(values) for channel, values in series.data.items()},
    }


def _require_changes_allowed(target: _Target) -> None:
    if not target.cloud.allow_configuration_changes:
        raise _invalid("configuration_changes_disabled", title=target.entry.title)


def _name(call: ServiceCall, field: str) -> str:
    value = str(call.data[field]).strip()
    if not value or len(value) > 200:
        raise _invalid("invalid_name", field=field)
    return value


def _properties(call: ServiceCall) -> list[ComponentProperty]:
    """`{name: value}` from the action, as the backend's `[{"name", "value"}]`."""
    properties: Mapping[str, Any] = call.data[ATTR_PROPERTIES]
    return [{"name": str(name), "value": value} for name, value in properties.items()]


def _export_path(hass: HomeAssistant, name: str) -> Path:
    """A file directly inside the export folder; anything else is refused."""
    if (
        not name
        or len(name) > _MAX_FILENAME
        or name.startswith(".")
        or Path(name).name != name
        or any(char in name for char in '/\\:*?"<>|\0')
    ):
        raise _invalid("invalid_filename")
    if not name.lower().endswith(".xlsx"):
        name = f"{name}.xlsx"
    folder = Path(hass.config.path(*EXPORT_FOLDER))
    return folder / name


def _write_export(path: Path, content: bytes) -> None:
    """Write atomically. Replacing (not opening) the target never follows a link there."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".export-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# --- the actions ----------------------------------------------------------------------------


async def _async_query_history(call: ServiceCall) -> ServiceResponse:
    target = _target(call)
    from_date, to_date = _date_range(call)
    channels = _channels(call)
    resolution = _resolution(call, from_date, to_date)
    series = await _async_send(
        call,
        target,
        target.cloud.client.query_historic_timeseries_data(
            target.edge_id,
            from_date,
            to_date,
            channels=channels,
            resolution=resolution,
            timezone=call.hass.config.time_zone,
        ),
    )
    return _timeseries_response(series)


async def _async_query_energy(call: ServiceCall) -> ServiceResponse:
    target = _target(call)
    from_date, to_date = _date_range(call)
    channels = _channels(call)
    client, timezone = target.cloud.client, call.hass.config.time_zone
    if ATTR_RESOLUTION in call.data:
        series = await _async_send(
            call,
            target,
            client.query_historic_timeseries_energy_per_period(
                target.edge_id,
                from_date,
                to_date,
                channels=channels,
                resolution=_resolution(call, from_date, to_date),
                timezone=timezone,
            ),
        )
        return _timeseries_response(series)
    totals = await _async_send(
        call,
        target,
        client.query_historic_timeseries_energy(
            target.edge_id, from_date, to_date, channels=channels, timezone=timezone
        ),
    )
    return {"data": dict(totals)}


async def _async_export_history(call: ServiceCall) -> ServiceResponse:
    target = _target(call)
    from_date, to_date = _date_range(call)
    name = call.data.get(ATTR_FILENAME) or (
        f"{target.edge_id}_{from_date.isoformat()}_{to_date.isoformat()}.xlsx"
    )
    path = _export_path(call.hass, name.strip())
    content = await _async_send(
        call,
        target,
        target.cloud.client.query_historic_timeseries_export_xlsx(
            target.edge_id, from_date, to_date, call.hass.config.time_zone
        ),
    )
    try:
        await call.hass.async_add_executor_job(_write_export, path, content)
    except OSError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="export_not_written",
            translation_placeholders={"path": str(path)},
        ) from err
    _LOGGER.debug("Exported %d bytes of FEMS history to %s", len(content), path)
    return {"path": str(path), "size": len(content)}


async def _async_get_edge_config(call: ServiceCall) -> ServiceResponse:
    target = _target(call)
    config = await _async_send(call, target, target.cloud.client.get_edge_config(target.edge_id))
    return dict(config.raw)


async def _async_update_component(call: ServiceCall) -> None:
    target = _target(call)
    _require_changes_allowed(target)
    component_id = _name(call, ATTR_COMPONENT_ID)
    properties = _properties(call)
    if not properties:
        raise _invalid("no_properties")
    _log_change("Updating component", component_id, target, properties)
    await _async_send(
        call,
        target,
        target.cloud.client.update_component_config(target.edge_id, component_id, properties),
    )


async def _async_create_component(call: ServiceCall) -> None:
    target = _target(call)
    _require_changes_allowed(target)
    factory_pid = _name(call, ATTR_FACTORY_PID)
    properties = _properties(call)
    component_id = next(
        (str(prop["value"]) for prop in properties if prop["name"] == "id"), "(default id)"
    )
    _log_change(f"Creating a {factory_pid} component", component_id, target, properties)
    await _async_send(
        call,
        target,
        target.cloud.client.create_component_config(target.edge_id, factory_pid, properties),
    )


async def _async_delete_component(call: ServiceCall) -> None:
    target = _target(call)
    _require_changes_allowed(target)
    component_id = _name(call, ATTR_COMPONENT_ID)
    _log_change("Deleting component", component_id, target, [])
    await _async_send(
        call, target, target.cloud.client.delete_component_config(target.edge_id, component_id)
    )


async def _async_set_channel_value(call: ServiceCall) -> None:
    target = _target(call)
    _require_changes_allowed(target)
    component_id = _name(call, ATTR_COMPONENT_ID)
    channel_id = _name(call, ATTR_CHANNEL_ID)
    _LOGGER.info(
        "Setting channel %s/%s on FEMS %s (action set_channel_value)",
        component_id,
        channel_id,
        target.edge_id,
    )
    await _async_send(
        call,
        target,
        target.cloud.client.set_channel_value(
            target.edge_id, component_id, channel_id, call.data[ATTR_VALUE]
        ),
    )


def _log_change(
    what: str, component_id: str, target: _Target, properties: Sequence[ComponentProperty]
) -> None:
    names = ", ".join(prop["name"] for prop in properties) or "none"
    _LOGGER.info("%s %s on FEMS %s (properties: %s)", what, component_id, target.edge_id, names)


HANDLERS: Final[Mapping[str, _Handler]] = {
    SERVICE_QUERY_HISTORY: _async_query_history,
    SERVICE_QUERY_ENERGY: _async_query_energy,
    SERVICE_EXPORT_HISTORY: _async_export_history,
    SERVICE_GET_EDGE_CONFIG: _async_get_edge_config,
    SERVICE_UPDATE_COMPONENT: _async_update_component,
    SERVICE_CREATE_COMPONENT: _async_create_component,
    SERVICE_DELETE_COMPONENT: _async_delete_component,
    SERVICE_SET_CHANNEL_VALUE: _async_set_channel_value,
}
