"""FEMS cloud config flow: login, edge ids, errors, duplicates, reauth, reconfigure, options."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_PASSWORD, CONF_SCAN_INTERVAL, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import selector
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.api.fems_cloud import DEFAULT_URL
from custom_components.energy_flex.const import (
    CONF_ALLOW_CONFIGURATION_CHANGES,
    CONF_CONNECTION,
    CONF_EDGE_IDS,
    CONF_HISTORY_DAYS,
    CONNECTION_FEMS_CLOUD,
    CONNECTION_FEMS_REST,
    DOMAIN,
)
from simulators.fems_cloud import FemsCloudSimulator

from .conftest import (
    EDGE_A,
    EDGE_B,
    GUEST,
    INSTALLER,
    OWNER,
    OWNER_PASSWORD,
    PASSWORDS,
    add_entry,
    entity_id,
    make_ha_cloud,
    setup_entry,
    state_of,
)


async def open_form(hass: HomeAssistant) -> str:
    """Start a flow, pick the FENECON cloud in the menu, return the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert CONNECTION_FEMS_CLOUD in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": CONNECTION_FEMS_CLOUD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == CONNECTION_FEMS_CLOUD
    return result["flow_id"]


def form(
    simulator: FemsCloudSimulator,
    *edge_ids: str,
    login: str = OWNER,
    password: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """What a user enters to reach `simulator`'s edges."""
    return {
        CONF_URL: url or simulator.url,
        CONF_USERNAME: login,
        CONF_PASSWORD: PASSWORDS[login] if password is None else password,
        CONF_EDGE_IDS: list(edge_ids),
    }


async def test_form_fields_and_defaults(hass: HomeAssistant) -> None:
    """The contract: the cloud URL by default, edge ids as a multiple select taking typed values."""
    flow_id = await open_form(hass)
    schema = (await hass.config_entries.flow.async_configure(flow_id, None))["data_schema"]
    assert schema is not None
    fields = {str(key): (key, value) for key, value in schema.schema.items()}
    assert list(fields) == [CONF_URL, CONF_USERNAME, CONF_PASSWORD, CONF_EDGE_IDS]
    assert fields[CONF_URL][0].default() == DEFAULT_URL == "https://fenecon.de/fems/rest/jsonrpc"
    edge_selector = fields[CONF_EDGE_IDS][1]
    assert isinstance(edge_selector, selector.SelectSelector)
    assert edge_selector.config["multiple"] is True
    assert edge_selector.config["custom_value"] is True
    assert edge_selector.config["options"] == []


async def test_two_edges_become_one_entry(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """One entry per account; each edge is a device; adding only reads."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(ha_cloud, f" {EDGE_A}, {EDGE_B}", EDGE_A, "")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"FENECON cloud {OWNER}"
    assert result["result"].unique_id == f"127.0.0.1/{OWNER}"
    assert result["data"] == {
        CONF_CONNECTION: CONNECTION_FEMS_CLOUD,
        CONF_URL: ha_cloud.url,
        CONF_USERNAME: OWNER,
        CONF_PASSWORD: OWNER_PASSWORD,
        # Split, stripped, without repeats or empty fields.
        CONF_EDGE_IDS: [EDGE_A, EDGE_B],
    }
    await hass.async_block_till_done()
    assert len(ha_cloud.writes) == 0
    assert ha_cloud.writes.rejected == []
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), result["result"].entry_id)
    assert sorted(next(iter(d.identifiers))[1] for d in devices) == [EDGE_A, EDGE_B]
    assert hass.states.get(entity_id("sensor", "state_of_charge", EDGE_B)) is not None


@pytest.mark.parametrize(
    ("changes", "errors", "placeholders"),
    [
        (
            {CONF_EDGE_IDS: ["fems/1001"]},
            {CONF_EDGE_IDS: "invalid_edge_id"},
            {"edge_id": "fems/1001"},
        ),
        ({CONF_EDGE_IDS: [" ", ""]}, {CONF_EDGE_IDS: "no_edge_ids"}, {}),
        ({CONF_URL: "http://example.com/fems/rest/jsonrpc"}, {CONF_URL: "invalid_cloud_url"}, {}),
        ({CONF_URL: "https://user:pw@example.com/jsonrpc"}, {CONF_URL: "invalid_cloud_url"}, {}),
        ({CONF_PASSWORD: "wrong"}, {"base": "invalid_auth"}, {}),
        ({CONF_URL: "http://127.0.0.1:1/fems/rest/jsonrpc"}, {"base": "cannot_connect"}, {}),
        (
            {CONF_EDGE_IDS: [EDGE_A, "fems9999", EDGE_B, "fems7777"]},
            {CONF_EDGE_IDS: "edge_not_visible"},
            {"edge_id": "fems9999, fems7777"},
        ),
    ],
)
async def test_errors_then_recovery(
    hass: HomeAssistant,
    ha_cloud: FemsCloudSimulator,
    changes: dict[str, Any],
    errors: dict[str, str],
    placeholders: dict[str, str],
) -> None:
    """Each mistake shows its translated error (naming what failed); a fix succeeds."""
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(ha_cloud, EDGE_A) | changes
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert result["description_placeholders"] == placeholders
    # The password is never sent back to the browser as a default.
    schema = result["data_schema"]
    assert schema is not None
    defaults = {str(key): key.default() for key in schema.schema if callable(key.default)}
    assert CONF_PASSWORD not in defaults
    result = await hass.config_entries.flow.async_configure(flow_id, form(ha_cloud, EDGE_A))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_guest_cannot_add_an_edge_it_does_not_see(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """The guest sees only the first edge: the second is named, in a few requests."""
    flow_id = await open_form(hass)
    ha_cloud.reset_counters()
    result = await hass.config_entries.flow.async_configure(
        flow_id, form(ha_cloud, EDGE_A, EDGE_B, login=GUEST)
    )
    assert result["errors"] == {CONF_EDGE_IDS: "edge_not_visible"}
    assert result["description_placeholders"] == {"edge_id": EDGE_B}
    assert ha_cloud.calls["getEdgesStatus"] == 3  # all, then each half


async def test_overloaded_cloud_cannot_connect(hass: HomeAssistant) -> None:
    """A rate limit (or any backend error) while checking: cannot connect, nothing stored."""
    simulator = make_ha_cloud(requests_per_minute=0)
    await simulator.start()
    try:
        flow_id = await open_form(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, form(simulator, EDGE_A))
        assert result["errors"] == {"base": "cannot_connect"}
    finally:
        await simulator.stop()


async def test_unexpected_error(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug shows `unknown` in the form."""

    async def broken(*_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(
        "custom_components.energy_flex.vendors.fems_cloud.setup.FemsCloudClient.async_validate",
        broken,
    )
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(ha_cloud, EDGE_A))
    assert result["errors"] == {"base": "unknown"}


async def test_same_account_twice_aborts(hass: HomeAssistant, ha_cloud: FemsCloudSimulator) -> None:
    """One entry per account, whatever edges the second attempt names."""
    await setup_entry(hass, ha_cloud, (EDGE_A,))
    flow_id = await open_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form(ha_cloud, EDGE_B))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("other", ["cloud", "local"])
async def test_edge_in_another_entry_is_refused(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator, other: str
) -> None:
    """An edge is one device of one entry: another account's entry or a local FEMS has it."""
    if other == "cloud":
        add_entry(hass, ha_cloud, (EDGE_A,), login=INSTALLER)
    else:
        MockConfigEntry(
            domain=DOMAIN, unique_id=EDGE_A, data={CONF_CONNECTION: CONNECTION_FEMS_REST}
        ).add_to_hass(hass)
    MockConfigEntry(domain=DOMAIN, data={CONF_CONNECTION: CONNECTION_FEMS_REST}).add_to_hass(hass)
    flow_id = await open_form(hass)
    ha_cloud.reset_counters()
    result = await hass.config_entries.flow.async_configure(flow_id, form(ha_cloud, EDGE_B, EDGE_A))
    assert result["errors"] == {CONF_EDGE_IDS: "edge_already_configured"}
    assert result["description_placeholders"] == {"edge_id": EDGE_A}
    assert ha_cloud.requests.total == 0
    result = await hass.config_entries.flow.async_configure(flow_id, form(ha_cloud, EDGE_B))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_reauth_asks_for_the_password_only(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """A changed portal password: a wrong one is refused, the right one reloads the entry."""
    entry = add_entry(hass, ha_cloud, (EDGE_A,))
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PASSWORD: "outdated"})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in flows] == ["reauth_confirm"]
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], None)
    schema = result["data_schema"]
    assert schema is not None
    assert [str(key) for key in schema.schema] == [CONF_PASSWORD]
    assert result["description_placeholders"]["title"] == entry.title
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: "still wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: OWNER_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PASSWORD] == OWNER_PASSWORD
    assert state_of(hass, entity_id("sensor", "state_of_charge")) == "50.0"


async def test_reconfigure_adds_and_removes_edges(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Add an edge, then remove one: its device goes with it, the other stays."""
    entry = await setup_entry(hass, ha_cloud, (EDGE_A,))
    registry = dr.async_get(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(ha_cloud, EDGE_A, EDGE_B)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert registry.async_get_device_by_identifier((DOMAIN, EDGE_B), entry.entry_id) is not None
    assert hass.states.get(entity_id("sensor", "state_of_charge", EDGE_B)) is not None

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(ha_cloud, EDGE_B)
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_EDGE_IDS] == [EDGE_B]
    assert registry.async_get_device_by_identifier((DOMAIN, EDGE_A), entry.entry_id) is None
    assert registry.async_get_device_by_identifier((DOMAIN, EDGE_B), entry.entry_id) is not None
    assert hass.states.get(entity_id("sensor", "state_of_charge", EDGE_A)) is None


async def test_reconfigure_errors(hass: HomeAssistant, ha_cloud: FemsCloudSimulator) -> None:
    """Another account is another entry; an edge the account cannot see is named."""
    entry = await setup_entry(hass, ha_cloud, (EDGE_A,))
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(ha_cloud, EDGE_A, "fems4242")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_EDGE_IDS: "edge_not_visible"}
    assert result["description_placeholders"] == {"edge_id": "fems4242"}
    # The installer's account: EDGE_A is this entry's, EDGE_B is free, the account differs.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(ha_cloud, EDGE_A, login=INSTALLER)
    )
    assert result["errors"] == {CONF_EDGE_IDS: "edge_already_configured"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form(ha_cloud, EDGE_B, login=INSTALLER)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_device"
    assert entry.data[CONF_USERNAME] == OWNER


async def test_options_defaults_bounds_and_reload(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Poll 30–300 s (60), configuration changes off, a year of history by default."""
    entry = await setup_entry(hass, ha_cloud, (EDGE_A,))
    assert entry.runtime_data.coordinator.update_interval.total_seconds() == 60
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    defaults = {str(key): key.default() for key in schema.schema}
    assert defaults == {
        CONF_SCAN_INTERVAL: 60,
        CONF_ALLOW_CONFIGURATION_CHANGES: False,
        CONF_HISTORY_DAYS: 365,
    }
    for bad in ({CONF_SCAN_INTERVAL: 29}, {CONF_SCAN_INTERVAL: 301}, {CONF_HISTORY_DAYS: -1}):
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(result["flow_id"], defaults | bad)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_SCAN_INTERVAL: 120, CONF_ALLOW_CONFIGURATION_CHANGES: True, CONF_HISTORY_DAYS: 30},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.coordinator.update_interval.total_seconds() == 120
    assert entry.runtime_data.vendor_data.allow_configuration_changes is True
