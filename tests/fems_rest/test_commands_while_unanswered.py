"""While a device does not answer its polls, new commands are refused; holding and
releasing what is already held go on (issue 14: nothing half-done during a fault)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import DOMAIN
from simulators.faults import CannedAnswer
from simulators.fems_rest import FemsRestSimulator

SETPOINT = "number.fems_fems12345_battery_power_setpoint"
EQUALS = "ess0/SetActivePowerEquals"


def writes(simulator: FemsRestSimulator) -> list[Any]:
    """The values the device accepted for the battery setpoint, in order."""
    return [record.value for record in simulator.writes.for_channel(EQUALS)]


async def set_power(hass: HomeAssistant, power: float) -> None:
    """`energy_flex.set_battery_power` on the FEMS."""
    await hass.services.async_call(
        DOMAIN, "set_battery_power", {ATTR_ENTITY_ID: SETPOINT, "power": power}, blocking=True
    )


async def release(hass: HomeAssistant) -> None:
    """`energy_flex.release_control` on the FEMS."""
    await hass.services.async_call(
        DOMAIN, "release_control", {ATTR_ENTITY_ID: SETPOINT}, blocking=True
    )


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move time and let every timer and background task that became due run."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize(
    "break_reads",
    [
        pytest.param(lambda fems: setattr(fems.faults, "error_status", 503), id="http_503"),
        # A proxy or the web interface answering 200 with HTML: a write would "succeed".
        pytest.param(
            lambda fems: setattr(
                fems.faults, "answer", CannedAnswer(b"<html></html>", 200, "text/html")
            ),
            id="html_200",
        ),
    ],
)
async def test_new_commands_wait_for_an_answering_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    break_reads: Any,
) -> None:
    """Refused with a translated error and nothing sent; accepted again after a good poll."""
    break_reads(fems)
    fems.faults.methods = frozenset({"GET"})
    await tick(hass, freezer, 10)
    assert not fems_entry.runtime_data.coordinator.last_update_success
    with pytest.raises(ServiceValidationError) as err:
        await set_power(hass, 1000)
    assert err.value.translation_key == "battery_unavailable"
    assert writes(fems) == []
    assert fems.battery.setpoint_w is None

    fems.faults.reset()
    await tick(hass, freezer, 10)
    await set_power(hass, 1000)
    assert writes(fems)[-1] == 1000
    assert fems.battery.setpoint_w == 1000


async def test_held_setpoint_is_repeated_and_released_during_an_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
) -> None:
    """Reads fail, writes work: the keep-alive goes on and release still reaches the device."""
    await set_power(hass, -800)
    fems.faults.error_status = 503
    fems.faults.methods = frozenset({"GET"})
    await tick(hass, freezer, 31)
    assert not fems_entry.runtime_data.coordinator.last_update_success
    assert writes(fems)[-2:] == [-800, -800]  # repeated by the keep-alive
    await release(hass)
    assert writes(fems)[-1] is None
    assert fems.battery.setpoint_w is None
