"""PowerFlex real-time load: a Home Assistant power sensor pushed as whole kW, rate-limited,
repeated once a minute, and withheld (with a problem sensor and a repair issue) while the
source is unusable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import (
    CONF_REAL_TIME_LOAD_ENTITY,
    CONF_REAL_TIME_LOAD_INTERVAL,
    DOMAIN,
)
from custom_components.energy_flex.vendors.powerflex.realtime_load import (
    STALE_SOURCE_AFTER,
    issue_id,
    read_load_kw,
)
from simulators.powerflex import PowerFlexSimulator

from .conftest import SITE, SITE_IDENTITY, entity_id, setup_entry, state, tick

SOURCE = "sensor.house_power"


def set_source(hass: HomeAssistant, value: str, unit: str = "W") -> None:
    """The house power sensor reports `value`."""
    hass.states.async_set(SOURCE, value, {"unit_of_measurement": unit, "device_class": "power"})


async def report(hass: HomeAssistant, value: str) -> None:
    """The source reports `value` (in W) and whatever that sends has been sent.

    Waiting matters: a request still on its way when a test moves the clock would time out.
    """
    set_source(hass, value)
    await hass.async_block_till_done(wait_background_tasks=True)


def sent(simulator: PowerFlexSimulator) -> list[int]:
    """Every real-time load the simulated site received, in kW."""
    return [
        record.body["real_time_load_kW"]
        for record in simulator.requests_to("set_real_time_load")
        if isinstance(record.body, dict)
    ]


async def setup_push(
    hass: HomeAssistant, simulator: PowerFlexSimulator, interval: int = 30
) -> MockConfigEntry:
    """An entry that pushes `SOURCE` every `interval` s at most."""
    return await setup_entry(
        hass,
        simulator,
        {CONF_REAL_TIME_LOAD_ENTITY: SOURCE, CONF_REAL_TIME_LOAD_INTERVAL: interval},
    )


@pytest.mark.parametrize(
    ("value", "unit", "kw"),
    [
        ("2400", "W", 2),
        ("2500", "W", 3),
        ("3.6", "kW", 4),
        ("-1.4", "kW", -1),
        ("0.0", "MW", 0),
        ("120000", "kW", None),  # beyond any site: not a reading
        ("12", "A", None),
        ("nan", "W", None),
        ("on", "W", None),
        (STATE_UNAVAILABLE, "W", None),
        (STATE_UNKNOWN, "W", None),
    ],
)
async def test_reading_the_source(
    hass: HomeAssistant, value: str, unit: str, kw: int | None
) -> None:
    """W or kW (any power unit) → whole kW, rounded half up; anything else is nothing."""
    set_source(hass, value, unit)
    assert read_load_kw(hass.states.get(SOURCE), dt_util.utcnow()) == kw


async def test_sent_at_once_and_shown(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_sim: PowerFlexSimulator
) -> None:
    """The value goes out as an integer, the sensor shows it, the problem sensor is off."""
    set_source(hass, "2400")
    entry = await setup_push(hass, site_sim)
    assert sent(site_sim) == [2]
    record = site_sim.requests_to("set_real_time_load")[0]
    assert record.path == f"/set_real_time_load/{SITE}"
    assert record.body == {"real_time_load_kW": 2}
    assert site_sim.site(SITE).real_time_load_kw == 2
    sensor = hass.states.get(entity_id(hass, "sensor", "real_time_load"))
    assert sensor is not None
    assert sensor.state == "2"
    assert sensor.attributes["unit_of_measurement"] == "kW"
    assert state(hass, "binary_sensor", "real_time_load_problem") == STATE_OFF
    await hass.config_entries.async_unload(entry.entry_id)


async def test_changes_rate_limited_by_the_interval(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_sim: PowerFlexSimulator
) -> None:
    """A change within the interval waits for it; the newest value goes out then."""
    set_source(hass, "2000")
    entry = await setup_push(hass, site_sim, interval=30)
    await tick(hass, freezer, 5)
    await report(hass, "5000")
    await tick(hass, freezer, 10)
    await report(hass, "7000")
    assert sent(site_sim) == [2]
    await tick(hass, freezer, 15)  # 30 s after the first send
    assert sent(site_sim) == [2, 7]
    assert state(hass, "sensor", "real_time_load") == "7"
    # A change of the reading that keeps the whole kW sends nothing new.
    await tick(hass, freezer, 30)
    await report(hass, "7200")
    assert sent(site_sim) == [2, 7]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unchanged_value_repeated_once_a_minute(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_sim: PowerFlexSimulator
) -> None:
    """While valid and unchanged (and reported), the value goes out every 60 s."""
    set_source(hass, "4000")
    entry = await setup_push(hass, site_sim, interval=10)
    for _ in range(3):
        await tick(hass, freezer, 30)
        await report(hass, "4000")  # the sensor reports the same value again
    assert sent(site_sim) == [4, 4]
    await tick(hass, freezer, 30)
    assert sent(site_sim) == [4, 4, 4]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_long_interval_wins_over_the_minute(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_sim: PowerFlexSimulator
) -> None:
    """With 120 s the value is repeated every 120 s, never sooner."""
    set_source(hass, "4000")
    entry = await setup_push(hass, site_sim, interval=120)
    for _ in range(4):
        await tick(hass, freezer, 30)
        await report(hass, "4000")
    assert sent(site_sim) == [4, 4]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unavailable_source_sends_nothing_and_says_so(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Nothing made up: no send, the problem sensor on, a repair issue after a minute."""
    set_source(hass, "3000")
    entry = await setup_push(hass, site_sim)
    await report(hass, STATE_UNAVAILABLE)
    assert state(hass, "binary_sensor", "real_time_load_problem") == STATE_ON
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None
    for _ in range(10):
        await tick(hass, freezer, 30)
    assert sent(site_sim) == [3]
    issue = issue_registry.async_get_issue(DOMAIN, issue_id(entry))
    assert issue is not None
    assert issue.translation_key == "real_time_load_source_unusable"
    assert issue.translation_placeholders == {"title": entry.title, "entity_id": SOURCE}
    # The last value sent stays shown; it is not replaced by a guess.
    assert state(hass, "sensor", "real_time_load") == "3"
    await report(hass, "6000")
    assert sent(site_sim) == [3, 6]
    assert state(hass, "binary_sensor", "real_time_load_problem") == STATE_OFF
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_stale_source_sends_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """No report for 5 minutes: the old value is not repeated any more."""
    assert timedelta(minutes=5) == STALE_SOURCE_AFTER
    set_source(hass, "5000")
    entry = await setup_push(hass, site_sim)
    for _ in range(5):
        await tick(hass, freezer, 60)
    assert sent(site_sim) == [5] * 6
    for _ in range(5):
        await tick(hass, freezer, 60)
    assert sent(site_sim) == [5] * 6
    assert state(hass, "binary_sensor", "real_time_load_problem") == STATE_ON
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is not None
    await report(hass, "5000")  # reported again
    assert sent(site_sim) == [5] * 7
    await hass.config_entries.async_unload(entry.entry_id)


async def test_missing_source_at_start_raises_no_issue_when_it_comes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A source set up after Energy Flex (a start-up) is no problem once it reports."""
    entry = await setup_push(hass, site_sim)
    assert sent(site_sim) == []
    await tick(hass, freezer, 20)
    await report(hass, "1000")
    await tick(hass, freezer, 60)
    assert sent(site_sim)[0] == 1
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None
    await hass.config_entries.async_unload(entry.entry_id)


async def test_send_failures_logged_once_and_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service down: one warning, no login storm, the value goes out when it is back."""
    set_source(hass, "2000")
    site_sim.endpoint_errors["set_real_time_load"] = 503
    entry = await setup_push(hass, site_sim)
    for _ in range(4):
        await tick(hass, freezer, 60)
    assert caplog.text.count("could not send the real-time load") == 1
    assert site_sim.login_count == 1
    assert state(hass, "sensor", "real_time_load") == STATE_UNKNOWN
    del site_sim.endpoint_errors["set_real_time_load"]
    await tick(hass, freezer, 60)
    assert site_sim.site(SITE).real_time_load_kw == 2
    assert state(hass, "sensor", "real_time_load") == "2"
    assert "sending the real-time load works again" in caplog.text
    await hass.config_entries.async_unload(entry.entry_id)


async def test_unload_stops_pushing_and_clears_the_issue(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_sim: PowerFlexSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An unloaded entry sends nothing and leaves no repair issue behind."""
    entry = await setup_push(hass, site_sim)
    await tick(hass, freezer, 90)
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is not None
    await hass.config_entries.async_unload(entry.entry_id)
    assert issue_registry.async_get_issue(DOMAIN, issue_id(entry)) is None
    await report(hass, "9000")
    await tick(hass, freezer, 120)
    assert sent(site_sim) == []


async def test_without_a_source_no_push_and_no_entities(
    hass: HomeAssistant, site_sim: PowerFlexSimulator, hass_storage: dict[str, Any]
) -> None:
    """Clearing the option removes the two entities it created."""
    set_source(hass, "2000")
    entry = await setup_push(hass, site_sim)
    registry = er.async_get(hass)
    unique = f"{SITE_IDENTITY}_real_time_load"
    assert registry.async_get_entity_id("sensor", DOMAIN, unique) is not None
    hass.config_entries.async_update_entry(entry, options={})
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get_entity_id("sensor", DOMAIN, unique) is None
    assert registry.async_get_entity_id("binary_sensor", DOMAIN, f"{unique}_problem") is None
    assert sent(site_sim) == [2]
    await hass.config_entries.async_unload(entry.entry_id)
