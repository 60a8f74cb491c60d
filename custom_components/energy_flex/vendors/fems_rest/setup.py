"""FENECON FEMS over local REST/JSON: the config form, identity and entry runtime."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

import probatio
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ...api.errors import ApiResponseError, ApiWriteRejectedError, WriteRejectedReason
from ...api.fems_rest import (
    DEFAULT_READ_PASSWORD,
    DEFAULT_READ_PORT,
    DEFAULT_WRITE_PORT,
    FemsRestClient,
    FemsRestEndpoint,
)
from ...const import (
    CONF_WRITE_PASSWORD,
    CONF_WRITE_PORT,
    CONNECTION_FEMS_REST,
    LOCAL_POLL_INTERVAL,
    MAX_POLL_BACKOFF,
)
from ...coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexRuntime,
)
from ..base import PORT, FlowError, IdentifiedDevice, Vendor, entry_title, host_port_fields
from ..fems.runtime import async_fems_runtime, fems_device_info, keepalive_options_schema

# How this entry reaches the FEMS, in titles and the device model (Modbus is the other).
CONNECTION_LABEL: Final = "local REST"

_FLOW_ERROR_BY_REASON = {
    WriteRejectedReason.READ_ONLY_API: "write_app_missing",
    WriteRejectedReason.ROLE_TOO_LOW: "write_password_not_owner",
    WriteRejectedReason.NOT_ACCEPTED: "write_rejected",
}

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
                **host_port_fields(defaults, DEFAULT_READ_PORT),
                probatio.Required(
                    CONF_PASSWORD, default=defaults.get(CONF_PASSWORD, DEFAULT_READ_PASSWORD)
                ): _PASSWORD,
                probatio.Optional(
                    CONF_WRITE_PASSWORD,
                    description={"suggested_value": defaults.get(CONF_WRITE_PASSWORD)},
                ): _PASSWORD,
                probatio.Required(
                    CONF_WRITE_PORT, default=defaults.get(CONF_WRITE_PORT, DEFAULT_WRITE_PORT)
                ): PORT,
            }
        )

    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Read once; with a write password, also prove owner rights on a write API."""
        client = FemsRestClient(async_get_clientsession(hass), _endpoint(data))
        try:
            snapshot = await client.async_get_snapshot()
        except ApiResponseError as err:
            # Something answers there (often the web interface's port), but not the API.
            raise FlowError("fems_rest_not_recognised") from err
        if client.can_write:
            try:
                await client.async_check_write_access()
            except ApiWriteRejectedError as err:
                raise FlowError(_FLOW_ERROR_BY_REASON[err.reason]) from err
            except ApiResponseError as err:
                # The write port answers, but not as the API does (often the web UI's).
                raise FlowError("fems_rest_write_not_recognised") from err
        if snapshot.hostname:
            return IdentifiedDevice(
                snapshot.hostname, entry_title(f"FEMS {snapshot.hostname}", CONNECTION_LABEL)
            )
        # Firmware without `_host/Hostname`: the address is all there is.
        return IdentifiedDevice.by_address(data, "FEMS", CONNECTION_LABEL)

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """How often held setpoints are repeated."""
        return keepalive_options_schema(options)

    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """One device; control only with a write password."""
        client = FemsRestClient(async_get_clientsession(hass), _endpoint(entry.data))
        coordinator: EnergyFlexCoordinator[Any] = EnergyFlexCoordinator(
            hass,
            entry,
            fetch=client.async_get_snapshot,
            update_interval=LOCAL_POLL_INTERVAL,
            # A FEMS that answers 500s (restarting, overloaded) gets room to recover.
            max_backoff=MAX_POLL_BACKOFF,
        )
        await coordinator.async_config_entry_first_refresh()
        return await async_fems_runtime(
            hass,
            entry,
            coordinator,
            info=fems_device_info(
                entry,
                identity=coordinator.data.hostname,
                connection=CONNECTION_LABEL,
                sw_version=coordinator.data.version,
            ),
            writer=client if client.can_write else None,
            diagnostics=lambda: {"can_write": client.can_write},
        )
