"""Config flow: menu, form, every error, duplicate, reauth, reconfigure and options."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_KEEPALIVE_INTERVAL,
    CONF_WRITE_PASSWORD,
    CONF_WRITE_PORT,
    DOMAIN,
)
from simulators.fems_rest import FemsRestSimulator

from .conftest import HOSTNAME, READ_PASSWORD, WRITE_PASSWORD, make_simulator, setup_fems_entry


def form_input(simulator: FemsRestSimulator, **changes: Any) -> dict[str, Any]:
    """What a user types into the FEMS REST form to reach `simulator`."""
    data: dict[str, Any] = {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: simulator.read_port,
        CONF_PASSWORD: READ_PASSWORD,
        CONF_WRITE_PASSWORD: WRITE_PASSWORD,
        CONF_WRITE_PORT: simulator.write_port,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


async def open_fems_form(hass: HomeAssistant) -> str:
    """Start a flow, pick FEMS REST in the menu, return the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "fems_rest" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "fems_rest"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "fems_rest"
    return result["flow_id"]


async def test_user_flow_creates_entry_with_control(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """Menu → form → an entry named and identified by the FEMS hostname."""
    flow_id = await open_fems_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(fems))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # The title says how the FEMS is reached: a REST and a Modbus entry can be told apart.
    assert result["title"] == f"FEMS {HOSTNAME} (local REST)"
    assert result["result"].unique_id == HOSTNAME
    assert result["data"][CONF_CONNECTION] == "fems_rest"
    assert result["data"][CONF_WRITE_PASSWORD] == WRITE_PASSWORD
    # The capability check released the setpoint: a null write, nothing else.
    assert [record.value for record in fems.writes.records] == [None]
    await hass.async_block_till_done()


async def test_user_flow_read_only(hass: HomeAssistant, fems: FemsRestSimulator) -> None:
    """Without a write password the entry reads only and nothing is written."""
    flow_id = await open_fems_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form_input(fems, write_password="")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_WRITE_PASSWORD not in result["data"]
    assert len(fems.writes.records) == 0
    await hass.async_block_till_done()
    assert hass.states.get("number.fems_fems12345_battery_power_setpoint") is None


@pytest.mark.parametrize(
    ("sim_kwargs", "changes", "error"),
    [
        ({}, {CONF_PASSWORD: "wrong"}, "invalid_auth"),
        ({"firmware": "2025.3.0"}, {CONF_PASSWORD: "wrong"}, "invalid_auth"),
        ({}, {CONF_WRITE_PASSWORD: "wrong"}, "invalid_auth"),
        ({"firmware": "2025.3.0"}, {CONF_WRITE_PASSWORD: "wrong"}, "invalid_auth"),
        ({"read_write": False}, {}, "write_app_missing"),
        ({"read_write": False, "firmware": "2025.3.0"}, {}, "write_app_missing"),
        ({}, {CONF_WRITE_PASSWORD: READ_PASSWORD}, "write_password_not_owner"),
        (
            {"firmware": "2025.3.0"},
            {CONF_WRITE_PASSWORD: READ_PASSWORD},
            "write_password_not_owner",
        ),
        ({}, {CONF_PORT: 1}, "cannot_connect"),
    ],
)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant, sim_kwargs: dict[str, Any], changes: dict[str, Any], error: str
) -> None:
    """Each failure shows its translated error; nothing is written; a retry succeeds."""
    async with make_simulator(**sim_kwargs) as simulator:
        flow_id = await open_fems_form(hass)
        result = await hass.config_entries.flow.async_configure(
            flow_id, form_input(simulator, **changes)
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": error}
        assert len(simulator.writes.records) == 0
        result = await hass.config_entries.flow.async_configure(
            flow_id, form_input(simulator, write_password=None)
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()


async def test_user_flow_write_refused_for_another_reason(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """A write refused without a known cause (a 400 with no hint) says so."""
    flow_id = await open_fems_form(hass)
    fems.faults.error_status = 400  # the poll still needs to pass: fault only POSTs
    fems.faults.methods = frozenset({"POST"})
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(fems))
    assert result["errors"] == {"base": "write_rejected"}


async def test_user_flow_unexpected_error(
    hass: HomeAssistant, fems: FemsRestSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug shows `unknown` instead of a stack trace in the form."""

    async def broken(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        "custom_components.energy_flex.vendors.fems_rest.setup.FemsRestClient.async_get_snapshot",
        broken,
    )
    flow_id = await open_fems_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(fems))
    assert result["errors"] == {"base": "unknown"}


async def test_no_hostname_falls_back_to_the_address(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """Old firmware without `_host/Hostname` is identified by host and port."""
    fems.undefined.add("_host/Hostname")
    flow_id = await open_fems_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(fems))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"127.0.0.1:{fems.read_port}"
    assert result["title"] == "FEMS 127.0.0.1 (local REST)"
    await hass.async_block_till_done()


async def test_duplicate_is_aborted(hass: HomeAssistant, fems: FemsRestSimulator) -> None:
    """The same FEMS cannot be added twice."""
    await setup_fems_entry(hass, fems)
    flow_id = await open_fems_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form_input(fems))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth(hass: HomeAssistant) -> None:
    """A changed password starts reauth; the new one reloads the entry."""
    async with make_simulator() as simulator:
        entry = await setup_fems_entry(hass, simulator)
        simulator.passwords["guest"] = "new-guest-pw"
        await entry.runtime_data.coordinator.async_refresh()
        await hass.async_block_till_done()
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert len(flows) == 1
        flow_id = flows[0]["flow_id"]
        assert flows[0]["context"]["source"] == "reauth"

        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_PASSWORD: "still-wrong", CONF_WRITE_PASSWORD: WRITE_PASSWORD}
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            flow_id, {CONF_PASSWORD: "new-guest-pw", CONF_WRITE_PASSWORD: WRITE_PASSWORD}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reauth_successful"
        assert entry.data[CONF_PASSWORD] == "new-guest-pw"
        await hass.async_block_till_done()


async def test_reauth_form_never_shows_stored_secrets(
    hass: HomeAssistant, fems_entry: MockConfigEntry
) -> None:
    """The reauth form asks only for the secrets and prefills none of the stored ones."""
    result = await fems_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    fields = {str(key): key for key in result["data_schema"].schema}
    assert set(fields) == {CONF_PASSWORD, CONF_WRITE_PASSWORD}
    assert READ_PASSWORD not in repr(result["data_schema"].schema)
    assert WRITE_PASSWORD not in repr(result["data_schema"].schema)


async def test_reauth_reaching_another_device_aborts(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """Credentials that reach a different FEMS do not overwrite the entry."""
    entry = await setup_fems_entry(hass, fems)
    fems.overrides["_host/Hostname"] = "fems99999"
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: READ_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"


async def test_reconfigure(hass: HomeAssistant, fems: FemsRestSimulator) -> None:
    """Reconfigure moves the entry to new ports and drops the write password if emptied."""
    entry = await setup_fems_entry(hass, fems)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(fems, port=1)
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form_input(fems, write_password="")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert CONF_WRITE_PASSWORD not in entry.data
    assert entry.data[CONF_CONNECTION] == "fems_rest"
    await hass.async_block_till_done()


async def test_reconfigure_to_another_device_aborts(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """Reconfigure cannot silently swap the device behind an entry."""
    entry = await setup_fems_entry(hass, fems)
    async with make_simulator() as other:
        other.overrides["_host/Hostname"] = "fems99999"
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], form_input(other)
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"


async def test_reconfigure_address_identified_entry_moves(
    hass: HomeAssistant, fems: FemsRestSimulator
) -> None:
    """An entry identified only by its address takes the new address as its id."""
    fems.undefined.add("_host/Hostname")
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="10.0.0.9:8084",
        title="FEMS 10.0.0.9",
        data={CONF_CONNECTION: "fems_rest", **form_input(fems, host="10.0.0.9", port=8084)},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form_input(fems))
    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == f"127.0.0.1:{fems.read_port}"
    await hass.async_block_till_done()


async def test_options(hass: HomeAssistant, fems_entry: MockConfigEntry) -> None:
    """The keep-alive interval is an option, bounded to stay inside FEMS's 60 s."""
    result = await hass.config_entries.options.async_init(fems_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_KEEPALIVE_INTERVAL: 20}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert fems_entry.options == {CONF_KEEPALIVE_INTERVAL: 20}
    await hass.async_block_till_done()


async def test_options_out_of_bounds_rejected(
    hass: HomeAssistant, fems_entry: MockConfigEntry
) -> None:
    """A keep-alive slower than the device's timeout cannot be stored."""
    from homeassistant.data_entry_flow import InvalidData  # noqa: PLC0415

    result = await hass.config_entries.options.async_init(fems_entry.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_KEEPALIVE_INTERVAL: 61}
        )
