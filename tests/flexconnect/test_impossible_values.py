"""Battery values FlexConnect sends that cannot be true are unknown for that entity alone."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.flexconnect import FlexConnectSimulator
from simulators.jsontypes import JsonValue

from .conftest import entity_id


def state(hass: HomeAssistant, key: str) -> str:
    """One sensor's state of battery A."""
    current = hass.states.get(entity_id("sensor", key))
    assert current is not None, key
    return current.state


def with_state(field: str, value: Any) -> Any:
    """A patch that puts `value` into `state.<field>` of every state answer."""

    def patch(body: JsonValue) -> JsonValue:
        if isinstance(body, dict) and isinstance(state := body.get("state"), dict):
            state[field] = value
        return body

    return patch


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("stateOfCharge", {"number": 1500, "scale": -1}, "state_of_charge"),  # 150.0 %
        ("stateOfCharge", {"number": "-5"}, "state_of_charge"),
        ("stateOfHealth", {"number": 2500, "scale": -1}, "state_of_health"),
        ("stateOfEnergy", {"number": -3, "scale": 3}, "stored_energy"),
        ("usableCapacity", {"number": 9, "scale": 300}, "usable_capacity"),
    ],
)
async def test_impossible_battery_value_is_unknown(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    flexconnect_entry: MockConfigEntry,
    field: str,
    value: JsonValue,
    key: str,
) -> None:
    """Only the entity of the impossible value is unknown; the poll succeeds."""
    flexconnect.faults.patch_json = with_state(field, value)
    await flexconnect_entry.runtime_data.coordinator.async_refresh()
    assert flexconnect_entry.runtime_data.coordinator.last_update_success
    assert state(hass, key) == STATE_UNKNOWN
    others = {"state_of_charge", "state_of_health", "stored_energy", "usable_capacity"} - {key}
    assert all(state(hass, other) != STATE_UNKNOWN for other in others)
    flexconnect.faults.reset()
    await flexconnect_entry.runtime_data.coordinator.async_refresh()
    assert state(hass, key) != STATE_UNKNOWN
