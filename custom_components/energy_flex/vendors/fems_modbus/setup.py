"""FENECON FEMS over local Modbus/TCP: the config form, identity and entry runtime.

The same entities and the same control as FEMS over REST (`vendors/fems/`): the
Modbus client delivers a `FemsSnapshot` and writes the same ESS channels by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

import probatio
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady

from ...api.errors import ApiConnectionError, ApiResponseError, EnergyFlexApiError
from ...api.fems_modbus import DEFAULT_PORT, FemsModbusClient
from ...const import (
    CONF_READ_WRITE,
    CONNECTION_FEMS_MODBUS,
    DOMAIN,
    LOCAL_POLL_INTERVAL,
)
from ...coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexRuntime,
)
from ..base import FlowError, IdentifiedDevice, Vendor, entry_title, host_port_fields
from ..fems.runtime import async_fems_runtime, fems_device_info, keepalive_options_schema

# How this entry reaches the FEMS, in titles and the device model (REST is the other).
CONNECTION_LABEL: Final = "local Modbus"


def _client(data: Mapping[str, Any]) -> FemsModbusClient:
    return FemsModbusClient(
        data[CONF_HOST], data[CONF_PORT], read_write=bool(data.get(CONF_READ_WRITE, False))
    )


class FemsModbusVendor(Vendor):
    """FEMS Modbus/TCP (port 502, unit 1); control only with the read-write app."""

    menu_id: ClassVar[str] = CONNECTION_FEMS_MODBUS
    secret_keys: ClassVar[tuple[str, ...]] = ()

    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """Host, port and whether the read-write Modbus app is installed."""
        return probatio.Schema(
            {
                **host_port_fields(defaults, DEFAULT_PORT),
                probatio.Required(
                    CONF_READ_WRITE, default=defaults.get(CONF_READ_WRITE, False)
                ): bool,
            }
        )

    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Walk the table once; read-write needs a controllable ESS in it."""
        client = _client(data)
        try:
            table = await client.async_get_table()
        except ApiResponseError as err:
            # Something answers Modbus there, but not like a FEMS (or its table is reset).
            raise FlowError("modbus_table_invalid") from err
        finally:
            await client.async_close()
        if client.read_write and table.setpoint_base is None:
            raise FlowError("modbus_ess_missing")
        # The EMS serial number names the FEMS; the battery's serial is second best.
        serial = table.meta.ems_serial_number or table.meta.serial_number
        if serial:
            return IdentifiedDevice(serial, entry_title(f"FEMS {serial}", CONNECTION_LABEL))
        return IdentifiedDevice.by_address(data, "FEMS", CONNECTION_LABEL)

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """How often held setpoints are repeated (used with the read-write app only)."""
        return keepalive_options_schema(options)

    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """One device on one connection, closed with the entry; control only read-write."""
        client = _client(entry.data)
        entry.async_on_unload(client.async_close)
        # Connect and walk the table first: the first refresh then reuses both, and a device
        # that cannot be reached (or whose table is reset) retries setup like a failed poll.
        try:
            meta = (await client.async_get_table()).meta
        except EnergyFlexApiError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="cannot_connect"
                if isinstance(err, ApiConnectionError)
                else "invalid_response",
            ) from err
        coordinator: EnergyFlexCoordinator[Any] = EnergyFlexCoordinator(
            hass, entry, fetch=client.async_get_snapshot, update_interval=LOCAL_POLL_INTERVAL
        )
        await coordinator.async_config_entry_first_refresh()
        return await async_fems_runtime(
            hass,
            entry,
            coordinator,
            info=fems_device_info(
                entry,
                identity=meta.ems_serial_number or meta.serial_number,
                connection=CONNECTION_LABEL,
                # The product line `_meta` names (e.g. "FEMS Home 10"); REST cannot read it.
                model_id=meta.model,
                sw_version=meta.version,
                serial_number=meta.ems_serial_number or meta.serial_number,
            ),
            writer=client if client.read_write else None,
            diagnostics=lambda: {"read_write": client.read_write, **client.diagnostics()},
        )
