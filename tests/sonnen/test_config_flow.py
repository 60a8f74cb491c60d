"""sonnen config flow: menu, form, identity, every error, duplicate, reconfigure, options."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import CONF_CONNECTION, DOMAIN
from simulators.sonnen import SonnenSimulator

from .conftest import SERIAL, FakeClock, make_sonnen, setup_sonnen_entry, sonnen_entry


def form_input(simulator: SonnenSimulator, **changes: Any) -> dict[str, Any]:
    """What a user types to reach `simulator`."""
    return {CONF_HOST: "127.0.0.1", CONF_PORT: simulator.port, **changes}


async def open_form(hass: HomeAssistant) -> str:
    """Start a flow, pick sonnen in the menu, return the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "sonnen" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "sonnen"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "sonnen"
    return result["flow_id"]


async def test_user_flow_creates_entry_by_serial(
    hass: HomeAssistant, sonnen: SonnenSimulator
) -> None:
    """Menu → form → an entry named and identified by the unit's serial number."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(sonnen))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"sonnenBatterie {SERIAL}"
    assert result["result"].unique_id == SERIAL
    assert result["data"] == {
        CONF_CONNECTION: "sonnen",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sonnen.port,
    }
    assert sonnen.writes.records == []  # setting up never writes
    await hass.async_block_till_done()


async def test_unit_without_serial_is_identified_by_address(
    hass: HomeAssistant, clock: FakeClock
) -> None:
    """Firmware without the configuration endpoint: host and port identify it."""
    async with make_sonnen(clock=clock, settings_api=False) as simulator:
        flow_id = await open_form(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, form_input(simulator))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == f"127.0.0.1:{simulator.port}"
        assert result["title"] == "sonnenBatterie 127.0.0.1"
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        (lambda sim: setattr(sim, "api_disabled", True), "sonnen_api_disabled"),
        (lambda sim: sim.return_codes.update(status=13), "sonnen_device_error"),
        (lambda sim: sim.return_codes.update(configuration=8), "sonnen_device_error"),
        (lambda sim: setattr(sim.faults, "malformed_body", True), "sonnen_not_recognised"),
        (lambda sim: setattr(sim.faults, "error_status", 503), "cannot_connect"),
    ],
)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant, sonnen: SonnenSimulator, break_it: Any, error: str
) -> None:
    """Each failure shows its translated error; a retry once it is fixed succeeds."""
    flow_id = await open_form(hass)
    break_it(sonnen)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(sonnen))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    sonnen.api_disabled = False
    sonnen.return_codes.clear()
    sonnen.faults.reset()
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(sonnen))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_nothing_listening(hass: HomeAssistant, sonnen: SonnenSimulator) -> None:
    """A wrong port is `cannot_connect`."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(sonnen, port=1))
    assert result["errors"] == {"base": "cannot_connect"}


async def test_duplicate_is_aborted(hass: HomeAssistant, sonnen: SonnenSimulator) -> None:
    """The same unit cannot be added twice."""
    await setup_sonnen_entry(hass, sonnen)
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(sonnen))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_moves_an_address_identified_entry(
    hass: HomeAssistant, clock: FakeClock
) -> None:
    """Identified only by its address, the entry follows the unit to its new address."""
    async with make_sonnen(clock=clock, settings_api=False) as simulator:
        entry = sonnen_entry(hass, simulator, unique_id="10.0.0.9:8080", title="sonnenBatterie")
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(simulator)
        )
        assert result["reason"] == "reconfigure_successful"
        assert entry.unique_id == f"127.0.0.1:{simulator.port}"
        assert entry.data[CONF_PORT] == simulator.port
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_to_another_unit_aborts(
    hass: HomeAssistant, sonnen: SonnenSimulator, clock: FakeClock
) -> None:
    """A serial-identified entry cannot be pointed at a different unit."""
    entry = await setup_sonnen_entry(hass, sonnen)
    async with make_sonnen("eu_old", clock=clock) as other:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(other)
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"


async def test_options(hass: HomeAssistant, sonnen_entry_loaded: MockConfigEntry) -> None:
    """The maximum power is optional and bounded."""
    assert sonnen_entry_loaded.supports_options
    result = await hass.config_entries.options.async_init(sonnen_entry_loaded.entry_id)
    assert result["type"] is FlowResultType.FORM
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {"inverter_max_power": 50}
        )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"inverter_max_power": 3000}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert sonnen_entry_loaded.options == {"inverter_max_power": 3000}
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(sonnen_entry_loaded.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert sonnen_entry_loaded.options == {}
    await hass.async_block_till_done()


async def test_form_prefills_port_8080(hass: HomeAssistant) -> None:
    """Only the host is needed for a unit on the standard port."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "sonnen"}
    )
    assert result["data_schema"]({CONF_HOST: "sonnen.local"}) == {
        CONF_HOST: "sonnen.local",
        CONF_PORT: 8080,
    }
