"""FENECON FEMS over local REST/JSON: the config form, identity and entry runtime."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import probatio
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo

from ..api.errors import ApiWriteRejectedError, WriteRejectedReason
from ..api.fems_rest import (
    DEFAULT_READ_PASSWORD,
    DEFAULT_READ_PORT,
    DEFAULT_WRITE_PORT,
    FemsRestClient,
    FemsRestEndpoint,
)
from ..const import (
    CONF_KEEPALIVE_INTERVAL,
    CONF_WRITE_PASSWORD,
    CONF_WRITE_PORT,
    CONNECTION_FEMS_REST,
    DEFAULT_KEEPALIVE_INTERVAL,
    DOMAIN,
    LOCAL_POLL_INTERVAL,
    MAX_KEEPALIVE_INTERVAL,
    MIN_KEEPALIVE_INTERVAL,
)
from ..coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexDevice,
    EnergyFlexRuntime,
    build_controller,
)
from .base import FlowError, IdentifiedDevice, Vendor
from .fems import FEMS_NUMBERS, FEMS_SENSORS, FemsControlAdapter

_FLOW_ERROR_BY_REASON = {
    WriteRejectedReason.READ_ONLY_API: "write_app_missing",
    WriteRejectedReason.ROLE_TOO_LOW: "write_password_not_owner",
    WriteRejectedReason.NOT_ACCEPTED: "write_rejected",
}

_PORT = probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=65535))
_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)


def _endpoint(data: Mapping[str, Any]) -> FemsRestEndpoint:
    return FemsRestEndpoint(
        host=data[CONF_HOST],
        read_port=data[CONF_PORT],
        read_password=data[CONF_PASSWORD],
        write_port=data.get(CONF_WRITE_PORT, DEFAULT_WRITE_PORT),
        write_password=data.get(CONF_WRITE_PASSWORD) or None,
    )


class FemsRestVendor(Vendor):
    """FEMS local REST/JSON: guest password reads, owner password writes."""

    menu_id: ClassVar[str] = CONNECTION_FEMS_REST
    secret_keys: ClassVar[tuple[str, ...]] = (CONF_PASSWORD, CONF_WRITE_PASSWORD)

    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """Host, read port and password; the write password is optional."""
        return probatio.Schema(
            {
                probatio.Required(
                    CONF_HOST, default=defaults.get(CONF_HOST, probatio.UNDEFINED)
                ): str,
                probatio.Required(
                    CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_READ_PORT)
                ): _PORT,
                probatio.Required(
                    CONF_PASSWORD, default=defaults.get(CONF_PASSWORD, DEFAULT_READ_PASSWORD)
                ): _PASSWORD,
                probatio.Optional(
                    CONF_WRITE_PASSWORD,
                    description={"suggested_value": defaults.get(CONF_WRITE_PASSWORD)},
                ): _PASSWORD,
                probatio.Required(
                    CONF_WRITE_PORT, default=defaults.get(CONF_WRITE_PORT, DEFAULT_WRITE_PORT)
                ): _PORT,
            }
        )

    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Read once; with a write password, also prove owner rights on a write API."""
        client = FemsRestClient(async_get_clientsession(hass), _endpoint(data))
        snapshot = await client.async_get_snapshot()
        if client.can_write:
            try:
                await client.async_check_write_access()
            except ApiWriteRejectedError as err:
                raise FlowError(_FLOW_ERROR_BY_REASON[err.reason]) from err
        if snapshot.hostname:
            return IdentifiedDevice(snapshot.hostname, f"FEMS {snapshot.hostname}")
        # Firmware without `_host/Hostname`: the address is all there is.
        return IdentifiedDevice(
            f"{data[CONF_HOST]}:{data[CONF_PORT]}", f"FEMS {data[CONF_HOST]}", address_based=True
        )

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """How often held setpoints are repeated."""
        return probatio.Schema(
            {
                probatio.Required(
                    CONF_KEEPALIVE_INTERVAL,
                    default=options.get(CONF_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_INTERVAL),
                ): probatio.All(
                    probatio.Coerce(int),
                    probatio.Range(min=MIN_KEEPALIVE_INTERVAL, max=MAX_KEEPALIVE_INTERVAL),
                )
            }
        )

    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """One device; control only with a write password."""
        client = FemsRestClient(async_get_clientsession(hass), _endpoint(entry.data))
        coordinator: EnergyFlexCoordinator[Any] = EnergyFlexCoordinator(
            hass, entry, fetch=client.async_get_snapshot, update_interval=LOCAL_POLL_INTERVAL
        )
        await coordinator.async_config_entry_first_refresh()
        assert entry.unique_id is not None  # every entry is created with one
        device = EnergyFlexDevice(
            identity=entry.unique_id,
            info=DeviceInfo(
                identifiers={(DOMAIN, entry.unique_id)},
                manufacturer="FENECON",
                model="FEMS",
                name=entry.title,
                sw_version=coordinator.data.version,
                configuration_url=f"http://{entry.data[CONF_HOST]}",
            ),
        )
        if client.can_write:
            keepalive = entry.options.get(CONF_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_INTERVAL)
            adapter = FemsControlAdapter(client, coordinator, timedelta(seconds=keepalive))
            device.controller = build_controller(hass, coordinator, adapter, entry.entry_id)
        return EnergyFlexRuntime(
            coordinator=coordinator,
            devices=[device],
            sensors=FEMS_SENSORS,
            numbers=FEMS_NUMBERS,
            diagnostics=lambda: {"can_write": client.can_write},
        )
