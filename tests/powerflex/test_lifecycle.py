"""PowerFlex entry lifecycle in Home Assistant: one login for many polls, silent renewal,
5xx as an outage, no login storm under refused tokens, reauth only for a rejected login."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import DOMAIN
from custom_components.energy_flex.vendors.powerflex.polling import (
    POLL_INTERVAL,
    TARGETS_REFRESH,
)
from simulators.powerflex import PowerFlexSimulator

from .conftest import add_entry, ha_clock, make_powerflex, setup_entry, state, tick

POLL_S = POLL_INTERVAL.total_seconds()


def reauth_flows(hass: HomeAssistant) -> list[object]:
    """Reauth flows in progress for Energy Flex."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
    ]


async def test_one_login_and_three_requests_per_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Two measurements and the signal per poll, the targets every 10 minutes."""
    site_sim.log.clear()
    polls = int(TARGETS_REFRESH.total_seconds() // POLL_S)
    for _ in range(polls):
        await tick(hass, freezer, POLL_S)
    paths = [record.path for record in site_sim.log]
    assert paths.count("/get_measurement_data") == 2 * polls
    assert paths.count(f"/get_external_signal/{3}") == polls
    assert paths.count(f"/get_target_peak_power_kW/{3}") == 1
    assert len(paths) == 3 * polls + 1
    assert site_sim.login_count == 1


async def test_token_renewed_silently(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """10-minute tokens over an hour: renewed before they expire, never a 401 or reauth."""
    async with make_powerflex(clock=ha_clock, token_lifetime_s=600) as simulator:
        entry = await setup_entry(hass, simulator)
        for _ in range(int(3600 // POLL_S)):
            await tick(hass, freezer, POLL_S)
        assert simulator.token_refusals == 0
        # Renewed 60 s before each expiry: every 540 s.
        assert 6 <= simulator.login_count <= 8
        assert state(hass, "sensor", "charging_power", 1) == "0.0"
        assert reauth_flows(hass) == []
        await hass.config_entries.async_unload(entry.entry_id)


async def test_expired_token_logs_in_again_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """The service refuses the token (expired early, keys rotated): one login, the poll works."""
    site_sim.revoke_tokens()
    await tick(hass, freezer, POLL_S)
    assert site_sim.token_refusals == 1
    assert site_sim.login_count == 2
    assert state(hass, "sensor", "charging_power", 1) == "0.0"
    assert reauth_flows(hass) == []


async def test_service_errors_are_an_outage_without_logins(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """5xx: unavailable, no new login, no reauth; it recovers by itself."""
    site_sim.endpoint_errors["get_measurement_data"] = 503
    for _ in range(20):
        await tick(hass, freezer, POLL_S)
    assert state(hass, "sensor", "charging_power", 1) == STATE_UNAVAILABLE
    assert state(hass, "number", "dcm_max_load") == STATE_UNAVAILABLE
    assert site_sim.login_count == 1
    assert reauth_flows(hass) == []
    del site_sim.endpoint_errors["get_measurement_data"]
    await tick(hass, freezer, POLL_S)
    assert state(hass, "sensor", "charging_power", 1) == "0.0"
    assert site_sim.login_count == 1


async def test_no_login_storm_under_refused_tokens(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """Six hours of refused tokens: a few backed-off logins, no reauth, then recovery."""
    site_sim.reject_tokens = True
    for _ in range(int(6 * 3600 // POLL_S)):
        await tick(hass, freezer, POLL_S)
    # Back-off 30 s, 60 s, … 30 min: at most 20 logins in 6 h (720 polls).
    assert 8 <= site_sim.login_count <= 20
    assert state(hass, "sensor", "charging_power", 1) == STATE_UNAVAILABLE
    assert reauth_flows(hass) == []
    assert site_entry.state is ConfigEntryState.LOADED
    site_sim.reject_tokens = False
    for _ in range(int(30 * 60 // POLL_S) + 1):
        await tick(hass, freezer, POLL_S)
    assert state(hass, "sensor", "charging_power", 1) == "0.0"


async def test_rejected_login_asks_for_the_password(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """A changed password: one login attempt, a reauth flow, polling stops."""
    site_sim.password = "changed-elsewhere"
    site_sim.revoke_tokens()
    await tick(hass, freezer, POLL_S)
    assert len(reauth_flows(hass)) == 1
    attempts = site_sim.login_count
    for _ in range(120):
        await tick(hass, freezer, POLL_S)
    assert site_sim.login_count == attempts
    assert state(hass, "sensor", "charging_power", 1) == STATE_UNAVAILABLE


async def test_setup_retries_while_the_service_is_down(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """The first poll fails with a 5xx: not ready, retried later."""
    site_sim.faults.error_status = 502
    entry = add_entry(hass, site_sim)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass) == []


async def test_setup_with_a_rejected_password_starts_reauth(
    hass: HomeAssistant, site_sim: PowerFlexSimulator
) -> None:
    """A rejected login at start: setup error and a reauth flow."""
    site_sim.password = "changed-elsewhere"
    entry = add_entry(hass, site_sim)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert len(reauth_flows(hass)) == 1


async def test_signal_endpoint_down_fails_the_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
) -> None:
    """An outage of any part is an outage: unavailable, not a site without DCM."""
    site_sim.endpoint_errors["get_external_signal"] = 503
    await tick(hass, freezer, POLL_S)
    assert state(hass, "sensor", "charging_power", 1) == STATE_UNAVAILABLE


async def test_dcm_that_comes_and_goes_is_logged_once_each_way(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The signal endpoint refuses (DCM switched off): the rest stays; one line each way."""
    site_sim.endpoint_errors["get_external_signal"] = 404
    for _ in range(3):
        await tick(hass, freezer, POLL_S)
    assert state(hass, "number", "dcm_max_load") == STATE_UNAVAILABLE
    assert state(hass, "sensor", "charging_power", 1) == "0.0"
    assert caplog.text.count("no DCM external signal") == 1
    del site_sim.endpoint_errors["get_external_signal"]
    await tick(hass, freezer, POLL_S)
    assert state(hass, "number", "dcm_max_load") == "21.616"
    assert "DCM external signal answers again" in caplog.text
