"""PowerFlex action handlers: `set_site_limit`, `set_target_peak_power`, `get_target_peak_power`.

Each takes `device_id`: one device id, the site's (not a station's). Values are checked
before anything is sent; a refused value writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from ...const import (
    ATTR_DEVICE_ID,
    ATTR_DURATION,
    ATTR_ENABLED,
    ATTR_MAX_LOAD,
    ATTR_MONTHS,
    ATTR_UNIT,
    CONNECTION_POWERFLEX,
    DOMAIN,
    SERVICE_GET_TARGET_PEAK_POWER,
    SERVICE_SET_SITE_LIMIT,
    SERVICE_SET_TARGET_PEAK_POWER,
)
from ...targets import loaded_entry
from .control import PowerFlexSite


def _site(call: ServiceCall) -> PowerFlexSite:
    """The loaded PowerFlex site whose device the call names."""
    hass = call.hass
    device = dr.async_get(hass).async_get(call.data[ATTR_DEVICE_ID])
    if (
        device is not None
        and (entry := loaded_entry(hass, device, CONNECTION_POWERFLEX)) is not None
    ):
        site = entry.runtime_data.vendor_data
        if isinstance(site, PowerFlexSite) and (DOMAIN, site.identity) in device.identifiers:
            return site
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_powerflex_site")


async def _async_set_site_limit(call: ServiceCall) -> None:
    await _site(call).async_set_site_limit(
        call.data[ATTR_MAX_LOAD],
        call.data[ATTR_UNIT],
        call.data[ATTR_ENABLED],
        call.data.get(ATTR_DURATION),
    )


async def _async_set_target_peak_power(call: ServiceCall) -> ServiceResponse:
    months = await _site(call).async_set_target_peak_power(call.data[ATTR_MONTHS])
    return {"months": dict(months)}


async def _async_get_target_peak_power(call: ServiceCall) -> ServiceResponse:
    months = await _site(call).async_get_target_peak_power()
    return {"months": dict(months)}


HANDLERS: Final[Mapping[str, Callable[[ServiceCall], Awaitable[ServiceResponse]]]] = {
    SERVICE_SET_SITE_LIMIT: _async_set_site_limit,
    SERVICE_SET_TARGET_PEAK_POWER: _async_set_target_peak_power,
    SERVICE_GET_TARGET_PEAK_POWER: _async_get_target_peak_power,
}
