"""PowerFlex config flow: login and site check, every error, duplicates, reauth (password
only), reconfigure, options."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_MAX_SITE_CURRENT_A,
    CONF_MAX_SITE_LOAD_KW,
    CONF_REAL_TIME_LOAD_ENTITY,
    CONF_REAL_TIME_LOAD_INTERVAL,
    CONF_SITE_ID,
    DOMAIN,
)
from simulators.powerflex import PowerFlexSimulator

from .conftest import (
    OTHER_SITE,
    PASSWORD,
    SITE,
    SITE_IDENTITY,
    USERNAME,
    Canned,
    CannedServer,
    add_entry,
    entity_id,
    ha_clock,
    make_powerflex,
    setup_entry,
)


async def open_form(hass: HomeAssistant) -> str:
    """Start a flow, pick PowerFlex in the menu, return the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "powerflex" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "powerflex"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "powerflex"
    return result["flow_id"]


def form(address: str, **changes: Any) -> dict[str, Any]:
    """What a user types to add site 3."""
    return {
        CONF_URL: address,
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_SITE_ID: SITE,
        **changes,
    }


def written(simulator: PowerFlexSimulator) -> list[str]:
    """Paths of every request that changes something at the service."""
    return [record.path for record in simulator.log if record.path.startswith("/set_")]


async def test_site_becomes_an_entry(hass: HomeAssistant, site_sim: PowerFlexSimulator) -> None:
    """Login and site check pass: one entry per site, nothing written, entities appear."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(site_sim.url, **{CONF_SITE_ID: "03"})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "PowerFlex site 3"
    entry = result["result"]
    assert entry.unique_id == SITE_IDENTITY
    assert result["data"] == {
        CONF_CONNECTION: "powerflex",
        CONF_URL: site_sim.url,
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_SITE_ID: SITE,
    }
    # The flow logged in and asked the site for its signals (all of them, `{}`).
    assert site_sim.requests_to("get_external_signal")[0].body == {}
    assert site_sim.requests_to("get_external_signal")[0].path == "/get_external_signal/3"
    await hass.async_block_till_done()
    assert written(site_sim) == []
    assert hass.states.get(entity_id(hass, "sensor", "site_charging_power")) is not None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_form_fields(hass: HomeAssistant) -> None:
    """URL, username, password, site id; no defaults to leak."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, None)
    schema = result["data_schema"]
    assert schema is not None
    assert [str(key) for key in schema.schema] == [
        CONF_URL,
        CONF_USERNAME,
        CONF_PASSWORD,
        CONF_SITE_ID,
    ]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({CONF_PASSWORD: "wrong-password"}, "invalid_auth"),
        ({CONF_USERNAME: "somebody"}, "invalid_auth"),
        ({CONF_SITE_ID: 99}, "site_not_found"),
        ({CONF_URL: "ftp://127.0.0.1"}, "powerflex_invalid_url"),
        ({CONF_URL: "http://acme.powerflex.com:9443"}, "powerflex_invalid_url"),
        ({CONF_URL: "https://acme.powerflex.com/api"}, "powerflex_invalid_url"),
        ({CONF_URL: "http://127.0.0.1:1"}, "cannot_connect"),
    ],
)
async def test_errors_then_recovery(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, changes: dict[str, Any], error: str
) -> None:
    """Each mistake shows its translated error; nothing is written; a fix succeeds."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(site_sim.url, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert written(site_sim) == []
    result = await hass.config_entries.flow.async_configure(flow_id, form(site_sim.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_refused_token_is_not_a_password_problem(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """The login works but the service refuses its tokens: the site is not accessible."""
    site_sim.reject_tokens = True
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(site_sim.url))
    assert result["errors"] == {"base": "site_not_found"}


async def test_service_down_is_cannot_connect(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """A 5xx is a connection problem, never bad credentials."""
    site_sim.faults.error_status = 503
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(site_sim.url))
    assert result["errors"] == {"base": "cannot_connect"}


async def test_not_powerflex_is_invalid_response(hass: HomeAssistant, canned: CannedServer) -> None:
    """Something else at that address (an HTML portal) is not the PowerFlex API."""
    canned.answers["/login"] = Canned("<html>Portal</html>", content_type="text/html")
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(canned.url))
    assert result["errors"] == {"base": "invalid_response"}


async def test_unexpected_error(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug shows `unknown`."""

    async def broken(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        "custom_components.energy_flex.vendors.powerflex.setup.PowerFlexClient.async_login",
        broken,
    )
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(site_sim.url))
    assert result["errors"] == {"base": "unknown"}


async def test_same_site_twice_aborts(hass: HomeAssistant, site_sim: PowerFlexSimulator) -> None:
    """Host and site id identify the entry; another site of the account is another entry."""
    add_entry(hass, site_sim)
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(site_sim.url))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(site_sim.url, **{CONF_SITE_ID: OTHER_SITE})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == f"127.0.0.1_{OTHER_SITE}"
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)


async def test_reauth_asks_for_the_password_only(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """A changed password: the form has one field; a wrong one is refused."""
    entry = await setup_entry(hass, site_sim)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    schema = result["data_schema"]
    assert schema is not None
    assert [str(key) for key in schema.schema] == [CONF_PASSWORD]
    site_sim.password = "new-secret-pw-77"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: PASSWORD}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: "new-secret-pw-77"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_PASSWORD] == "new-secret-pw-77"
    assert entry.data[CONF_USERNAME] == USERNAME
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_moves_the_port(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """The same host and site on another port (or a new login): same entry, same entities."""
    entry = await setup_entry(hass, site_sim)
    number = entity_id(hass, "number", "dcm_max_load")
    moved = make_powerflex(clock=ha_clock)
    await moved.start()
    try:
        result = await entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM
        defaults = {
            str(key): key.default() for key in result["data_schema"].schema if callable(key.default)
        }
        assert CONF_PASSWORD not in defaults  # secrets never go back to the browser
        assert defaults[CONF_SITE_ID] == SITE
        result = await hass.config_entries.flow.async_configure(result["flow_id"], form(moved.url))
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert entry.data[CONF_URL] == moved.url
        await hass.async_block_till_done()
        assert moved.login_count >= 2  # the check, then the reloaded entry
        assert entity_id(hass, "number", "dcm_max_load") == number
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await moved.stop()


async def test_reconfigure_to_another_site_refused(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """Another site is another device: added as a new entry, not by reconfigure."""
    entry = await setup_entry(hass, site_sim)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(site_sim.url, **{CONF_SITE_ID: OTHER_SITE})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"
    assert entry.data[CONF_SITE_ID] == SITE
    await hass.config_entries.async_unload(entry.entry_id)


async def test_options_real_time_load_and_site_maximum(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """A power sensor as source, an interval of 10–300 s, the caps; saving reloads."""
    entry = await setup_entry(hass, site_sim)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    source_key = next(key for key in schema.schema if str(key) == CONF_REAL_TIME_LOAD_ENTITY)
    selector_config = schema.schema[source_key].config
    assert selector_config["domain"] == ["sensor"]
    assert selector_config["device_class"] == ["power"]
    for interval in (9, 301):
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(
                result["flow_id"],
                {CONF_REAL_TIME_LOAD_INTERVAL: interval, CONF_MAX_SITE_LOAD_KW: 80},
            )
    hass.states.async_set(
        "sensor.house_power", "1000", {"unit_of_measurement": "W", "device_class": "power"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_REAL_TIME_LOAD_ENTITY: "sensor.house_power",
            CONF_REAL_TIME_LOAD_INTERVAL: 10,
            CONF_MAX_SITE_LOAD_KW: 80,
            CONF_MAX_SITE_CURRENT_A: 300,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_REAL_TIME_LOAD_INTERVAL] == 10
    number = hass.states.get(entity_id(hass, "number", "dcm_max_load"))
    assert number is not None
    assert number.attributes["max"] == 80
    assert hass.states.get(entity_id(hass, "sensor", "real_time_load")) is not None
    # The form shows what is stored.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    defaults = {
        str(key): key.default() for key in result["data_schema"].schema if callable(key.default)
    }
    assert defaults[CONF_MAX_SITE_CURRENT_A] == 300
    source_key = next(
        key for key in result["data_schema"].schema if str(key) == CONF_REAL_TIME_LOAD_ENTITY
    )
    assert source_key.description == {"suggested_value": "sensor.house_power"}
    hass.config_entries.options.async_abort(result["flow_id"])
    await hass.config_entries.async_unload(entry.entry_id)


async def test_other_vendors_entries_do_not_interfere(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """An entry of another vendor with the same unique-id scheme is never this site."""
    MockConfigEntry(
        domain=DOMAIN, unique_id="127.0.0.1:8084", data={CONF_CONNECTION: "fems_rest"}
    ).add_to_hass(hass)
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(site_sim.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)
