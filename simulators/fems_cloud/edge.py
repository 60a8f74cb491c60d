"""One FEMS edge as the cloud backend sees it: online flag, value cache, config, control.

The backend answers `getEdgesChannelsValues` from its last-data cache. While the edge is
online the cache follows the battery model (refreshed on every read); while it is offline
the cache keeps the last values the edge sent: they freeze.

The edge's configuration is a dict of components keyed by id, as `getEdgeConfig` returns
it. A `Controller.Ess.FixActivePower` in it (optional per edge) drives the battery: mode
MANUAL_ON holds `power` (+ discharge / − charge), MANUAL_OFF hands control back. A
`setChannelValue` on `ess0/SetActivePowerEquals` goes to the backend controller's
`ApiWorker` (60 s timeout) and wins over the controller while it is pending.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from ..battery import BatteryModel
from ..fems.api_worker import ApiWorker, to_java_int
from ..fems.channels import (
    SET_ACTIVE_POWER_EQUALS,
    ChannelSpec,
    DeviceStatus,
    ProcessImage,
    build_catalogue,
)
from ..fems.errors import generic_error
from ..fems.firmware import parse_version
from ..jsontypes import JsonScalar, JsonValue
from .errors import no_component, no_member, unable_to_apply, unable_to_create, unable_to_delete
from .history import EdgeHistory, curves_for

FIX_ACTIVE_POWER: Final = "Controller.Ess.FixActivePower"
FIX_ACTIVE_POWER_ID: Final = "ctrlFixActivePower0"
FIX_ACTIVE_POWER_MODES: Final = frozenset({"MANUAL_ON", "MANUAL_OFF", "SMART"})
COMPONENT_MANAGER: Final = "_componentManager"

_OPENEMS_COMPONENT: Final = "io.openems.edge.common.component.OpenemsComponent"
_CONTROLLER: Final = "io.openems.edge.controller.api.Controller"


@dataclass(frozen=True, slots=True)
class Factory:
    """A component type the simulated edge can run."""

    name: str
    nature_ids: tuple[str, ...]
    id_prefix: str
    # Core components belong to the system and cannot be created or deleted.
    core: bool = False


FACTORIES: Final[Mapping[str, Factory]] = {
    "Core.Sum": Factory(
        "Sum", ("io.openems.edge.common.sum.Sum", _OPENEMS_COMPONENT), "_sum", True
    ),
    "Core.Meta": Factory(
        "Meta", ("io.openems.edge.common.meta.Meta", _OPENEMS_COMPONENT), "_meta", True
    ),
    "Core.Host": Factory(
        "Host", ("io.openems.edge.common.host.Host", _OPENEMS_COMPONENT), "_host", True
    ),
    "Fenecon.Home.Ess": Factory(
        "FENECON Home Battery",
        (
            "io.openems.edge.ess.api.ManagedSymmetricEss",
            "io.openems.edge.ess.api.SymmetricEss",
            "io.openems.edge.ess.api.HybridEss",
            _OPENEMS_COMPONENT,
        ),
        "ess",
    ),
    "Controller.Ess.Balancing": Factory(
        "Controller ESS Balancing", (_CONTROLLER, _OPENEMS_COMPONENT), "ctrlBalancing"
    ),
    FIX_ACTIVE_POWER: Factory(
        "Controller ESS Fix Active Power", (_CONTROLLER, _OPENEMS_COMPONENT), "ctrlFixActivePower"
    ),
    "Controller.Debug.Log": Factory(
        "Controller Debug Log", (_CONTROLLER, _OPENEMS_COMPONENT), "ctrlDebugLog"
    ),
}
# Keys OpenEMS manages itself; an update ignores them (notes §3.11).
_IGNORED_PROPERTIES: Final = frozenset({"id", "pid", "service.pid", "service.factoryPid"})


@dataclass(slots=True)
class Component:
    """One configured component; `properties` as `getEdgeConfig` shows them."""

    factory_id: str
    alias: str
    properties: dict[str, JsonValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "alias": self.alias,
            "factoryId": self.factory_id,
            "properties": dict(self.properties),
        }


def _default_components(fix_active_power: bool) -> dict[str, Component]:
    components = {
        "_sum": Component("Core.Sum", "Sum", {"enabled": True}),
        "_meta": Component("Core.Meta", "Meta", {"enabled": True}),
        "_host": Component("Core.Host", "Host", {"enabled": True}),
        "ess0": Component("Fenecon.Home.Ess", "Battery storage", {"enabled": True}),
        "ctrlBalancing0": Component(
            "Controller.Ess.Balancing", "Self-consumption", {"enabled": True, "ess.id": "ess0"}
        ),
    }
    if fix_active_power:
        components[FIX_ACTIVE_POWER_ID] = Component(
            FIX_ACTIVE_POWER,
            "Fixed active power",
            {
                "enabled": True,
                "ess.id": "ess0",
                "mode": "MANUAL_OFF",
                "hybridEssMode": "TARGET_DC",
                "power": 0,
            },
        )
    return components


class SimulatedEdge:
    """A FEMS known to the backend: battery, online flag, cache, configuration, history."""

    def __init__(
        self,
        edge_id: str,
        *,
        battery: BatteryModel | None = None,
        fix_active_power: bool = True,
        online: bool = True,
        firmware: str = "2026.5.0",
        timezone: str = "Europe/Berlin",
        commissioned: date = date(2024, 1, 1),
        api_timeout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.edge_id = edge_id
        self.battery = battery if battery is not None else BatteryModel(clock=clock)
        self.firmware = firmware
        self.components = _default_components(fix_active_power)
        self._online = online
        # Raw channel values answered instead of the model's (a test's impossible values).
        self.overrides: dict[str, JsonScalar] = {}
        self._worker = ApiWorker(timeout_s=api_timeout_s, clock=clock)
        self._image = ProcessImage()
        self._catalogue: dict[str, ChannelSpec] = {
            spec.address: spec for spec in build_catalogue(parse_version(firmware))
        }
        battery_model = self.battery
        self.history = EdgeHistory(
            curves=curves_for(battery_model.profile),
            capacity_wh=battery_model.capacity_wh,
            max_charge_w=battery_model.max_charge_w,
            max_discharge_w=battery_model.max_discharge_w,
            zone=ZoneInfo(timezone),
            commissioned=commissioned,
            base_counters=(
                battery_model.charged_wh,
                battery_model.discharged_wh,
                battery_model.grid_import_wh,
                battery_model.grid_export_wh,
                battery_model.produced_wh,
                battery_model.consumed_wh,
            ),
            wall_clock=wall_clock,
        )
        # The backend has the edge's last data even if it is offline from the start.
        self._cache: dict[str, JsonScalar] = {}
        self._fill_cache()

    # --- online and values ---------------------------------------------------------

    @property
    def online(self) -> bool:
        """Whether the edge is connected to the backend."""
        return self._online

    @online.setter
    def online(self, value: bool) -> None:
        self._online = value
        self.refresh()

    def refresh(self) -> None:
        """What the connected edge sends: the model's current values. Offline: nothing."""
        if self._online:
            self._fill_cache()

    def cached_value(self, address: str) -> JsonScalar:
        """The backend's last value of a channel; `None` if the edge never sent it."""
        if address in self.overrides:
            return self.overrides[address]
        return self._cache.get(address)

    def _fill_cache(self) -> None:
        self._worker.expire_if_due()
        self._apply_control()
        self.battery.step()
        status = DeviceStatus(firmware=self.firmware, hostname=self.edge_id)
        self._cache = self._image.build(self.battery, status)

    # --- configuration -----------------------------------------------------------------

    @property
    def fix_active_power_id(self) -> str | None:
        """The id of the edge's fix-active-power controller, if it has one."""
        return next(
            (cid for cid, c in sorted(self.components.items()) if c.factory_id == FIX_ACTIVE_POWER),
            None,
        )

    @property
    def setpoint_w(self) -> float | None:
        """The battery setpoint the edge applies now (None = its own logic)."""
        self._apply_control()
        return self.battery.setpoint_w

    def config_json(self) -> dict[str, JsonValue]:
        """`getEdgeConfig`: components keyed by id, and only the factories they use."""
        used = sorted({c.factory_id for c in self.components.values()})
        factories: dict[str, JsonValue] = {
            factory_id: {
                "name": FACTORIES[factory_id].name,
                "description": "",
                "natureIds": list(FACTORIES[factory_id].nature_ids),
            }
            for factory_id in used
        }
        components: dict[str, JsonValue] = {
            cid: component.to_json() for cid, component in self.components.items()
        }
        return {"components": components, "factories": factories}

    def create_component(self, factory_pid: str, properties: list[tuple[str, JsonValue]]) -> str:
        """`createComponentConfig`; the new component's id."""
        factory = FACTORIES.get(factory_pid)
        if factory is None or factory.core:
            raise unable_to_create(factory_pid, "Factory is not available")
        values = dict(properties)
        component_id = values.pop("id", None)
        if component_id is None:
            # OpenEMS numbers default ids from 0: the first free one.
            component_id = next(
                candidate
                for n in itertools.count()
                if (candidate := f"{factory.id_prefix}{n}") not in self.components
            )
        if not isinstance(component_id, str) or not component_id:
            raise unable_to_create(factory_pid, "Component-ID is invalid")
        if component_id in self.components:
            raise unable_to_create(factory_pid, f"Component-ID [{component_id}] already exists")
        alias = values.pop("alias", component_id)
        values.setdefault("enabled", True)
        component = Component(factory_pid, alias if isinstance(alias, str) else component_id)
        self._check_properties(component_id, factory_pid, values)
        component.properties.update(values)
        self.components[component_id] = component
        self._apply_control()
        return component_id

    def update_component(self, component_id: str, properties: list[tuple[str, JsonValue]]) -> None:
        """`updateComponentConfig`: a null value removes the property."""
        component = self.components.get(component_id)
        if component is None:
            raise no_component(component_id)
        changes = {name: value for name, value in properties if name not in _IGNORED_PROPERTIES}
        self._check_properties(component_id, component.factory_id, changes)
        for name, value in changes.items():
            if name == "alias":
                component.alias = value if isinstance(value, str) else component_id
            elif value is None:
                component.properties.pop(name, None)
            else:
                component.properties[name] = value
        self._apply_control()

    def delete_component(self, component_id: str) -> None:
        """`deleteComponentConfig`; core components cannot be deleted."""
        component = self.components.get(component_id)
        if component is None:
            raise unable_to_delete(component_id, "Component is not configured")
        if FACTORIES[component.factory_id].core:
            raise unable_to_delete(component_id, "Core components cannot be deleted")
        del self.components[component_id]
        self._apply_control()

    def set_channel_value(self, component_id: str, channel_id: str, value: JsonValue) -> None:
        """`setChannelValue` through the backend controller's `ApiWorker`."""
        if component_id not in self.components:
            raise no_component(component_id)
        spec = self._catalogue.get(f"{component_id}/{channel_id}")
        if spec is None:
            raise generic_error(f"Channel [{channel_id}] is not defined for ID [{component_id}].")
        if not spec.writable:
            raise generic_error(f"[Channel {spec.address}] is not a Write Channel")
        if isinstance(value, list | dict):
            raise generic_error(f"Unable to parse value [{value}]")
        self._worker.write(spec.address, value)
        self._apply_control()

    def channels_of_component(self, component_id: str) -> list[JsonValue]:
        """`_componentManager` → `getChannelsOfComponent` (channels are not in the config)."""
        if component_id not in self.components:
            raise no_component(component_id)
        return [
            {
                "id": spec.channel,
                "accessMode": spec.access.value,
                "persistencePriority": "HIGH" if spec.component == "_sum" else "LOW",
                "text": spec.text,
                "type": spec.type.value,
                "unit": spec.unit,
                "category": "OPENEMS_TYPE",
            }
            for spec in self._catalogue.values()
            if spec.component == component_id
        ]

    def _check_properties(
        self, component_id: str, factory_id: str, values: Mapping[str, JsonValue]
    ) -> None:
        """Reject values the component could not apply (error 2002 / 2003)."""
        for name, value in values.items():
            problem = _property_problem(factory_id, name, value)
            if problem is not None:
                raise unable_to_apply(component_id, problem)

    # --- control -------------------------------------------------------------------

    def _apply_control(self) -> None:
        """API writes first, then an active fix-active-power controller, else self-consumption."""
        self._worker.expire_if_due()
        setpoint = self._worker.int_value(SET_ACTIVE_POWER_EQUALS)
        if setpoint is None:
            setpoint = self._controller_setpoint()
        if self.battery.setpoint_w != setpoint:
            self.battery.setpoint_w = setpoint

    def _controller_setpoint(self) -> int | None:
        for component in self.components.values():
            properties = component.properties
            if (
                component.factory_id == FIX_ACTIVE_POWER
                and properties.get("enabled", True) is not False
                and properties.get("mode") == "MANUAL_ON"
            ):
                power = properties.get("power", 0)
                try:
                    return to_java_int(power if not isinstance(power, list | dict) else None)
                except ValueError:
                    return None
        return None


def _property_problem(factory_id: str, name: str, value: JsonValue) -> str | None:
    if value is None:
        return None
    if name == "enabled" and not isinstance(value, bool):
        return "enabled must be a boolean"
    if factory_id != FIX_ACTIVE_POWER:
        return None
    if name == "mode" and value not in FIX_ACTIVE_POWER_MODES:
        return f"Mode [{value}] is not valid"
    if name == "power":
        try:
            to_java_int(value if not isinstance(value, list | dict) else None)
        except ValueError:
            return f"Power [{value}] is not an integer"
    return None


def parse_properties(params: Mapping[str, JsonValue]) -> list[tuple[str, JsonValue]]:
    """`properties`: a list of `{"name", "value"}` objects."""
    raw = params.get("properties")
    if not isinstance(raw, list):
        raise no_member("properties", "params")
    properties: list[tuple[str, JsonValue]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise no_member("name", "properties")
        name = item["name"]
        assert isinstance(name, str)
        properties.append((name, item.get("value")))
    return properties


__all__ = [
    "COMPONENT_MANAGER",
    "FACTORIES",
    "FIX_ACTIVE_POWER",
    "FIX_ACTIVE_POWER_ID",
    "Component",
    "SimulatedEdge",
    "parse_properties",
]
