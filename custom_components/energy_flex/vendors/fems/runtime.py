"""The FEMS entry runtime, whatever the transport: one device, its options and control."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import probatio
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo

from ...const import (
    CONF_KEEPALIVE_INTERVAL,
    DEFAULT_KEEPALIVE_INTERVAL,
    MAX_KEEPALIVE_INTERVAL,
    MIN_KEEPALIVE_INTERVAL,
)
from ...coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexRuntime,
    async_build_controller,
)
from ...device import EnergyFlexDevice
from ..base import local_device_info
from .control import FemsChannelWriter, FemsControlAdapter, fems_battery_facts
from .entities import FEMS_NUMBERS, FEMS_SENSORS


def keepalive_options_schema(options: Mapping[str, Any]) -> probatio.Schema:
    """How often held setpoints are repeated: inside FEMS's 60 s apiTimeout."""
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


def fems_device_info(
    entry: EnergyFlexConfigEntry,
    *,
    identity: str | None,
    connection: str,
    model_id: str | None = None,
    sw_version: str | None = None,
    serial_number: str | None = None,
) -> DeviceInfo:
    """The same device info for a FEMS whichever way it is reached; the model says which.

    Named by its identity (hostname or serial), else its address; the FEMS web interface is
    on port 80 of the same host, whatever port the API uses.
    """
    return local_device_info(
        entry,
        name=f"FEMS {identity or entry.data[CONF_HOST]}",
        manufacturer="FENECON",
        model=f"FEMS ({connection})",
        model_id=model_id,
        web_ui=True,
        sw_version=sw_version,
        serial_number=serial_number,
    )


async def async_fems_runtime(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    coordinator: EnergyFlexCoordinator[Any],
    *,
    info: DeviceInfo,
    writer: FemsChannelWriter | None,
    diagnostics: Callable[[], dict[str, Any]],
) -> EnergyFlexRuntime:
    """One FEMS device, whatever the transport; control only when `writer` can write."""
    assert entry.unique_id is not None  # every entry is created with one
    device = EnergyFlexDevice(
        identity=entry.unique_id,
        info=info,
        battery=fems_battery_facts,
        rated_power=lambda data: data.max_apparent_power,
    )
    if writer is not None:
        keepalive = entry.options.get(CONF_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_INTERVAL)
        adapter = FemsControlAdapter(writer, coordinator, timedelta(seconds=keepalive))
        device.controller = await async_build_controller(hass, coordinator, adapter, entry.entry_id)
    return EnergyFlexRuntime(
        coordinator=coordinator,
        devices=[device],
        sensors=FEMS_SENSORS,
        numbers=FEMS_NUMBERS,
        diagnostics=diagnostics,
    )
