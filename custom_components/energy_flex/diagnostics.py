"""Diagnostics: entry, last poll and control state, with every secret redacted."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_DEVICE_IDS, CONF_EDGE_IDS, CONF_WRITE_PASSWORD, SetpointKind
from .coordinator import EnergyFlexConfigEntry

TO_REDACT = {
    CONF_PASSWORD,
    CONF_WRITE_PASSWORD,
    CONF_USERNAME,
    CONF_HOST,
    CONF_URL,
    CONF_DEVICE_IDS,
    "hostname",
    "unique_id",
    # FEMS cloud: edge ids name the user's systems like serials.
    CONF_EDGE_IDS,
    "edge_id",
}


def _plain(value: Any, aliases: Mapping[str, str]) -> Any:
    """Snapshots are dataclasses (some keyed by device); make them JSON-friendly.

    Keys that are device identities (serials, SKIs) become their `aliases`.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _plain(getattr(value, field.name), aliases)
            for field in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {
            aliases.get(str(key), str(key)): _plain(item, aliases) for key, item in value.items()
        }
    if isinstance(value, frozenset | set):
        return sorted(value)  # which values a device has (field and key names)
    return value


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EnergyFlexConfigEntry
) -> dict[str, Any]:
    """What support needs to see, without passwords, addresses or serials."""
    runtime = entry.runtime_data
    data = runtime.coordinator.data
    # Devices are numbered as in "control", so a poll keyed by device never shows an id.
    aliases = {device.identity: str(index) for index, device in enumerate(runtime.devices)}
    return async_redact_data(
        {
            "entry": {
                "data": dict(entry.data),
                "options": dict(entry.options),
                "unique_id": entry.unique_id,
            },
            "client": runtime.diagnostics(),
            "last_update_success": runtime.coordinator.last_update_success,
            "data": _plain(data, aliases),
            # Values the plausibility gates refuse right now (shown as unknown).
            "rejected_values": {
                f"{aliases.get(identity, '?')}/{key}": reason
                for (identity, key), reason in runtime.coordinator.rejected_values.items()
            },
            "control": {
                str(index): {
                    "active": device.controller.active,
                    "held": {kind.value: device.controller.held(kind) for kind in SetpointKind},
                    # A running `reach_state_of_charge` plan: target, deadline, direction.
                    "plan": device.controller.plan(SetpointKind.BATTERY_POWER),
                }
                for index, device in enumerate(runtime.devices)
                if device.controller is not None
            },
        },
        TO_REDACT,
    )
