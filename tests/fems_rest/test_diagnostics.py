"""Diagnostics are redacted and no secret reaches any log line."""

from __future__ import annotations

import json
import logging

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulators.fems_rest import FemsRestSimulator

from .conftest import HOSTNAME, READ_PASSWORD, WRITE_PASSWORD


async def test_diagnostics_are_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
) -> None:
    """Passwords, host and hostname are redacted; the last poll is included."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, fems_entry)
    text = json.dumps(diagnostics)
    for secret in (READ_PASSWORD, WRITE_PASSWORD, HOSTNAME, "127.0.0.1"):
        assert secret not in text
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["data"]["soc"] is not None
    # Which values this FEMS has at all, as a plain list.
    assert "capacity" in diagnostics["data"]["present"]
    assert diagnostics["data"]["present"] == sorted(diagnostics["data"]["present"])
    assert diagnostics["control"]["0"]["active"] is False
    assert diagnostics["client"] == {"can_write": True}


async def test_no_secret_in_any_log_line(
    hass: HomeAssistant, fems: FemsRestSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Through setup, errors, auth failures and writes, no password is ever logged."""
    from .conftest import setup_fems_entry  # noqa: PLC0415

    caplog.set_level(logging.DEBUG)
    entry = await setup_fems_entry(hass, fems)
    await hass.services.async_call(
        "energy_flex",
        "set_battery_power",
        {"entity_id": "sensor.fems_fems12345_state_of_charge", "power": 500},
        blocking=True,
    )
    fems.faults.error_status = 503
    await entry.runtime_data.coordinator.async_refresh()
    fems.faults.reset()
    fems.passwords["guest"] = "rotated"
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()
    assert caplog.records
    for secret in (READ_PASSWORD, WRITE_PASSWORD):
        assert secret not in caplog.text
