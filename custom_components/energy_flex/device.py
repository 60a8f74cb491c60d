"""One Home Assistant device of an entry: its identity, its info and its controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo

from .control import SetpointController


@dataclass(kw_only=True)
class EnergyFlexDevice:
    """One Home Assistant device of an entry, and how to find its data in a poll."""

    identity: str
    info: DeviceInfo
    # Picks this device's part of the coordinator's data; `None` = unavailable.
    data: Callable[[Any], Any] = lambda data: data
    controller: SetpointController | None = None
    # The description keys this device has; `None` = every description of the runtime.
    # Lets one entry hold devices of different kinds (an EV site and its stations).
    entity_keys: frozenset[str] | None = None

    def offers(self, key: str) -> bool:
        """Whether the entity described by `key` belongs to this device."""
        return self.entity_keys is None or key in self.entity_keys
