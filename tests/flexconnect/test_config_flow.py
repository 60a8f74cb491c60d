"""FlexConnect config flow: URL and SKIs, every error, duplicates, reconfigure, options."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_DEVICE_IDS,
    CONF_MAX_CHARGE_POWER,
    CONF_MAX_DISCHARGE_POWER,
    CONNECTION_FEMS_REST,
    DOMAIN,
)
from simulators.flexconnect import FlexConnectSimulator

from .conftest import SKI_A, SKI_B, SKI_UNKNOWN, add_entry, entity_id, make_simulator, setup_entry


async def open_form(hass: HomeAssistant) -> str:
    """Start a flow, pick FlexConnect in the menu, return the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "flexconnect" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "flexconnect"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "flexconnect"
    return result["flow_id"]


def form(
    simulator: FlexConnectSimulator, *device_ids: str, url: str | None = None
) -> dict[str, Any]:
    """What a user enters to reach `simulator`'s batteries."""
    return {CONF_URL: url or simulator.url, CONF_DEVICE_IDS: list(device_ids)}


async def test_form_defaults_to_the_local_client(hass: HomeAssistant) -> None:
    """The URL field starts at the development client's default address."""
    flow_id = await open_form(hass)
    result = hass.config_entries.flow.async_get(flow_id)
    assert result["step_id"] == "flexconnect"
    schema = (await hass.config_entries.flow.async_configure(flow_id, None))["data_schema"]
    assert schema is not None
    defaults = {str(key): key.default() for key in schema.schema if callable(key.default)}
    assert defaults[CONF_URL] == "http://localhost:8080"


async def test_two_batteries_become_one_entry(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """SKIs in any case, one per field or comma separated; each battery is a device."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(flexconnect, f" {SKI_B.lower()} , {SKI_A}", "", SKI_B)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "FlexConnect 5C3A81E0, 90D2A30F"
    assert result["result"].unique_id == ",".join(sorted((SKI_A, SKI_B)))
    assert result["data"][CONF_CONNECTION] == "flexconnect"
    await hass.async_block_till_done()
    # Adding reads only: nothing was commanded.
    assert flexconnect.modifies == []
    assert flexconnect.calls["BatteryControlModifyRequest"] == 0
    for ski in (SKI_A, SKI_B):
        assert hass.states.get(entity_id("sensor", "state_of_charge", ski)) is not None


@pytest.mark.parametrize(
    ("device_ids", "url", "error"),
    [
        (["90D2A30F"], None, "invalid_ski"),
        ([SKI_A + "0"], None, "invalid_ski"),
        ([f"{SKI_A},XYZ"], None, "invalid_ski"),
        ([" ", ""], None, "invalid_ski"),
        ([SKI_A], "ftp://127.0.0.1", "invalid_url"),
        ([SKI_A], "http://127.0.0.1:1/app", "invalid_url"),
        ([SKI_A], "http://127.0.0.1:1", "cannot_connect"),
        ([SKI_A, SKI_UNKNOWN], None, "battery_not_answering"),
    ],
)
async def test_errors_then_recovery(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    device_ids: list[str],
    url: str | None,
    error: str,
) -> None:
    """Each mistake shows its translated error, nothing is sent, and a fix succeeds."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(flexconnect, *device_ids, url=url)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert flexconnect.modifies == []
    result = await hass.config_entries.flow.async_configure(flow_id, form(flexconnect, SKI_A))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_offline_battery_cannot_be_added(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """A battery that does not answer a state request (cloud timeout) is refused."""
    flexconnect.battery(SKI_B).online = False
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(flexconnect, SKI_A, SKI_B)
    )
    assert result["errors"] == {"base": "battery_not_answering"}


async def test_not_a_flexconnect_client(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """Something else on that address (no /version): cannot connect."""
    flexconnect.faults.error_status = 404
    flexconnect.faults.methods = frozenset({"GET"})
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(flexconnect, SKI_A))
    assert result["errors"] == {"base": "cannot_connect"}
    assert flexconnect.calls["BatteryStateRequest"] == 0


async def test_unexpected_error(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug shows `unknown` in the form."""

    async def broken(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        "custom_components.energy_flex.vendors.flexconnect.setup.FlexConnectClient"
        ".async_get_version",
        broken,
    )
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(flexconnect, SKI_A))
    assert result["errors"] == {"base": "unknown"}


async def test_same_batteries_twice_abort(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """The same set of SKIs again: already configured."""
    await setup_entry(hass, flexconnect, (SKI_A, SKI_B))
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(flexconnect, SKI_B, SKI_A.lower())
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_one_battery_already_in_another_entry(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """An SKI belongs to one entry only; others (and other vendors) do not interfere."""
    add_entry(hass, flexconnect, (SKI_A,))
    MockConfigEntry(
        domain=DOMAIN, unique_id="fems1", data={CONF_CONNECTION: CONNECTION_FEMS_REST}
    ).add_to_hass(hass)
    MockConfigEntry(
        domain=DOMAIN,
        unique_id="broken",
        data={CONF_CONNECTION: "flexconnect", CONF_DEVICE_IDS: ["not an SKI"]},
    ).add_to_hass(hass)
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(flexconnect, SKI_A, SKI_B)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "ski_already_configured"}
    assert flexconnect.calls["BatteryStateRequest"] == 0
    result = await hass.config_entries.flow.async_configure(flow_id, form(flexconnect, SKI_B))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_reconfigure_moves_the_client(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """The client moved to another address: the same batteries, a new URL."""
    entry = await setup_entry(hass, flexconnect, (SKI_A,))
    async with make_simulator(skis=(SKI_A,)) as moved:
        result = await entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form(moved, SKI_A)
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert entry.data[CONF_URL] == moved.url
        await hass.async_block_till_done()
        assert moved.calls["BatteryStateRequest"] >= 2  # the check, then the reloaded entry
        await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("device_ids", "result_type", "reason"),
    [
        # Disjoint: another battery altogether.
        ((SKI_B,), FlowResultType.ABORT, "wrong_device"),
        # Overlapping: the form says each battery belongs to one entry.
        ((SKI_A, SKI_B), FlowResultType.FORM, "ski_already_configured"),
    ],
)
async def test_reconfigure_other_batteries_refused(
    hass: HomeAssistant,
    flexconnect: FlexConnectSimulator,
    device_ids: tuple[str, ...],
    result_type: FlowResultType,
    reason: str,
) -> None:
    """Other SKIs are other devices: they are added as a new entry, not by reconfigure."""
    entry = await setup_entry(hass, flexconnect, (SKI_A,))
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(flexconnect, *device_ids)
    )
    assert result["type"] is result_type
    assert result.get("reason", result.get("errors", {}).get("base")) == reason
    assert entry.data[CONF_DEVICE_IDS] == [SKI_A]


async def test_options_set_the_power_bounds(
    hass: HomeAssistant, flexconnect: FlexConnectSimulator
) -> None:
    """The options bound the setpoint number; saving reloads the entry."""
    entry = await setup_entry(hass, flexconnect, (SKI_A,))
    number = entity_id("number", "battery_power_setpoint")
    state = hass.states.get(number)
    assert state is not None
    assert (state.attributes["min"], state.attributes["max"]) == (-5000, 5000)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MAX_CHARGE_POWER: 2500, CONF_MAX_DISCHARGE_POWER: 3000}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    state = hass.states.get(number)
    assert state is not None
    assert (state.attributes["min"], state.attributes["max"]) == (-2500, 3000)
