"""One Home Assistant device of an entry: its identity, its info and its controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.helpers.device_registry import DeviceInfo

from .battery import BatteryFacts

if TYPE_CHECKING:
    # Loaded only for devices Energy Flex controls (`coordinator.async_build_controller`).
    from .control import SetpointController

    # Loaded only for batteries Energy Flex controls (`__init__._attach_planners`).
    from .planner import SocPlanner


@dataclass(kw_only=True)
class EnergyFlexDevice:
    """One Home Assistant device of an entry, and how to find its data in a poll."""

    identity: str
    info: DeviceInfo
    # Picks this device's part of the coordinator's data; `None` = unavailable.
    data: Callable[[Any], Any] = lambda data: data
    # Whether this device's part is current. A cloud keeps answering an offline device's
    # last values; those make its entities unavailable, never shown as current.
    online: Callable[[Any], bool] = lambda device_data: True
    controller: SetpointController | None = None
    # The description keys this device has; `None` = every description of the runtime.
    # Lets one entry hold devices of different kinds (an EV site and its stations).
    entity_keys: frozenset[str] | None = None

    def offers(self, key: str) -> bool:
        """Whether the entity described by `key` belongs to this device."""
        return self.entity_keys is None or key in self.entity_keys

    # A battery: reads what planning needs from this device's data (`None`: not a battery).
    # It may answer `None` while the device's data cannot be trusted (e.g. an offline edge).
    battery: Callable[[Any], BatteryFacts | None] | None = None
    # Runs `reach_state_of_charge` plans; set up for batteries that have a controller.
    planner: SocPlanner | None = None

    @property
    def name(self) -> str:
        """The device's name, for log lines and messages."""
        return str(self.info.get("name") or self.identity)

    def battery_facts(self, data: Any) -> BatteryFacts | None:
        """What planning needs from the coordinator's `data`; `None` while it is unknown."""
        mine = self.data(data) if data is not None else None
        if self.battery is None or mine is None:
            return None
        return self.battery(mine)

    # What the device says it can do (W) from its data, if it says; bounds its powers.
    rated_power: Callable[[Any], float | None] = lambda data: None
