"""What the development Home Assistant shows: the Energy dashboard and "Energy Flex".

Pure functions over the entity and device registries as Home Assistant's websocket API
lists them (`config/entity_registry/list`, `config/device_registry/list`), so entity
ids are whatever Home Assistant assigned. Entities are found by their key (the
translation key of DESIGN §3: `state_of_charge`, `grid_power`, ...), never by name.

Extension point: cards are picked per device by entity key from the tables below, so a
device of a new connection gets its section as soon as its keys are listed here. A
FENECON cloud edge (DESIGN §3.1) is a FEMS with its cloud connection on top. A PowerFlex
site (DESIGN §3.2) gets its charging power, the real-time load sent to its DCM and the DCM
controls; each of its stations a section of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DOMAIN = "energy_flex"
DASHBOARD_URL_PATH = "energy-flex"
DASHBOARD_TITLE = "Energy Flex"
DASHBOARD_ICON = "mdi:home-battery"

# Card types of Home Assistant's own frontend that this dashboard uses (no HACS cards).
CORE_CARD_TYPES = frozenset({"heading", "gauge", "tile", "history-graph", "entities"})

# Entity key -> what each kind of card shows; the order is the order on the dashboard.
GAUGE_KEYS = ("state_of_charge",)
TILE_KEYS = (
    # FENECON cloud (DESIGN §3.1): whether the edge is connected; offline, its values are
    # unavailable and this says why.
    "edge_online",
    "battery_power",
    "grid_power",
    "production_power",
    "consumption_power",
    # FlexConnect applies commands up to a minute late: desired and current side by side.
    "desired_power_setpoint",
    "current_power_setpoint",
    # PowerFlex (DESIGN §3.2): the site (its stations' power, the house load sent to its
    # DCM) and each charging station.
    "site_charging_power",
    "real_time_load",
    "charging_power",
    "charging_state",
    "session_energy",
)
HISTORY_KEYS = (
    "battery_power",
    "grid_power",
    "production_power",
    "desired_power_setpoint",
    "current_power_setpoint",
    "site_charging_power",
    "real_time_load",
    "charging_power",
)
CONTROL_KEYS = (
    "battery_power_setpoint",
    "control_active",
    "command_pending",
    "release_control",
    # PowerFlex site: the DCM limit and this month's peak target.
    "dcm_enabled",
    "dcm_max_load",
    "target_peak_power",
)
HISTORY_HOURS = 6

# Energy dashboard: the keys of one device's energy counters and power sensors.
ENERGY_GRID_IMPORT = "grid_imported_energy"
ENERGY_GRID_EXPORT = "grid_exported_energy"
ENERGY_SOLAR = "produced_energy"
ENERGY_BATTERY_OUT = "battery_discharged_energy"
ENERGY_BATTERY_IN = "battery_charged_energy"
ENERGY_KEYS = (
    ENERGY_GRID_IMPORT,
    ENERGY_GRID_EXPORT,
    ENERGY_SOLAR,
    ENERGY_BATTERY_OUT,
    ENERGY_BATTERY_IN,
)
# The Energy dashboard's source of choice (the brief: "the battery of one FEMS").
PREFERRED_MANUFACTURER = "FENECON"


@dataclass
class DeviceEntities:
    """One Energy Flex device and its enabled entities, by entity key."""

    device_id: str
    name: str
    manufacturer: str | None = None
    entities: dict[str, str] = field(default_factory=dict)  # key -> entity_id


def _key(entry: Mapping[str, Any]) -> str | None:
    """An entity's key: its translation key (every Energy Flex entity has one)."""
    key = entry.get("translation_key")
    return key if isinstance(key, str) else None


def devices_from_registry(
    devices: Iterable[Mapping[str, Any]], entities: Iterable[Mapping[str, Any]]
) -> list[DeviceEntities]:
    """Energy Flex devices (in registry order) with their enabled entities by key."""
    by_id: dict[str, DeviceEntities] = {}
    for device in devices:
        name = device.get("name_by_user") or device.get("name") or device["id"]
        by_id[device["id"]] = DeviceEntities(
            device_id=device["id"], name=name, manufacturer=device.get("manufacturer")
        )
    for entity in entities:
        if entity.get("platform") != DOMAIN or entity.get("disabled_by") is not None:
            continue
        owner = by_id.get(entity.get("device_id") or "")
        key = _key(entity)
        if owner is not None and key is not None:
            owner.entities.setdefault(key, entity["entity_id"])
    # Registry order, which is the order the entries were added in.
    return [owner for owner in by_id.values() if owner.entities]


# --- Energy dashboard -------------------------------------------------------------------


def energy_source_device(devices: Iterable[DeviceEntities]) -> DeviceEntities | None:
    """The device whose counters feed the Energy dashboard: a FEMS if there is one."""
    complete = [d for d in devices if all(key in d.entities for key in ENERGY_KEYS)]
    complete.sort(key=lambda d: d.manufacturer != PREFERRED_MANUFACTURER)  # stable
    return complete[0] if complete else None


def build_energy_prefs(devices: Iterable[DeviceEntities]) -> dict[str, Any] | None:
    """`energy/save_prefs` payload: grid, solar and battery of one device, or None.

    Power sensors go in as `stat_rate` where the device has them: Energy Flex uses Home
    Assistant's signs (grid + import, battery + discharge), so no inversion is needed.
    """
    device = energy_source_device(devices)
    if device is None:
        return None
    ids = device.entities
    grid: dict[str, Any] = {
        "type": "grid",
        "stat_energy_from": ids[ENERGY_GRID_IMPORT],
        "stat_energy_to": ids[ENERGY_GRID_EXPORT],
        "stat_cost": None,
        "entity_energy_price": None,
        "number_energy_price": None,
        "stat_compensation": None,
        "entity_energy_price_export": None,
        "number_energy_price_export": None,
        "cost_adjustment_day": 0,
    }
    solar: dict[str, Any] = {
        "type": "solar",
        "stat_energy_from": ids[ENERGY_SOLAR],
        "config_entry_solar_forecast": None,
    }
    battery: dict[str, Any] = {
        "type": "battery",
        "stat_energy_from": ids[ENERGY_BATTERY_OUT],
        "stat_energy_to": ids[ENERGY_BATTERY_IN],
    }
    for source, key in ((grid, "grid_power"), (solar, "production_power")):
        if key in ids:
            source["stat_rate"] = ids[key]
    if "battery_power" in ids:
        battery["stat_rate"] = ids["battery_power"]
    if "state_of_charge" in ids:
        battery["stat_soc"] = ids["state_of_charge"]
    return {"energy_sources": [grid, solar, battery], "device_consumption": []}


# --- The "Energy Flex" dashboard --------------------------------------------------------


def _present(device: DeviceEntities, keys: Iterable[str]) -> list[str]:
    return [device.entities[key] for key in keys if key in device.entities]


def device_cards(device: DeviceEntities) -> list[dict[str, Any]]:
    """The cards of one device, picked by the entity keys it has (may be empty)."""
    cards: list[dict[str, Any]] = []
    for entity_id in _present(device, GAUGE_KEYS):
        cards.append(
            {
                "type": "gauge",
                "entity": entity_id,
                "min": 0,
                "max": 100,
                "severity": {"green": 50, "yellow": 20, "red": 0},
            }
        )
    cards.extend({"type": "tile", "entity": entity_id} for entity_id in _present(device, TILE_KEYS))
    if history := _present(device, HISTORY_KEYS):
        cards.append(
            {
                "type": "history-graph",
                "hours_to_show": HISTORY_HOURS,
                "entities": [{"entity": entity_id} for entity_id in history],
            }
        )
    if control := _present(device, CONTROL_KEYS):
        cards.append(
            {
                "type": "entities",
                "title": "Control",
                "entities": [{"entity": entity_id} for entity_id in control],
            }
        )
    return cards


def build_dashboard(devices: Iterable[DeviceEntities]) -> dict[str, Any]:
    """The Lovelace config of the "Energy Flex" dashboard: one section per device."""
    sections: list[dict[str, Any]] = []
    for device in devices:
        if not (cards := device_cards(device)):
            continue
        heading = {"type": "heading", "heading": device.name, "heading_style": "title"}
        sections.append({"type": "grid", "cards": [heading, *cards]})
    return {
        "title": DASHBOARD_TITLE,
        "views": [
            {
                "title": "Devices",
                "path": "devices",
                "icon": DASHBOARD_ICON,
                "type": "sections",
                "max_columns": 3,
                "sections": sections,
            }
        ],
    }


def card_types(config: Mapping[str, Any]) -> set[str]:
    """Every card type a dashboard config uses (nested cards included)."""
    types: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "cards":
                    for card in value:
                        types.add(card["type"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    return types


def entity_ids(config: Mapping[str, Any]) -> set[str]:
    """Every entity id a dashboard config shows."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if isinstance(entity := node.get("entity"), str):
                found.add(entity)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(config)
    return found
