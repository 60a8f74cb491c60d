"""`reach_state_of_charge` on a FEMS over REST: what only this connection shows.

The behaviour every connection shares is pinned in tests/common/test_plan.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_flex.const import DOMAIN, SetpointKind
from simulators.fems_rest import FemsRestSimulator

from ..common.plan_harness import advance, open_harness, reach, state, tick
from .conftest import setup_fems_entry

EQUALS = "ess0/SetActivePowerEquals"
SETPOINT = "sensor.fems_fems12345_state_of_charge"  # any entity of the device targets it


async def call(hass: HomeAssistant, soc: float, by: str = "23:59:59") -> None:
    await hass.services.async_call(
        DOMAIN,
        "reach_state_of_charge",
        {ATTR_ENTITY_ID: SETPOINT, "state_of_charge": soc, "by": by},
        blocking=True,
    )


async def test_read_only_refuses_and_says_why(hass: HomeAssistant, fems: FemsRestSimulator) -> None:
    """Without the owner password there is no write access: refused, nothing sent."""
    await setup_fems_entry(hass, fems, write=False)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, 80)
    assert raised.value.translation_key == "plan_read_only"
    assert raised.value.translation_placeholders == {"name": "FEMS fems12345"}
    assert "read-only" in str(raised.value)
    assert fems.writes.records == []
    assert hass.states.get("sensor.fems_fems12345_control_plan") is None


async def test_a_device_that_is_not_a_battery_refuses(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """PowerFlex charging stations are devices without battery facts; until that connection
    exists, a FEMS device stripped of its facts stands in for one."""
    fems_entry.runtime_data.devices[0].battery = None
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, 80)
    assert raised.value.translation_key == "plan_not_a_battery"
    assert "not a battery" in str(raised.value)
    assert fems.writes.records == []


async def test_without_a_reported_capacity_nothing_is_planned(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """A firmware without `_sum/EssCapacity` cannot be planned: said so, nothing sent."""
    fems.absent.add("_sum/EssCapacity")
    await setup_fems_entry(hass, fems)
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, 80)
    assert raised.value.translation_key == "plan_capacity_unknown"
    assert fems.writes.records == []


async def test_an_unreachable_fems_refuses(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """The last poll failed: no plan from stale numbers."""
    fems.faults.drop_connection = True
    await fems_entry.runtime_data.coordinator.async_refresh()
    with pytest.raises(ServiceValidationError) as raised:
        await call(hass, 80)
    assert raised.value.translation_key == "battery_unavailable"
    assert fems.writes.records == []


async def test_the_allowed_charge_power_caps_the_plan(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The FEMS allows 3 kW (`ess0/AllowedChargePower`): a plan needing 10 kW runs at 3 kW."""
    async with open_harness(hass, "fems_rest", max_power=3000) as harness:
        await reach(hass, harness, 100, dt_util.utcnow() + timedelta(minutes=30))
        assert harness.commands() == [-3000]
        assert state(hass, harness.plan_sensor).attributes["reachable"] is False


async def test_a_plan_on_track_writes_only_the_keep_alive(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A battery that follows exactly needs no new power: only the same value, repeated."""
    async with open_harness(hass, "fems_rest") as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        for _ in range(12):  # two minutes of polls and keep-alives
            await tick(hass, freezer, timedelta(seconds=10))
        assert harness.commands() == [-1000]
        assert len(harness.received()) >= 4  # repeated every 30 s


async def test_offline_mid_plan_holds_and_re_plans_when_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Polls that fail do not end the plan; the next answer re-plans from where it is."""
    async with open_harness(hass, "fems_rest") as harness:
        deadline = dt_util.utcnow() + timedelta(hours=2)
        await reach(hass, harness, 80, deadline)  # 1500 W
        rest: FemsRestSimulator = harness.simulator
        rest.faults.drop_connection = True
        await advance(hass, freezer, timedelta(minutes=30))
        assert state(hass, harness.plan_sensor).state == "charging_to_target"
        harness.battery.step()
        harness.battery.soc = 55  # it lost ground meanwhile
        rest.faults.drop_connection = False
        await advance(hass, freezer, timedelta(minutes=2), step=timedelta(seconds=30))
        assert harness.entry.runtime_data.coordinator.last_update_success
        # What is left from what the FEMS shows now (55 % and two minutes of charging).
        shown = float(state(hass, "sensor.fems_fems12345_state_of_charge").state)
        assert 55 <= shown < 60
        planned = state(hass, harness.plan_sensor).attributes["planned_power"]
        harness.assert_power(planned, harness.expected_power(80, shown, deadline))
        assert planned < -1500  # more than planned at the start: ground was lost
        assert harness.commands()[-1] == planned


async def test_soc_unknown_now_refuses(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """`_sum/EssSoc` is null right now: no plan from a guess."""
    async with open_harness(hass, "fems_rest") as harness:
        rest: FemsRestSimulator = harness.simulator
        rest.undefined.add("_sum/EssSoc")
        await harness.entry.runtime_data.coordinator.async_refresh()
        with pytest.raises(ServiceValidationError) as raised:
            await reach(hass, harness, 80, "23:59:59")
        assert raised.value.translation_key == "plan_state_of_charge_unknown"
        assert harness.received() == []


async def test_no_target_at_all_refuses(hass: HomeAssistant, fems_entry: MockConfigEntry) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "reach_state_of_charge",
            {"device_id": "no-such-device", "state_of_charge": 80, "by": "23:59:59"},
            blocking=True,
        )
    assert raised.value.translation_key == "no_controllable_target"


@pytest.mark.usefixtures("static_every_poll")
@pytest.mark.parametrize("channel", ["_sum/EssSoc", "_sum/EssCapacity", "ess0/AllowedChargePower"])
async def test_a_value_missing_mid_plan_keeps_what_is_held(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, channel: str
) -> None:
    """State of charge, capacity or bounds undefined for a while: the plan holds its power,
    and re-plans once the value is back."""
    async with open_harness(hass, "fems_rest") as harness:
        rest: FemsRestSimulator = harness.simulator
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        rest.undefined.add(channel)
        harness.battery.step()
        harness.battery.soc = 40  # would need far more power, if it were known
        await advance(hass, freezer, timedelta(minutes=3), step=timedelta(seconds=10))
        assert harness.commands() == [-1000]
        assert state(hass, harness.plan_sensor).state == "charging_to_target"
        rest.undefined.discard(channel)
        await tick(hass, freezer, timedelta(seconds=10))
        assert harness.commands()[-1] is not None
        assert harness.commands()[-1] < -1300  # 40 points in under 3 h


async def test_at_the_target_a_held_setpoint_is_handed_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A plan whose target is reached already ends at once, and so does what was held."""
    async with open_harness(hass, "fems_rest") as harness:
        await hass.services.async_call(
            "number",
            "set_value",
            {ATTR_ENTITY_ID: harness.setpoint, "value": -500},
            blocking=True,
        )
        await reach(hass, harness, 50.2, "23:59:59")
        assert harness.commands() == [-500, None]
        assert state(hass, harness.plan_sensor).state == "idle"


async def test_a_re_plan_never_overrides_a_command_given_meanwhile(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A re-plan and a manual setpoint at the same moment: the manual one stays held."""
    async with open_harness(hass, "fems_rest") as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        controller = harness.entry.runtime_data.devices[0].controller
        assert controller is not None
        plan = controller.plan(SetpointKind.BATTERY_POWER)
        assert plan is not None
        assert await controller.async_adjust(SetpointKind.BATTERY_POWER, -1000, plan)  # held
        manual = hass.async_create_task(controller.async_set(SetpointKind.BATTERY_POWER, -500))
        replanned = hass.async_create_task(
            controller.async_adjust(SetpointKind.BATTERY_POWER, -1100, plan)
        )
        assert await replanned is False
        await manual
        assert harness.commands() == [-1000, -500]
        assert controller.held(SetpointKind.BATTERY_POWER) == -500
        assert controller.plan(SetpointKind.BATTERY_POWER) is None


async def test_a_failing_re_plan_is_logged_once_and_recovers(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The FEMS refuses writes for a while: one warning, the plan goes on, then it works."""
    async with open_harness(hass, "fems_rest") as harness:
        rest: FemsRestSimulator = harness.simulator
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        rest.faults.error_status = 500
        rest.faults.methods = frozenset({"POST"})
        harness.battery.step()
        harness.battery.soc = 40
        await advance(hass, freezer, timedelta(minutes=1), step=timedelta(seconds=10))
        assert caplog.text.count("Could not re-plan FEMS fems12345") == 1
        assert state(hass, harness.plan_sensor).state == "charging_to_target"
        rest.faults.reset()
        await tick(hass, freezer, timedelta(seconds=10))
        assert "Re-planning FEMS fems12345 works again" in caplog.text
        assert harness.commands()[-1] < -1300


async def test_a_plan_at_its_target_never_ends_a_command_given_meanwhile(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The target shows while a manual setpoint is on its way: the manual one stays."""
    async with open_harness(hass, "fems_rest") as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        controller = harness.entry.runtime_data.devices[0].controller
        assert controller is not None
        plan = controller.plan(SetpointKind.BATTERY_POWER)
        assert plan is not None
        manual = hass.async_create_task(controller.async_set(SetpointKind.BATTERY_POWER, -500))
        ended = hass.async_create_task(
            controller.async_release((SetpointKind.BATTERY_POWER,), plan=plan)
        )
        await ended
        await manual
        assert harness.commands() == [-1000, -500]
        assert controller.held(SetpointKind.BATTERY_POWER) == -500


async def test_diagnostics_show_the_running_plan(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, freezer: FrozenDateTimeFactory
) -> None:
    async with open_harness(hass, "fems_rest") as harness:
        deadline = dt_util.utcnow() + timedelta(hours=3)
        await reach(hass, harness, 80, deadline)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, harness.entry)
        assert diagnostics["control"]["0"]["plan"] == {
            "target": 80.0,
            "deadline": deadline.isoformat(),
            "direction": "charge",
            "max_power": None,
        }
        assert diagnostics["control"]["0"]["held"]["battery_power"] == -1000


async def test_by_as_the_ui_sends_it_is_local_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The date-time picker sends "YYYY-MM-DD HH:MM:SS" without a zone: Home Assistant's."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    async with open_harness(hass, "fems_rest") as harness:
        deadline = (dt_util.utcnow() + timedelta(hours=3)).replace(microsecond=0)
        local = dt_util.as_local(deadline).replace(tzinfo=None)
        await reach(hass, harness, 80, local.isoformat(" "))
        plan = state(hass, harness.plan_sensor)
        assert plan.attributes["deadline"] == deadline.isoformat()
        harness.assert_power(harness.commands()[0] or 0, harness.expected_power(80, 50, deadline))
