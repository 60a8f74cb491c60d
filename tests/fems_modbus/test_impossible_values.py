"""Register values a FEMS cannot have are unknown: undefined variants, overflowing floats."""

from __future__ import annotations

import logging

import pytest
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.energy_flex.const import DOMAIN
from simulators.fems_modbus import FemsModbusSimulator

from .conftest import EMS_SERIAL, setup_entry


def sensor(hass: HomeAssistant, key: str) -> str:
    """A sensor's state by description key."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{EMS_SERIAL}_{key}")
    assert entity_id is not None, key
    current = hass.states.get(entity_id)
    assert current is not None, key
    return current.state


@pytest.mark.parametrize(
    ("channel", "raw", "unknown"),
    [
        # uint16: 0xFFFF is undefined; 0xFFFB (65531) is one of its "undefined" cousins.
        ("_sum/EssSoc", 65531, {"state_of_charge", "stored_energy"}),
        ("_sum/EssSoc", 101, {"state_of_charge", "stored_energy"}),
        # float32 near its maximum, float64 beyond any counter, a negative counter.
        (
            "_sum/EssDischargePower",
            3.0e38,
            {"battery_power", "battery_charge_power", "battery_discharge_power"},
        ),
        ("_sum/GridActivePower", float("-inf"), {"grid_power"}),
        ("_sum/ConsumptionActiveEnergy", 1e300, {"consumed_energy"}),
        ("_sum/GridBuyActiveEnergy", -1.0, {"grid_imported_energy"}),
    ],
)
async def test_impossible_register_value_is_unknown_alone(
    hass: HomeAssistant,
    sim: FemsModbusSimulator,
    caplog: pytest.LogCaptureFixture,
    channel: str,
    raw: float,
    unknown: set[str],
) -> None:
    """The poll succeeds; the entities fed by the value are unknown, the rest true."""
    caplog.set_level(logging.DEBUG, logger="custom_components.energy_flex")
    entry = await setup_entry(hass, sim)
    sim.overrides[channel] = raw
    for _ in range(2):
        await entry.runtime_data.coordinator.async_refresh()
    assert entry.runtime_data.coordinator.last_update_success
    for key in unknown:
        assert sensor(hass, key) == STATE_UNKNOWN, key
    assert float(sensor(hass, "production_power")) == 2000
    assert not [
        record
        for record in caplog.records
        if record.name.startswith("custom_components") and record.levelno >= logging.WARNING
    ]
    sim.overrides.clear()
    await entry.runtime_data.coordinator.async_refresh()
    for key in unknown:
        assert sensor(hass, key) != STATE_UNKNOWN, key
