"""FEMS cloud polling: two requests per poll, one device per edge, offline edges unavailable."""

from __future__ import annotations

import json
import logging

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.energy_flex.api.fems_cloud import POLL_CHANNELS
from custom_components.energy_flex.const import DOMAIN
from simulators.fems_cloud import ErrorShape, FemsCloudSimulator

from .conftest import (
    EDGE_A,
    EDGE_B,
    OWNER,
    PASSWORDS,
    add_entry,
    entity_id,
    make_ha_cloud,
    setup_entry,
    state_of,
    tick,
)

ONLINE = "cloud_connection"
SOC = "state_of_charge"


@pytest.mark.parametrize("edges", [1, 20])
async def test_a_poll_is_two_requests_whatever_the_number_of_edges(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, edges: int
) -> None:
    """`getEdgesStatus` and `getEdgesChannelsValues`, each once, for every edge at once."""
    simulator = make_ha_cloud(edges=edges)
    await simulator.start()
    try:
        edge_ids = [f"fems{1001 + index}" for index in range(edges)]
        entry = await setup_entry(hass, simulator, edge_ids)
        simulator.reset_counters()
        for _ in range(3):
            await tick(hass, freezer, 60)
        assert simulator.requests.total == 6
        assert dict(simulator.calls) == {"getEdgesStatus": 3, "getEdgesChannelsValues": 3}
        status, values = simulator.request_log[-2:]
        assert status.params == {"edgeIds": edge_ids}
        assert values.params == {"ids": edge_ids, "channels": list(POLL_CHANNELS)}
        for edge_id in edge_ids:
            assert state_of(hass, entity_id("sensor", SOC, edge_id)) == "50.0"
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


async def test_each_edge_is_a_device_with_the_common_entities(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Identity = edge id, no account-level device; FEMS's sign is Home Assistant's."""
    entry = await setup_entry(hass, ha_cloud)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert sorted((d.identifiers, d.name, d.manufacturer, d.model) for d in devices) == [
        ({(DOMAIN, EDGE_A)}, f"FEMS {EDGE_A}", "FENECON", "FEMS (cloud)"),
        ({(DOMAIN, EDGE_B)}, f"FEMS {EDGE_B}", "FENECON", "FEMS (cloud)"),
    ]
    assert {d.sw_version for d in devices} == {"2026.5.0"}
    # PV 2 kW, load 1 kW: the battery charges 1 kW (negative), nothing from the grid.
    assert state_of(hass, entity_id("sensor", "battery_power")) == "-1000.0"
    assert state_of(hass, entity_id("sensor", "battery_charge_power")) == "1000.0"
    assert state_of(hass, entity_id("sensor", "battery_discharge_power")) == "0.0"
    assert state_of(hass, entity_id("sensor", "production_power")) == "2000.0"
    assert state_of(hass, entity_id("sensor", "consumption_power")) == "1000.0"
    assert state_of(hass, entity_id("sensor", "grid_mode")) == "on_grid"
    assert state_of(hass, entity_id("binary_sensor", ONLINE)) == STATE_ON
    registry = er.async_get(hass)
    online = registry.async_get(entity_id("binary_sensor", ONLINE))
    assert online is not None
    assert online.unique_id == f"{EDGE_A}_edge_online"
    assert online.entity_category is not None
    keys = {
        e.unique_id.removeprefix(f"{EDGE_A}_")
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.unique_id.startswith(f"{EDGE_A}_")
    }
    assert {
        "state_of_charge",
        "battery_power",
        "grid_power",
        "production_power",
        "consumption_power",
        "stored_energy",
        "usable_capacity",
        "battery_charged_energy",
        "battery_discharged_energy",
        "grid_imported_energy",
        "grid_exported_energy",
        "produced_energy",
        "consumed_energy",
        "edge_online",
        "battery_power_setpoint",
        "release_control",
        "control_active",
    } <= keys


@pytest.mark.parametrize("null_values_when_offline", [False, True])
async def test_offline_edge_is_unavailable_never_stale(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    null_values_when_offline: bool,
) -> None:
    """The backend keeps answering the last values: they are not shown; one log line each way."""
    simulator = make_ha_cloud(null_values_when_offline=null_values_when_offline)
    await simulator.start()
    try:
        entry = await setup_entry(hass, simulator)
        simulator.set_online(EDGE_B, False)
        await tick(hass, freezer, 60)
        await tick(hass, freezer, 60)
        cached = entry.runtime_data.coordinator.data[EDGE_B].snapshot.soc
        assert cached == (None if null_values_when_offline else 50.0)
        for key in (SOC, "battery_power", "consumed_energy", "system_state"):
            assert state_of(hass, entity_id("sensor", key, EDGE_B)) == STATE_UNAVAILABLE
        assert state_of(hass, entity_id("binary_sensor", ONLINE, EDGE_B)) == STATE_OFF
        assert float(state_of(hass, entity_id("sensor", SOC, EDGE_A))) >= 50  # charging
        assert state_of(hass, entity_id("binary_sensor", ONLINE, EDGE_A)) == STATE_ON
        offline_lines = [r for r in caplog.records if "is offline" in r.getMessage()]
        assert len(offline_lines) == 1
        assert EDGE_B in offline_lines[0].getMessage()

        simulator.set_online(EDGE_B, True)
        await tick(hass, freezer, 60)
        assert float(state_of(hass, entity_id("sensor", SOC, EDGE_B))) >= 50
        assert state_of(hass, entity_id("binary_sensor", ONLINE, EDGE_B)) == STATE_ON
        assert len([r for r in caplog.records if "online again" in r.getMessage()]) == 1
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


async def test_edge_offline_at_start_is_set_up_unavailable(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """An edge that is offline at setup still gets its device and entities."""
    ha_cloud.set_online(EDGE_B, False)
    entry = await setup_entry(hass, ha_cloud)
    assert entry.state is ConfigEntryState.LOADED
    assert state_of(hass, entity_id("sensor", SOC, EDGE_B)) == STATE_UNAVAILABLE
    assert state_of(hass, entity_id("binary_sensor", ONLINE, EDGE_B)) == STATE_OFF


async def test_cloud_down_then_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """The whole cloud fails: every entity (also `edge_online`) unavailable, then recovers."""
    await setup_entry(hass, ha_cloud)
    ha_cloud.faults.error_status = 503
    await tick(hass, freezer, 60)
    assert state_of(hass, entity_id("sensor", SOC)) == STATE_UNAVAILABLE
    assert state_of(hass, entity_id("binary_sensor", ONLINE)) == STATE_UNAVAILABLE
    ha_cloud.faults.reset()
    await tick(hass, freezer, 60)  # past the client's back-off window
    assert float(state_of(hass, entity_id("sensor", SOC))) > 0
    assert state_of(hass, entity_id("binary_sensor", ONLINE)) == STATE_ON


@pytest.mark.parametrize("shape", list(ErrorShape))
async def test_lost_role_on_an_edge_fails_the_poll_in_every_error_shape(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, shape: ErrorShape
) -> None:
    """The account lost an edge: the batch is refused (1005), read the same in all three shapes."""
    simulator = make_ha_cloud(error_shape=shape)
    await simulator.start()
    try:
        entry = await setup_entry(hass, simulator)
        del simulator.users[OWNER].edge_roles[EDGE_B]
        await tick(hass, freezer, 60)
        coordinator = entry.runtime_data.coordinator
        assert coordinator.last_update_success is False
        assert getattr(coordinator.last_exception, "translation_key", None) == "role_denied"
        assert state_of(hass, entity_id("sensor", SOC, EDGE_A)) == STATE_UNAVAILABLE
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await simulator.stop()


async def test_rejected_login_starts_reauth(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """A changed portal password: entities unavailable and a reauth flow."""
    await setup_entry(hass, ha_cloud)
    ha_cloud.users[OWNER].password = "rotated"
    await tick(hass, freezer, 60)
    assert state_of(hass, entity_id("sensor", SOC)) == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_cloud_down_at_start_retries(
    hass: HomeAssistant, ha_cloud: FemsCloudSimulator
) -> None:
    """Setup is retried while the cloud does not answer; nothing half set up."""
    ha_cloud.faults.error_status = 502
    entry = add_entry(hass, ha_cloud)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_diagnostics_name_no_edge_and_no_login(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, ha_cloud: FemsCloudSimulator
) -> None:
    """Password, login, URL and edge ids are redacted; the poll and counts are there."""
    ha_cloud.set_online(EDGE_B, False)
    entry = await setup_entry(hass, ha_cloud)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    for secret in (PASSWORDS[OWNER], OWNER, EDGE_A, EDGE_B, "127.0.0.1"):
        assert secret not in text
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["data"]["0"]["online"] is True
    assert diagnostics["data"]["1"]["online"] is False
    assert diagnostics["data"]["0"]["snapshot"]["soc"] == 50.0
    assert diagnostics["client"] == {
        "edges": 2,
        "edges_online": 1,
        "edges_with_control": 1,
        "poll_interval_s": 60,
        "backoff_remaining_s": 0.0,
        "history": {
            "enabled": False,
            "days": 365,
            "requests": 0,
            "rows_imported": 0,
            "failing": False,
        },
    }
    assert diagnostics["control"] == {
        "0": {
            "active": False,
            "held": {"battery_power": None, "discharge_limit": None, "charge_limit": None},
            "plan": None,
        }
    }


async def test_no_secret_in_any_log_line(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ha_cloud: FemsCloudSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through setup, control, errors and a rejected login, the password is never logged."""
    caplog.set_level(logging.DEBUG)
    await setup_entry(hass, ha_cloud)
    await hass.services.async_call(
        DOMAIN,
        "set_battery_power",
        {"entity_id": entity_id("sensor", SOC), "power": -500},
        blocking=True,
    )
    ha_cloud.faults.error_status = 503
    await tick(hass, freezer, 60)
    ha_cloud.faults.reset()
    ha_cloud.users[OWNER].password = "rotated"
    await tick(hass, freezer, 600)
    assert caplog.records
    assert PASSWORDS[OWNER] not in caplog.text
    assert "Basic " not in caplog.text


async def test_live_edges_cannot_be_removed(
    hass: HomeAssistant, hass_ws_client: object, ha_cloud: FemsCloudSimulator
) -> None:
    """A configured edge's device stays; a stale one may go."""
    from custom_components.energy_flex import async_remove_config_entry_device  # noqa: PLC0415

    entry = await setup_entry(hass, ha_cloud, (EDGE_A,))
    registry = dr.async_get(hass)
    live = registry.async_get_device_by_identifier((DOMAIN, EDGE_A), entry.entry_id)
    assert live is not None
    assert await async_remove_config_entry_device(hass, entry, live) is False
    stale = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "fems4711")}
    )
    assert await async_remove_config_entry_device(hass, entry, stale) is True
