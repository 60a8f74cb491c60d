"""FEMS cloud entities: the FEMS descriptions over one edge's part of a poll, and `edge_online`.

The cloud delivers the same channels as the local REST API, so the FEMS sensor
descriptions are reused as they are; OpenEMS's sign already is Home Assistant's. Each
edge's part of a poll is a `FemsCloudEdgeState`: the snapshot plus the backend's online
flag, which decides whether the snapshot is current (`edge_online`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.helpers.typing import StateType

from ...api.fems import FemsSnapshot
from ...api.fems_cloud import FemsCloudEdgeState
from ...descriptions import (
    BATTERY_POWER_SETPOINT,
    EnergyFlexNumberDescription,
    EnergyFlexSensorDescription,
)
from ...descriptions.binary_sensor import EnergyFlexBinarySensorDescription
from ..fems.entities import FEMS_SENSORS


def _of_snapshot(
    value_fn: Callable[[FemsSnapshot], StateType],
) -> Callable[[FemsCloudEdgeState], StateType]:
    return lambda state: value_fn(state.snapshot)


def edge_is_online(state: FemsCloudEdgeState) -> bool:
    """Whether the edge's values are current (else they are the backend's stale cache)."""
    return state.online


def _on_edge_state(description: EnergyFlexSensorDescription) -> EnergyFlexSensorDescription:
    """A FEMS sensor description whose functions read one edge's part of a poll."""
    has_fn = description.has_fn
    derived_from = description.derived_from
    return dataclasses.replace(
        description,
        value_fn=_of_snapshot(description.value_fn),
        has_fn=lambda state: has_fn(state.snapshot),
        derived_from=None if derived_from is None else _of_snapshot(derived_from),
    )


FEMS_CLOUD_SENSORS: tuple[EnergyFlexSensorDescription, ...] = tuple(
    _on_edge_state(description) for description in FEMS_SENSORS
)

EDGE_ONLINE = EnergyFlexBinarySensorDescription(
    key="edge_online",
    translation_key="edge_online",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=edge_is_online,
)
FEMS_CLOUD_BINARY_SENSORS: tuple[EnergyFlexBinarySensorDescription, ...] = (EDGE_ONLINE,)

# A FixActivePower controller holds one battery power; it has no charge/discharge limits.
FEMS_CLOUD_NUMBERS: tuple[EnergyFlexNumberDescription, ...] = (BATTERY_POWER_SETPOINT,)
