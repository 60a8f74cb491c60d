"""The FEMS cloud's energy history as Home Assistant long-term statistics.

No other FEMS connection can do this: the backend keeps each edge's hourly energy since
commissioning, so the Energy dashboard can show the months before Energy Flex was
installed. For each edge and each of the six energy counters one *external* statistic
`energy_flex:<edge id>_<counter key>` (e.g. `energy_flex:fems1234_grid_imported_energy`)
gets one row per hour: `sum` = the energy since the first imported hour, in Wh.

- Backfill: at setup, from local midnight `history_days` ago; then topped up every hour.
- Idempotent: each statistic continues after its last row (read back from the recorder
  once per load, so a restart continues where the database ends). An hour that was
  imported is never asked for again; an hour the backend has no value for is not
  written (a gap stays a gap, never a 0). Trailing gaps are asked for again next time,
  so an edge that was offline fills in once the backend has its data.
- Small batches (`BATCH_DAYS` per request, one recorder job per statistic and batch), one
  edge after another: the event loop only parses one batch at a time, the recorder's own
  thread writes, and the next batch is asked for once the recorder has written the last.
- Hourly periods are requested in Home Assistant's time zone (explicit resolution, IANA
  id), so a DST day has 23 or 25 rows; the backend's timestamps are UTC instants. Where
  local midnight is not a whole UTC hour (e.g. Asia/Kolkata) the request uses UTC, because
  the recorder only takes rows that start on the hour.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import UnitOfEnergy
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify
from homeassistant.util.unit_conversion import EnergyConverter

from ...api.errors import ApiAuthError, ApiDeviceError, EnergyFlexApiError
from ...api.fems_cloud import (
    FemsCloudClient,
    FemsCloudErrorReason,
    FemsCloudResolution,
    FemsCloudTimeseries,
    ResolutionUnit,
)
from ...const import DOMAIN

_LOGGER = logging.getLogger(__name__)

# (counter key = the sensor's key, cumulative channel, statistic name suffix)
HISTORY_COUNTERS: Final = (
    ("battery_charged_energy", "_sum/EssDcChargeEnergy", "battery charged energy"),
    ("battery_discharged_energy", "_sum/EssDcDischargeEnergy", "battery discharged energy"),
    ("grid_imported_energy", "_sum/GridBuyActiveEnergy", "grid imported energy"),
    ("grid_exported_energy", "_sum/GridSellActiveEnergy", "grid exported energy"),
    ("produced_energy", "_sum/ProductionActiveEnergy", "produced energy"),
    ("consumed_energy", "_sum/ConsumptionActiveEnergy", "consumed energy"),
)
_CHANNELS: Final = tuple(channel for _, channel, _ in HISTORY_COUNTERS)
_HOURLY: Final = FemsCloudResolution(1, ResolutionUnit.HOURS)
_HOUR: Final = timedelta(hours=1)
# One request covers this many days (168 hours × 6 counters): a small answer to parse.
BATCH_DAYS: Final = 7
# A finished hour can still be incomplete at the backend for a few minutes.
SETTLE: Final = timedelta(minutes=15)
# The hourly top-up runs at this minute past each hour (UTC), after SETTLE.
TOP_UP_MINUTE: Final = 20
# An hour's energy above this is no measurement (10 MWh: a 10 MW site running an hour).
_MAX_WH_PER_HOUR: Final = 10_000_000.0


def statistic_id(edge_id: str, key: str) -> str:
    """The external statistic of one edge's counter, e.g. `energy_flex:fems1234_consumed_energy`."""
    return f"{DOMAIN}:{slugify(edge_id)}_{key}"


def _metadata(edge_id: str, key: str, label: str) -> StatisticMetaData:
    return StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=f"FEMS {edge_id} {label} (cloud history)",
        source=DOMAIN,
        statistic_id=statistic_id(edge_id, key),
        unit_class=EnergyConverter.UNIT_CLASS,
        unit_of_measurement=UnitOfEnergy.WATT_HOUR,
    )


@dataclass(slots=True)
class _Last:
    """Where a statistic ends: its last hour (epoch s) and the sum after it (Wh)."""

    start: float
    total: float


def query_zone(zone_name: str, day: date) -> str:
    """The zone to ask hourly periods in: Home Assistant's, unless its midnight is off the hour."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone_name))
    offset = midnight.utcoffset() or timedelta()
    return zone_name if offset % _HOUR == timedelta() else "UTC"


class HistoryImporter:
    """Imports and tops up the hourly energy history of an entry's edges."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: FemsCloudClient,
        edge_ids: Sequence[str],
        days: int,
    ) -> None:
        """Import `days` days back for `edge_ids` once started."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._edge_ids = list(edge_ids)
        self._days = days
        # Per edge, per counter key: where its statistic ends (None: nothing imported yet).
        self._last: dict[str, dict[str, _Last | None]] = {}
        # A pass is under way (hourly triggers meanwhile are covered by it).
        self.running = False
        self._failing = False
        self.rows_imported = 0
        self.requests = 0

    @property
    def enabled(self) -> bool:
        """Statistics need the recorder."""
        return "recorder" in self._hass.config.components

    @callback
    def async_start(self) -> None:
        """Import once Home Assistant has started, then every hour; stops with the entry."""
        if not self.enabled:
            _LOGGER.debug("Recorder not loaded: no FEMS cloud history import")
            return
        unsubs: list[CALLBACK_TYPE] = [
            async_at_started(self._hass, self._async_kick),
            async_track_utc_time_change(
                self._hass, self._async_kick, minute=TOP_UP_MINUTE, second=0
            ),
        ]
        for unsub in unsubs:
            self._entry.async_on_unload(unsub)

    async def _async_kick(self, _: Any) -> None:
        if self.running:
            return  # the pass under way also covers this hour
        self.running = True
        self._entry.async_create_background_task(
            self._hass, self._async_pass(), f"{DOMAIN} FEMS cloud history import"
        )

    async def async_import(self) -> None:
        """One pass over every edge: import what is missing up to the last settled hour."""
        self.running = True
        await self._async_pass()

    async def _async_pass(self) -> None:
        try:
            for edge_id in self._edge_ids:
                try:
                    await self._async_import_edge(edge_id)
                except ApiAuthError:
                    # Polling raises the reauth flow; nothing to add here.
                    return
                except ApiDeviceError as err:
                    if err.reason == FemsCloudErrorReason.RATE_LIMITED:
                        self._pause(err)
                        return
                    # This edge's history is unavailable (e.g. no data yet); try the others.
                    _LOGGER.info("No FEMS cloud history for %s now: %s", edge_id, err.reason)
                except EnergyFlexApiError as err:
                    self._pause(err)
                    return
            if self._failing:
                _LOGGER.info("FEMS cloud history import works again")
            self._failing = False
        finally:
            self.running = False

    def _pause(self, err: EnergyFlexApiError) -> None:
        """The cloud cannot be asked now: one warning, the next hourly pass tries again."""
        if not self._failing:
            _LOGGER.warning("FEMS cloud history import paused until the next hour: %s", err)
        self._failing = True

    async def _async_import_edge(self, edge_id: str) -> None:
        zone_name = self._hass.config.time_zone
        zone = ZoneInfo(zone_name)
        now = dt_util.utcnow()
        cutoff = now - SETTLE
        last = await self._async_last(edge_id)
        first_day = now.astimezone(zone).date() - timedelta(days=self._days)
        backfill_start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone)
        start = min(
            (
                datetime.fromtimestamp(record.start, UTC) + _HOUR
                if record is not None
                else backfill_start
            )
            for record in last.values()
        )
        # A statistic that exists continues where it ends, even before `first_day`.
        day = start.astimezone(zone).date()
        last_day = cutoff.astimezone(zone).date()
        while day <= last_day:
            to_day = min(day + timedelta(days=BATCH_DAYS - 1), last_day)
            self.requests += 1
            series = await self._client.query_historic_timeseries_energy_per_period(
                edge_id,
                day,
                to_day,
                channels=_CHANNELS,
                resolution=_HOURLY,
                timezone=query_zone(zone_name, day),
            )
            self._add(edge_id, series, backfill_start, cutoff)
            # Back-pressure: the next batch once the recorder has written this one, so a
            # long backfill never piles up in its queue (memory stays one batch).
            await get_instance(self._hass).async_block_till_done()
            day = to_day + timedelta(days=1)

    def _add(
        self,
        edge_id: str,
        series: FemsCloudTimeseries,
        backfill_start: datetime,
        cutoff: datetime,
    ) -> None:
        """Queue the new hours of one batch, one recorder job per statistic."""
        for key, channel, label in HISTORY_COUNTERS:
            record = self._last[edge_id][key]
            after = record.start if record is not None else backfill_start.timestamp() - 1
            total = record.total if record is not None else 0.0
            rows: list[StatisticData] = []
            for start, value in zip(series.timestamps, series.data[channel], strict=True):
                instant = start.timestamp()
                if instant <= after or start + _HOUR > cutoff:
                    continue  # imported already, or not over yet
                if start.minute or start.second or start.microsecond:
                    continue  # not an hour the recorder can hold
                if value is None or not 0 <= value <= _MAX_WH_PER_HOUR:
                    continue  # a gap (or no measurement): never a made-up 0
                total += value
                rows.append(StatisticData(start=start, state=total, sum=total))
                after = instant
            if rows:
                async_add_external_statistics(self._hass, _metadata(edge_id, key, label), rows)
                self._last[edge_id][key] = _Last(after, total)
                self.rows_imported += len(rows)

    async def _async_last(self, edge_id: str) -> dict[str, _Last | None]:
        """Where each statistic of the edge ends, read from the recorder once per load."""
        if edge_id not in self._last:
            instance = get_instance(self._hass)
            records: dict[str, _Last | None] = {}
            for key, _, _ in HISTORY_COUNTERS:
                sid = statistic_id(edge_id, key)
                found = await instance.async_add_executor_job(
                    get_last_statistics, self._hass, 1, sid, False, {"sum"}
                )
                rows = found.get(sid)
                records[key] = _Last(rows[0]["start"], rows[0].get("sum") or 0.0) if rows else None
            self._last[edge_id] = records
        return self._last[edge_id]

    def diagnostics(self) -> dict[str, Any]:
        """What the import did since the entry was loaded (no edge ids)."""
        return {
            "enabled": self.enabled,
            "days": self._days,
            "requests": self.requests,
            "rows_imported": self.rows_imported,
            "failing": self._failing,
        }
