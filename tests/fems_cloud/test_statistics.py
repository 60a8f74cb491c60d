"""FEMS cloud history as long-term statistics: backfill, top-up, idempotence, gaps, zones."""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import (
    get_metadata,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.energy_flex.api.fems_cloud import FemsCloudTimeseries
from custom_components.energy_flex.const import CONF_HISTORY_DAYS
from custom_components.energy_flex.vendors.fems_cloud.statistics import (
    HISTORY_COUNTERS,
    HistoryImporter,
    query_zone,
    statistic_id,
)
from simulators.fems_cloud import FemsCloudSimulator
from simulators.fems_cloud.errors import too_many_requests

from .conftest import ADMIN, EDGE_A, EDGE_B, OWNER, setup_entry, tick

CONSUMED = "consumed_energy"
PRODUCED = "produced_energy"
PER_PERIOD = "queryHistoricTimeseriesEnergyPerPeriod"
HISTORY = f"edgeRpc/{PER_PERIOD}"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None, socket_enabled: None
) -> None:
    """The recorder must start before Home Assistant: ask for it before anything else."""


def days(count: int) -> dict[str, Any]:
    return {CONF_HISTORY_DAYS: count}


async def settle(hass: HomeAssistant) -> None:
    """Let the import pass finish and the recorder write what it queued."""
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def rows(hass: HomeAssistant, key: str = CONSUMED, edge_id: str = EDGE_A) -> list[Any]:
    """Every hourly row of one statistic, oldest first."""
    await async_wait_recording_done(hass)
    sid = statistic_id(edge_id, key)
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        datetime(2000, 1, 1, tzinfo=UTC),
        None,
        {sid},
        "hour",
        None,
        {"sum", "state"},
    )
    return list(found.get(sid, []))


def starts(found: list[Any]) -> list[datetime]:
    return [datetime.fromtimestamp(row["start"], UTC) for row in found]


def increments(found: list[Any]) -> list[float]:
    sums = [row["sum"] for row in found]
    return [sums[0], *(b - a for a, b in itertools.pairwise(sums))]


def history_params(simulator: FemsCloudSimulator) -> list[dict[str, Any]]:
    params = []
    for entry in simulator.request_log:
        if entry.inner_method == PER_PERIOD:
            assert isinstance(entry.params, dict)
            payload = entry.params["payload"]
            assert isinstance(payload, dict)
            params.append(payload["params"])
    return params


async def test_backfill_imports_every_counter_hour_by_hour(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """From local midnight N days ago to the last settled hour: one row per hour and counter."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    await hass.config.async_set_time_zone("Europe/Berlin")
    entry = await setup_entry(hass, ha_cloud, options=days(2))
    await settle(hass)

    consumed = await rows(hass)
    # 2025-06-08 00:00 Berlin is 06-07 22:00 UTC; 11:00–12:00 UTC is not settled at 12:03.
    assert starts(consumed)[0] == datetime(2025, 6, 7, 22, tzinfo=UTC)
    assert starts(consumed)[-1] == datetime(2025, 6, 10, 10, tzinfo=UTC)
    assert len(consumed) == 61
    assert increments(consumed) == [1000.0] * 61  # the house draws 1 kW
    assert consumed[-1]["state"] == consumed[-1]["sum"] == 61000.0
    assert increments(await rows(hass, PRODUCED, EDGE_B)) == [2000.0] * 61
    for edge_id in (EDGE_A, EDGE_B):
        for key, _, _ in HISTORY_COUNTERS:
            assert await rows(hass, key, edge_id), (edge_id, key)

    metadata = await get_instance(hass).async_add_executor_job(
        partial(get_metadata, hass, statistic_ids={statistic_id(EDGE_A, CONSUMED)})
    )
    _, meta = metadata[f"energy_flex:{EDGE_A}_consumed_energy"]
    assert meta["source"] == "energy_flex"
    assert meta["unit_of_measurement"] == "Wh"
    assert meta["has_sum"] is True
    assert meta["name"] == f"FEMS {EDGE_A} consumed energy (cloud history)"

    # One request per edge for three days; hourly, in Home Assistant's zone.
    assert ha_cloud.calls[HISTORY] == 2
    assert history_params(ha_cloud)[0] == {
        "timezone": "Europe/Berlin",
        "fromDate": "2025-06-08",
        "toDate": "2025-06-10",
        "channels": [channel for _, channel, _ in HISTORY_COUNTERS],
        "resolution": {"value": 1, "unit": "HOURS"},
    }
    assert entry.runtime_data.diagnostics()["history"]["rows_imported"] == 2 * 6 * 61


async def test_topped_up_every_hour_and_nothing_imported_twice(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """Each hourly pass adds the hour that settled; passes without news add nothing."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    entry = await setup_entry(hass, ha_cloud, options=days(1))
    await settle(hass)
    before = await rows(hass)
    await tick(hass, freezer, 17 * 60)  # 12:20: the top-up, 11:00–12:00 has settled
    await settle(hass)
    after = await rows(hass)
    assert len(after) == len(before) + 1
    assert after[-1]["sum"] == before[-1]["sum"] + 1000
    for _ in range(3):  # three more hours
        await tick(hass, freezer, 3600)
        await settle(hass)
    final = await rows(hass)
    assert len(final) == len(after) + 3
    assert Counter(row["start"] for row in final).most_common(1)[0][1] == 1
    assert increments(final) == [1000.0] * len(final)
    imported = entry.runtime_data.diagnostics()["history"]["rows_imported"]
    assert imported == 2 * 6 * len(final)


async def test_restart_continues_where_the_database_ends(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """Unloaded for three hours: the next load reads the last rows and adds only what is new."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    entry = await setup_entry(hass, ha_cloud, options=days(1))
    await settle(hass)
    before = await rows(hass)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=3))
    ha_cloud.reset_counters()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await settle(hass)
    after = await rows(hass)
    assert len(after) == len(before) + 3
    assert increments(after) == [1000.0] * len(after)
    # One request per edge, starting on the day of the last imported hour.
    assert [p["fromDate"] for p in history_params(ha_cloud)] == ["2025-06-10", "2025-06-10"]


async def test_gaps_stay_gaps_and_trailing_gaps_fill_in(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """No data for some hours: no rows (never 0); data that arrives late fills the end."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    gap_start = int(datetime(2025, 6, 9, 2, tzinfo=UTC).timestamp())
    gap_end = int(datetime(2025, 6, 9, 5, tzinfo=UTC).timestamp())
    outage = int(datetime(2025, 6, 10, 8, tzinfo=UTC).timestamp())
    for edge in ha_cloud.edges.values():
        edge.history.gaps = [(gap_start, gap_end), (outage, outage + 86400)]
    await setup_entry(hass, ha_cloud, options=days(2))
    await settle(hass)
    found = await rows(hass)
    hours = starts(found)
    for missing in (2, 3, 4):
        assert datetime(2025, 6, 9, missing, tzinfo=UTC) not in hours
    assert hours[-1] == datetime(2025, 6, 10, 7, tzinfo=UTC)  # the outage at the end
    by_start = dict(zip(hours, increments(found), strict=True))
    # The counter ran on in the gap: its energy arrives with the first hour after it.
    assert by_start[datetime(2025, 6, 9, 5, tzinfo=UTC)] == 4000.0
    assert by_start[datetime(2025, 6, 9, 1, tzinfo=UTC)] == 1000.0

    for edge in ha_cloud.edges.values():
        edge.history.gaps = [(gap_start, gap_end)]  # the backend got the outage's data
    await tick(hass, freezer, 17 * 60)
    await settle(hass)
    hours = starts(await rows(hass))
    assert hours[-1] == datetime(2025, 6, 10, 11, tzinfo=UTC)
    assert datetime(2025, 6, 10, 8, tzinfo=UTC) in hours
    assert datetime(2025, 6, 9, 3, tzinfo=UTC) not in hours


@pytest.mark.parametrize(
    ("now", "day", "hours_that_day"),
    [
        ("2025-03-31 12:03:00+00:00", date(2025, 3, 30), 23),  # spring forward
        ("2025-10-27 12:03:00+00:00", date(2025, 10, 26), 25),  # fall back
        ("2025-06-10 12:03:00+00:00", date(2025, 6, 9), 24),
    ],
)
async def test_dst_days_have_23_or_25_hours(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ha_cloud: FemsCloudSimulator,
    now: str,
    day: date,
    hours_that_day: int,
) -> None:
    """Hourly periods in Berlin time: every row on a UTC hour, the local day 23 or 25 long."""
    freezer.move_to(now)
    await hass.config.async_set_time_zone("Europe/Berlin")
    await setup_entry(hass, ha_cloud, options=days(2))
    await settle(hass)
    found = await rows(hass)
    berlin = ZoneInfo("Europe/Berlin")
    local_days = Counter(start.astimezone(berlin).date() for start in starts(found))
    assert local_days[day] == hours_that_day
    assert all(start.minute == 0 for start in starts(found))
    assert increments(found) == [1000.0] * len(found)
    spacing = {b - a for a, b in itertools.pairwise(starts(found))}
    assert spacing == {timedelta(hours=1)}


async def test_half_hour_zone_asks_in_utc(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """Local midnight in Kolkata is not on a UTC hour; the recorder needs hours: ask in UTC."""
    assert query_zone("Asia/Kolkata", date(2025, 6, 1)) == "UTC"
    assert query_zone("Europe/Berlin", date(2025, 6, 1)) == "Europe/Berlin"
    freezer.move_to("2025-06-10 12:03:00+00:00")
    await hass.config.async_set_time_zone("Asia/Kolkata")
    await setup_entry(hass, ha_cloud, options=days(1))
    await settle(hass)
    assert {p["timezone"] for p in history_params(ha_cloud)} == {"UTC"}
    found = await rows(hass)
    assert found
    assert all(start.minute == 0 for start in starts(found))
    assert increments(found) == [1000.0] * len(found)


async def test_long_backfill_goes_in_weekly_batches(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """20 days: three requests of at most seven days per edge, every hour once."""
    freezer.move_to("2025-06-21 12:03:00+00:00")
    await hass.config.async_set_time_zone("UTC")
    await setup_entry(hass, ha_cloud, (EDGE_A,), options=days(20))
    await settle(hass)
    ranges = [(p["fromDate"], p["toDate"]) for p in history_params(ha_cloud)]
    assert ranges == [
        ("2025-06-01", "2025-06-07"),
        ("2025-06-08", "2025-06-14"),
        ("2025-06-15", "2025-06-21"),
    ]
    found = await rows(hass)
    assert len(found) == 20 * 24 + 11
    assert increments(found) == [1000.0] * len(found)


async def test_failures_pause_the_import_with_one_warning(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ha_cloud: FemsCloudSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rate limit on history: one warning, nothing imported; the next hour catches up."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    await hass.config.async_set_time_zone("UTC")
    ha_cloud.inner_faults[PER_PERIOD] = too_many_requests()
    await setup_entry(hass, ha_cloud, options=days(1))
    await settle(hass)
    assert await rows(hass) == []
    await tick(hass, freezer, 3600)  # still refused: no second warning
    await settle(hass)
    warnings = [r for r in caplog.records if "history import paused" in r.getMessage()]
    assert len(warnings) == 1
    del ha_cloud.inner_faults[PER_PERIOD]
    await tick(hass, freezer, 3600)
    await settle(hass)
    assert len(await rows(hass)) == 24 + 13  # 06-09 00:00 to 06-10 13:00 UTC
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_an_edge_without_history_does_not_stop_the_others(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ha_cloud: FemsCloudSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The backend has nothing for one edge: logged, and the next edge is imported."""
    caplog.set_level(logging.INFO)
    freezer.move_to("2025-06-10 12:03:00+00:00")
    await hass.config.async_set_time_zone("UTC")
    await setup_entry(hass, ha_cloud, ("fems4242", EDGE_A), login=ADMIN, options=days(1))
    await settle(hass)
    assert await rows(hass, edge_id="fems4242") == []
    assert len(await rows(hass)) == 24 + 11
    assert any("No FEMS cloud history for fems4242" in r.getMessage() for r in caplog.records)


async def test_rejected_login_stops_the_pass_quietly(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """A password changed between two passes: nothing imported, reauth comes from polling."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    entry = await setup_entry(hass, ha_cloud, options=days(1))
    await settle(hass)
    count = len(await rows(hass))
    ha_cloud.users[OWNER].password = "rotated"
    await tick(hass, freezer, 17 * 60)
    await settle(hass)
    assert len(await rows(hass)) == count
    assert entry.runtime_data.diagnostics()["history"]["failing"] is False


async def test_a_pass_under_way_is_not_started_twice(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """The hourly trigger while a pass runs adds no second pass; the next one runs."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    entry = await setup_entry(hass, ha_cloud, options=days(1))
    await settle(hass)
    assert ha_cloud.calls[HISTORY] == 2
    history = entry.runtime_data.vendor_data.history
    history.running = True  # as if the backfill were still under way
    await tick(hass, freezer, 17 * 60)
    assert ha_cloud.calls[HISTORY] == 2
    history.running = False
    freezer.tick(timedelta(hours=1))
    await history.async_import()  # a pass on demand, as the benchmark runs it
    await settle(hass)
    assert ha_cloud.calls[HISTORY] == 4
    found = await rows(hass)
    assert starts(found)[-1] == datetime(2025, 6, 10, 12, tzinfo=UTC)
    assert increments(found) == [1000.0] * len(found)


async def test_cloud_down_pauses_the_import(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ha_cloud: FemsCloudSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cloud fails while topping up: one warning, the hours come with the next pass."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    await setup_entry(hass, ha_cloud, options=days(1))
    await settle(hass)
    count = len(await rows(hass))
    ha_cloud.faults.error_status = 503
    await tick(hass, freezer, 17 * 60)
    assert len(await rows(hass)) == count
    assert len([r for r in caplog.records if "history import paused" in r.getMessage()]) == 1
    ha_cloud.faults.reset()
    await tick(hass, freezer, 3600)
    await settle(hass)
    assert len(await rows(hass)) == count + 2


async def test_untrusted_history_values_are_never_imported(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, ha_cloud: FemsCloudSimulator
) -> None:
    """Off-hour timestamps, negative or absurd energy and nulls: no row; good hours: rows."""
    freezer.move_to("2025-06-10 12:03:00+00:00")
    entry = await setup_entry(hass, ha_cloud, (EDGE_A,), options=days(0))
    await settle(hass)
    importer = HistoryImporter(hass, entry, entry.runtime_data.vendor_data.client, ["fems9000"], 0)
    importer._last["fems9000"] = dict.fromkeys(key for key, _, _ in HISTORY_COUNTERS)
    hour = datetime(2025, 6, 10, 1, tzinfo=UTC)
    stamps = (
        hour,
        hour + timedelta(minutes=30),  # not on the hour
        hour + timedelta(hours=1),  # negative
        hour + timedelta(hours=2),  # absurd
        hour + timedelta(hours=3),  # null
        hour + timedelta(hours=4),
        hour + timedelta(hours=11),  # not over before the cutoff
    )
    values = (500.0, 700.0, -5.0, 1e12, None, 300.0, 100.0)
    series = FemsCloudTimeseries(
        timestamps=stamps,
        data={channel: values for _, channel, _ in HISTORY_COUNTERS},
    )
    importer._add(
        "fems9000", series, hour - timedelta(hours=1), datetime(2025, 6, 10, 11, 48, tzinfo=UTC)
    )
    found = await rows(hass, CONSUMED, "fems9000")
    assert starts(found) == [hour, hour + timedelta(hours=4)]
    assert [row["sum"] for row in found] == [500.0, 800.0]
