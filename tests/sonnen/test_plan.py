"""`reach_state_of_charge` on a sonnenBatterie: the backup buffer, the derived capacity,
the setpoint paths and refusals only this connection has.

The behaviour every connection shares is pinned in tests/common/test_plan.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from custom_components.energy_flex.api.sonnen import parse_status
from custom_components.energy_flex.vendors.sonnen.control import sonnen_battery_facts
from custom_components.energy_flex.vendors.sonnen.entities import SonnenData, usable_capacity
from simulators.sonnen import SonnenSimulator

from ..common.plan_harness import open_harness, reach, state, tick
from .conftest import FakeClock, make_sonnen, setpoints, setup_sonnen_entry

ONE_POLL = timedelta(seconds=11)


async def test_charging_takes_manual_mode_and_the_charge_path(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A plan upwards: manual mode, discharge 0, then `/setpoint/charge/<W>` (no sign there)."""
    async with open_harness(hass, "sonnen") as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        simulator: SonnenSimulator = harness.simulator
        (charge,) = [
            value for channel, value in setpoints(simulator) if channel.endswith("charge") and value
        ]
        assert setpoints(simulator) == [
            ("EM_OperatingMode", 1),
            ("setpoint/discharge", 0),
            ("setpoint/charge", charge),
        ]
        assert 1000 < charge < 1100  # 33 USOC points of 9.5 kWh in 3 h
        assert harness.battery.setpoint_w == -charge


async def test_a_target_below_the_backup_buffer_is_refused(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The buffer is the unit's own; Energy Flex never discharges into it."""
    async with open_harness(hass, "sonnen") as harness:
        simulator: SonnenSimulator = harness.simulator
        simulator.device.backup_buffer = 20
        await harness.entry.runtime_data.coordinator.async_refresh()
        with pytest.raises(ServiceValidationError) as raised:
            await reach(hass, harness, 10, "23:59:59")
        assert raised.value.translation_key == "plan_below_reserve"
        assert raised.value.translation_placeholders == {
            "name": "sonnenBatterie 330123",
            "target": "10",
            "reserve": "20",
        }
        assert setpoints(simulator) == []
        await reach(hass, harness, 20, dt_util.utcnow() + timedelta(hours=2))  # down to it: fine
        assert state(hass, harness.plan_sensor).state == "discharging_to_target"


async def test_a_buffer_raised_during_a_plan_ends_the_discharge_there(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The owner raises the buffer to 40 % while a plan discharges to 25 %: it stops at 40 %."""
    async with open_harness(hass, "sonnen") as harness:
        simulator: SonnenSimulator = harness.simulator
        await reach(hass, harness, 25, dt_util.utcnow() + timedelta(hours=2))
        simulator.device.backup_buffer = 40
        harness.show_soc(40)
        await tick(hass, freezer, ONE_POLL)
        assert state(hass, harness.plan_sensor).state == "idle"
        assert setpoints(simulator)[-1] == ("EM_OperatingMode", 2)  # handed back


async def test_a_unit_that_reports_no_remaining_energy_cannot_be_planned(
    hass: HomeAssistant, clock: FakeClock
) -> None:
    """US ecoLinx sends neither remaining-capacity key: nothing to derive the capacity from."""
    async with make_sonnen("us", clock=clock) as simulator:
        await setup_sonnen_entry(hass, simulator, unique_id="US81234")
        with pytest.raises(ServiceValidationError) as raised:
            await hass.services.async_call(
                "energy_flex",
                "reach_state_of_charge",
                {
                    "entity_id": "sensor.sonnenbatterie_us81234_control_plan",
                    "state_of_charge": 80,
                    "by": "23:59:59",
                },
                blocking=True,
            )
        assert raised.value.translation_key == "plan_capacity_unknown"
        assert setpoints(simulator) == []


async def test_off_grid_refuses(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Off grid the unit takes no setpoints: the controller's own refusal, nothing sent."""
    async with open_harness(hass, "sonnen") as harness:
        simulator: SonnenSimulator = harness.simulator
        simulator.overrides["SystemStatus"] = "OffGrid"
        await harness.entry.runtime_data.coordinator.async_refresh()
        with pytest.raises(ServiceValidationError) as raised:
            await reach(hass, harness, 80, "23:59:59")
        assert raised.value.translation_key == "sonnen_off_grid"
        assert setpoints(simulator) == []


# --- the capacity sonnen does not report ------------------------------------------------------


def status(**keys: Any) -> SonnenData:
    return SonnenData(status=parse_status(keys), energy=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("keys", "capacity"),
    [
        # 5000 Wh at RSOC 50: 10 kWh in all; USOC 47 of the 53 points still missing … 9434 Wh.
        ({"RemainingCapacity_Wh": 5000, "RSOC": 50, "USOC": 47}, 10_000 * 50 / 53),
        # Older firmware names the same Wh `RemainingCapacity_W`.
        ({"RemainingCapacity_W": 5000, "RSOC": 50, "USOC": 50}, 10_000),
        # Full: the two scales cannot be told apart; the whole battery.
        ({"RemainingCapacity_Wh": 10_000, "RSOC": 100, "USOC": 100}, 10_000),
        # USOC above RSOC cannot be: never more than the whole battery.
        ({"RemainingCapacity_Wh": 5000, "RSOC": 50, "USOC": 60}, 10_000),
        ({"RSOC": 50, "USOC": 47}, None),  # US ecoLinx: no remaining energy
        ({"RemainingCapacity_Wh": 0, "RSOC": 0, "USOC": 0}, None),  # empty: nothing to divide
        ({"RemainingCapacity_Wh": 5000, "USOC": 47}, None),
    ],
)
def test_usable_capacity_is_derived_from_remaining_energy_rsoc_and_usoc(
    keys: dict[str, Any], capacity: float | None
) -> None:
    derived = usable_capacity(status(**keys).status)
    assert derived == (None if capacity is None else pytest.approx(capacity))


def test_the_facts_are_usoc_the_derived_capacity_and_the_backup_buffer() -> None:
    facts = sonnen_battery_facts(
        status(RemainingCapacity_Wh=5000, RSOC=50, USOC=47, BackupBuffer="20")
    )
    assert facts.state_of_charge == 47
    assert facts.usable_capacity == pytest.approx(10_000 * 50 / 53)
    assert facts.reserve == 20
