"""`reach_state_of_charge` on a FEMS over Modbus: read-only refusal, firmware without capacity.

The behaviour every connection shares is pinned in tests/common/test_plan.py.
"""

from __future__ import annotations

import pytest
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from custom_components.energy_flex.const import DOMAIN

from .conftest import EMS_SERIAL, FakeClock, make_simulator, setup_entry

TARGET = f"sensor.fems_{EMS_SERIAL.lower()}_state_of_charge"


async def call(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        DOMAIN,
        "reach_state_of_charge",
        {ATTR_ENTITY_ID: TARGET, "state_of_charge": 80, "by": "23:59:59"},
        blocking=True,
    )


@pytest.mark.parametrize(
    ("read_write", "firmware", "key"),
    [
        # Without the read-write Modbus app the FEMS ignores writes: read-only, says so.
        (False, "2026.5.0", "plan_read_only"),
        # EssCapacity (register 420) came with 2024.11: nothing to plan with before.
        (True, "2024.10.0", "plan_capacity_unknown"),
    ],
)
async def test_refused_with_the_reason_and_nothing_written(
    hass: HomeAssistant, clock: FakeClock, read_write: bool, firmware: str, key: str
) -> None:
    async with make_simulator(clock, firmware=firmware) as simulator:
        await setup_entry(hass, simulator, read_write=read_write)
        with pytest.raises(ServiceValidationError) as raised:
            await call(hass)
        assert raised.value.translation_key == key
        assert raised.value.translation_placeholders == {"name": f"FEMS {EMS_SERIAL}"}
        assert simulator.writes.records == []
