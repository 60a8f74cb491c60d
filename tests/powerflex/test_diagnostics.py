"""PowerFlex diagnostics are redacted, and no secret reaches any log line."""

from __future__ import annotations

import json
import logging

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_flex.const import (
    CONF_REAL_TIME_LOAD_ENTITY,
    DOMAIN,
)
from simulators.powerflex import PowerFlexSimulator

from .conftest import JWT_PREFIX, PASSWORD, SITE, USERNAME, entity_id, setup_entry, tick


async def test_diagnostics_are_redacted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
) -> None:
    """Login, password, URL and identity redacted; the poll and client facts shown."""
    hass.states.async_set("sensor.house", "1500", {"unit_of_measurement": "W"})
    entry = await setup_entry(hass, site_sim, {CONF_REAL_TIME_LOAD_ENTITY: "sensor.house"})
    site_sim.plug_in(SITE, 1)
    await tick(hass, freezer, 30)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for secret in (PASSWORD, USERNAME, "127.0.0.1", JWT_PREFIX):
        assert secret not in text
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["url"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["site_id"] == SITE
    client = diagnostics["client"]
    assert client["logins"] == 1
    assert client["power_unit"] == "mW"
    assert client["stations"] == 3
    assert client["real_time_load"]["last_sent_kw"] == 2
    assert diagnostics["data"]["signal"]["max_load"] == 21.616
    assert diagnostics["data"]["snapshot"]["stations"]["1"]["current_a"] == 32.0
    await hass.config_entries.async_unload(entry.entry_id)


async def test_no_secret_in_any_log_line(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through setup, writes, refusals, outages and a rejected login, nothing leaks."""
    caplog.set_level(logging.DEBUG)
    entry = await setup_entry(hass, site_sim)
    token = entry.runtime_data.vendor_data._client._token.value  # type: ignore[attr-defined]
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": entity_id(hass, "number", "dcm_max_load"), "value": 12},
        blocking=True,
    )
    site_sim.measurement_answers["ct_response"] = {"error": f"query {token} {PASSWORD}"}
    await tick(hass, freezer, 30)
    site_sim.measurement_answers.clear()
    site_sim.reject_tokens = True
    await tick(hass, freezer, 30)
    site_sim.reject_tokens = False
    site_sim.faults.error_status = 503
    await tick(hass, freezer, 3600)
    site_sim.faults.reset()
    site_sim.password = "rotated"
    site_sim.revoke_tokens()
    await tick(hass, freezer, 3600)
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert caplog.records
    for secret in (PASSWORD, token, JWT_PREFIX, "rotated"):
        assert secret not in caplog.text
