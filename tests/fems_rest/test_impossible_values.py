"""Values a FEMS cannot have are unknown, never shown, never used to bound a command.

And a port that answers, but not with the REST/JSON API, gets a clear form error.
"""

from __future__ import annotations

import json
import logging

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_flex.const import CONF_WRITE_PASSWORD, CONF_WRITE_PORT, DOMAIN
from simulators.faults import CannedAnswer
from simulators.fems_rest import FemsRestSimulator

from .conftest import HOSTNAME, READ_PASSWORD, WRITE_PASSWORD

# What FEMS's web interface (or any single-page app) answers on every path.
WEB_UI_PAGE = b"<!DOCTYPE html><html><head><title>FEMS</title></head><body></body></html>"


def state(hass: HomeAssistant, key: str, platform: str = "sensor") -> str:
    """The state of one of the FEMS entities by description key."""
    entity_id = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{HOSTNAME}_{key}")
    assert entity_id is not None, key
    current = hass.states.get(entity_id)
    assert current is not None, key
    return current.state


async def refresh(entry: MockConfigEntry) -> None:
    """Poll now."""
    await entry.runtime_data.coordinator.async_refresh()


_SOC_KEYS = {"state_of_charge", "stored_energy"}
_BATTERY_KEYS = {"battery_power", "battery_charge_power", "battery_discharge_power"}


@pytest.mark.usefixtures("static_every_poll")
@pytest.mark.parametrize(
    ("channel", "raw", "unknown"),
    [
        pytest.param("_sum/EssSoc", 150, _SOC_KEYS, id="soc_150"),
        pytest.param("_sum/EssSoc", -5, _SOC_KEYS, id="soc_negative"),
        pytest.param("_sum/EssSoc", 65531, _SOC_KEYS, id="soc_65531"),
        pytest.param("_sum/EssSoc", 10**400, _SOC_KEYS, id="soc_400_digits"),
        pytest.param("_sum/EssDischargePower", 2_147_483_647, _BATTERY_KEYS, id="power_int32"),
        pytest.param("_sum/GridActivePower", -(10**400), {"grid_power"}, id="grid_400_digits"),
        pytest.param("_sum/EssDcChargeEnergy", -5, {"battery_charged_energy"}, id="counter_neg"),
        pytest.param("_sum/ProductionActiveEnergy", 1e300, {"produced_energy"}, id="counter_1e300"),
        pytest.param(
            "_sum/EssCapacity", -10_000, {"usable_capacity", "stored_energy"}, id="capacity_neg"
        ),
    ],
)
async def test_impossible_value_is_unknown_for_its_entities_alone(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    channel: str,
    raw: int | float,
    unknown: set[str],
) -> None:
    """The poll succeeds; only what the value feeds is unknown, logged once at debug."""
    caplog.set_level(logging.DEBUG, logger="custom_components.energy_flex")
    fems.overrides[channel] = raw
    for _ in range(3):
        await refresh(fems_entry)
    assert fems_entry.runtime_data.coordinator.last_update_success
    for key in unknown:
        assert state(hass, key) == "unknown", key
    assert float(state(hass, "production_power")) == 2000
    assert float(state(hass, "consumption_power")) == 1000
    assert "Unexpected error" not in caplog.text
    assert "OverflowError" not in caplog.text
    refused = [line for line in caplog.messages if "cannot be true" in line]
    assert len(refused) <= len(unknown)
    fems.overrides.clear()
    await refresh(fems_entry)
    for key in unknown:
        assert state(hass, key) != "unknown", key


@pytest.mark.usefixtures("static_every_poll")
async def test_powers_are_bounded_by_the_rated_power(
    hass: HomeAssistant, fems: FemsRestSimulator, fems_entry: MockConfigEntry
) -> None:
    """`EssMaxApparentPower` says what the ESS can do: twice that is the most believed."""
    fems.overrides["_sum/EssMaxApparentPower"] = 5000
    fems.overrides["_sum/EssDischargePower"] = 10_000
    await refresh(fems_entry)
    assert float(state(hass, "battery_power")) == 10_000
    fems.overrides["_sum/EssDischargePower"] = 10_001
    await refresh(fems_entry)
    assert state(hass, "battery_power") == "unknown"
    # Without a rating (or with one that cannot be true) only the absolute bound holds.
    fems.overrides["_sum/EssMaxApparentPower"] = 2_147_483_647
    await refresh(fems_entry)
    assert float(state(hass, "battery_power")) == 10_001


async def test_impossible_allowed_power_bounds_no_command(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    fems_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """An allowed discharge of 2.1 GW is no bound: the setpoint is refused, nothing sent."""
    fems.overrides["ess0/AllowedDischargePower"] = 2_147_483_647
    await refresh(fems_entry)
    assert state(hass, "max_discharge_power") == "unknown"
    assert state(hass, "battery_power_setpoint", "number") == STATE_UNAVAILABLE
    writes = len(fems.writes.records)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_battery_power",
            {"entity_id": "binary_sensor.fems_fems12345_control_active", "power": 1_000_000},
            blocking=True,
        )
    assert err.value.translation_key == "setpoint_range_unknown"
    assert len(fems.writes.records) == writes

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, fems_entry)
    assert diagnostics["rejected_values"] == {
        "0/max_discharge_power": "2147483647.0: outside -10000 to 10000 W"
    }
    assert HOSTNAME not in json.dumps(diagnostics["rejected_values"])


async def open_fems_form(hass: HomeAssistant) -> str:
    """Start a flow and pick FEMS REST."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "fems_rest"}
    )
    return result["flow_id"]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(CannedAnswer(WEB_UI_PAGE, 200, "text/html"), id="web_ui_html"),
        pytest.param(CannedAnswer(b"", 200, "text/plain"), id="empty"),
        pytest.param(CannedAnswer(b'{"status": "ok"}', 200), id="other_json"),
    ],
)
async def test_a_port_without_the_api_gets_a_clear_form_error(
    hass: HomeAssistant,
    fems: FemsRestSimulator,
    caplog: pytest.LogCaptureFixture,
    answer: CannedAnswer,
) -> None:
    """The web interface's port answers 200 with HTML: a translated error, no traceback."""
    flow_id = await open_fems_form(hass)
    fems.faults.answer = answer
    form = {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: fems.read_port,
        CONF_PASSWORD: READ_PASSWORD,
        CONF_WRITE_PASSWORD: WRITE_PASSWORD,
        CONF_WRITE_PORT: fems.write_port,
    }
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "fems_rest_not_recognised"}
    assert "Unexpected error" not in caplog.text
    assert "Traceback" not in caplog.text
    assert fems.writes.records == []  # nothing was written to whatever answered
    fems.faults.reset()
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
