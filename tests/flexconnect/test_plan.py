"""`reach_state_of_charge` on FlexConnect batteries: the + charge wire sign, commands that
arrive late, the mode select, a capacity derived from the energy, several batteries at once.

The behaviour every connection shares is pinned in tests/common/test_plan.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from custom_components.energy_flex.api.flexconnect import BatteryControl, BatteryState
from custom_components.energy_flex.vendors.flexconnect.control import flexconnect_battery_facts
from custom_components.energy_flex.vendors.flexconnect.entities import FlexConnectBatteryData
from simulators.flexconnect import FlexConnectSimulator
from simulators.flexconnect.battery import ControlMode, StateOfOperation

from ..common.plan_harness import open_harness, reach, state, tick
from .conftest import SKI_A, SKI_B, entity_id, setup_entry


def modifies(simulator: FlexConnectSimulator, ski: str = SKI_A) -> list[tuple[int, float]]:
    """(mode, setpoint as sent: + charge) of every command one battery received."""
    return [
        (record.control_mode, float(record.setpoint_w))
        for record in simulator.modifies
        if record.ski == ski
    ]


async def test_charging_goes_out_positive_in_power_mode(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """FlexConnect's setpoint is + charge: a plan upwards sends +1000 W in mode POWER."""
    async with open_harness(hass, "flexconnect") as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        assert modifies(harness.simulator) == [(ControlMode.POWER, 1000.0)]
        assert harness.battery.setpoint_w is None  # on its way (30 s)
        await tick(hass, freezer, timedelta(seconds=31))
        assert harness.battery.setpoint_w == -1000  # charging, in the model's sign


async def test_no_second_command_while_the_first_travels(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The battery does not move until the command arrives; the polls every 5 s ask for only
    a little more, within the re-send band, so the command is left to arrive."""
    async with open_harness(hass, "flexconnect") as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=1))
        for _ in range(6):
            await tick(hass, freezer, timedelta(seconds=5))
        assert modifies(harness.simulator) == [(ControlMode.POWER, 3000.0)]
        assert state(hass, harness.plan_sensor).attributes["planned_power"] < -3000


async def test_choosing_a_mode_cancels_the_plan(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """`control_mode` → auto hands the battery over: the plan ends there."""
    async with open_harness(hass, "flexconnect") as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=1))
        await hass.services.async_call(
            SELECT_DOMAIN,
            SERVICE_SELECT_OPTION,
            {ATTR_ENTITY_ID: harness.entity("select", "control_mode"), ATTR_OPTION: "auto"},
            blocking=True,
        )
        assert state(hass, harness.plan_sensor).state == "idle"
        assert modifies(harness.simulator)[-1] == (ControlMode.AUTO, 0.0)


async def test_a_battery_that_takes_no_commands_refuses(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    async with open_harness(hass, "flexconnect") as harness:
        simulator: FlexConnectSimulator = harness.simulator
        simulator.battery(SKI_A).state_of_operation = StateOfOperation.OFF
        await harness.entry.runtime_data.coordinator.async_refresh()
        with pytest.raises(ServiceValidationError) as raised:
            await reach(hass, harness, 80, "23:59:59")
        assert raised.value.translation_key == "battery_not_controllable"
        assert modifies(simulator) == []


async def test_several_batteries_at_once_or_none(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flexconnect: FlexConnectSimulator
) -> None:
    """Every target is checked before any is sent to: one refusal sends nothing at all."""
    await setup_entry(hass, flexconnect)
    targets = {
        ATTR_ENTITY_ID: [
            entity_id("sensor", "state_of_charge", SKI_A),
            entity_id("sensor", "state_of_charge", SKI_B),
        ]
    }
    flexconnect.battery(SKI_B).state_of_operation = StateOfOperation.FAILURE
    await hass.config_entries.async_entries("energy_flex")[
        0
    ].runtime_data.coordinator.async_refresh()
    data = {**targets, "state_of_charge": 80, "by": "23:59:59"}
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call("energy_flex", "reach_state_of_charge", data, blocking=True)
    assert flexconnect.modifies == []

    flexconnect.battery(SKI_B).state_of_operation = StateOfOperation.NORMAL
    await hass.config_entries.async_entries("energy_flex")[
        0
    ].runtime_data.coordinator.async_refresh()
    response = await hass.services.async_call(
        "energy_flex", "reach_state_of_charge", data, blocking=True, return_response=True
    )
    assert response is not None
    assert len(response["plans"]) == 2  # type: ignore[arg-type]
    assert {record.ski for record in flexconnect.modifies} == {SKI_A, SKI_B}
    for ski in (SKI_A, SKI_B):
        assert state(hass, entity_id("sensor", "control_plan", ski)).state == "charging_to_target"


def test_capacity_from_the_energy_when_the_battery_omits_it() -> None:
    """`stateOfEnergy` ÷ `stateOfCharge`: 680 Wh at 34 % is 2 kWh (the vendor's example)."""
    data = FlexConnectBatteryData(
        state=BatteryState(state_of_charge=34, state_of_energy=680),
        control=BatteryControl(),
    )
    facts = flexconnect_battery_facts(data)
    assert facts.state_of_charge == 34
    assert facts.usable_capacity == pytest.approx(2000)
    assert (
        flexconnect_battery_facts(
            FlexConnectBatteryData(state=BatteryState(state_of_charge=0), control=BatteryControl())
        ).usable_capacity
        is None
    )


async def test_a_battery_that_does_not_answer_refuses(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, flexconnect: FlexConnectSimulator
) -> None:
    """The other battery answers, this one not: no plan from its last numbers."""
    entry = await setup_entry(hass, flexconnect)
    flexconnect.battery(SKI_B).online = False
    await entry.runtime_data.coordinator.async_refresh()
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            "energy_flex",
            "reach_state_of_charge",
            {
                ATTR_ENTITY_ID: entity_id("sensor", "control_plan", SKI_B),
                "state_of_charge": 80,
                "by": "23:59:59",
            },
            blocking=True,
        )
    assert raised.value.translation_key == "battery_unavailable"
    assert flexconnect.modifies == []
