"""Entities write their state only when what they show changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.battery import BatteryModel, FixedProfile
from simulators.fems_rest import FemsRestSimulator

from .conftest import HOSTNAME, READ_PASSWORD, WRITE_PASSWORD, setup_fems_entry

SENSOR = "sensor.fems_fems12345_"
SETPOINT = "number.fems_fems12345_battery_power_setpoint"
GRID_POWER = SENSOR + "grid_power"


class FakeClock:
    """The simulator's time stands still unless a test moves it."""

    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def still_fems() -> AsyncIterator[FemsRestSimulator]:
    """A FEMS whose values do not move by themselves (clock stopped, fixed PV and load)."""
    clock = FakeClock()
    simulator = FemsRestSimulator(
        battery=BatteryModel(profile=FixedProfile(pv=2000, load=1000), soc=50, clock=clock),
        clock=clock,
        passwords={"owner": WRITE_PASSWORD, "guest": READ_PASSWORD},
        hostname=HOSTNAME,
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


class StateEvents:
    """Counts state_changed and state_reported events per entity of one entry."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        registry = er.async_get(hass)
        self.entity_ids = {
            entity.entity_id
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
            if entity.disabled_by is None
        }
        self.changed: Counter[str] = Counter()
        self.reported: Counter[str] = Counter()
        hass.bus.async_listen(EVENT_STATE_CHANGED, self._count(self.changed), self._ours)
        hass.bus.async_listen(EVENT_STATE_REPORTED, self._count(self.reported), self._ours)

    @callback
    def _ours(self, event_data: Mapping[str, Any]) -> bool:
        return event_data["entity_id"] in self.entity_ids

    @staticmethod
    def _count(counter: Counter[str]) -> Callable[[Event], None]:
        @callback
        def listener(event: Event) -> None:
            counter[event.data["entity_id"]] += 1

        return listener

    def clear(self) -> None:
        self.changed.clear()
        self.reported.clear()


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_unchanged_values_write_no_state(
    hass: HomeAssistant, still_fems: FemsRestSimulator
) -> None:
    """A poll that brings the same values writes nothing: no event, not even "reported"."""
    entry = await setup_fems_entry(hass, still_fems)
    events = StateEvents(hass, entry)
    assert len(events.entity_ids) >= 19
    for _ in range(3):
        await _poll(hass, entry)
    assert events.changed == Counter()
    assert events.reported == Counter()


async def test_a_changed_value_writes_only_the_entities_that_show_it(
    hass: HomeAssistant, still_fems: FemsRestSimulator
) -> None:
    """A new state of charge changes state of charge and stored energy, nothing else."""
    entry = await setup_fems_entry(hass, still_fems)
    events = StateEvents(hass, entry)
    still_fems.overrides["_sum/EssSoc"] = 61
    await _poll(hass, entry)
    assert set(events.changed) == {SENSOR + "state_of_charge", SENSOR + "stored_energy"}
    assert hass.states.get(SENSOR + "state_of_charge").state == "61.0"
    assert events.reported == Counter()


async def test_availability_changes_are_written(
    hass: HomeAssistant, still_fems: FemsRestSimulator
) -> None:
    """A failed poll makes every sensor unavailable at once; the next good one restores them."""
    entry = await setup_fems_entry(hass, still_fems)
    events = StateEvents(hass, entry)
    still_fems.faults.error_status = 503
    await _poll(hass, entry)
    assert hass.states.get(GRID_POWER).state == STATE_UNAVAILABLE
    # `control_plan` is Energy Flex's own state: available through an outage, not rewritten.
    plan = SENSOR + "control_plan"
    sensors = {
        entity_id
        for entity_id in events.entity_ids
        if entity_id.startswith("sensor.") and entity_id != plan
    }
    assert set(events.changed) >= sensors
    assert plan not in events.changed
    events.clear()
    await _poll(hass, entry)  # still failing: nothing new to show
    assert events.changed == Counter()
    still_fems.faults.reset()
    await _poll(hass, entry)
    assert set(events.changed) >= sensors
    assert hass.states.get(GRID_POWER).state != STATE_UNAVAILABLE


async def test_changed_attributes_are_written(
    hass: HomeAssistant, still_fems: FemsRestSimulator
) -> None:
    """The setpoint's bounds follow the allowed power: a new bound is a new state write."""
    entry = await setup_fems_entry(hass, still_fems)
    events = StateEvents(hass, entry)
    assert hass.states.get(SETPOINT).attributes["max"] == 5000
    still_fems.overrides["ess0/AllowedDischargePower"] = 3000
    await _poll(hass, entry)
    assert hass.states.get(SETPOINT).attributes["max"] == 3000
    assert events.changed[SETPOINT] == 1
    await _poll(hass, entry)
    assert events.changed[SETPOINT] == 1


async def test_writes_outside_polls_are_remembered(
    hass: HomeAssistant, still_fems: FemsRestSimulator
) -> None:
    """A setpoint shown between polls, then released: the poll after shows the release."""
    entry = await setup_fems_entry(hass, still_fems)
    await hass.services.async_call(
        "number", "set_value", {"entity_id": SETPOINT, "value": -1500}, blocking=True
    )
    assert hass.states.get(SETPOINT).state == "-1500.0"
    await entry.runtime_data.devices[0].controller.async_release()
    await _poll(hass, entry)
    assert hass.states.get(SETPOINT).state == "unknown"
