"""History of a simulated edge and the backend's history queries (notes §3.6–3.9).

The history is not recorded but computed, so any range can be asked for and the same
question always gets the same answer:

- Every local day of the edge (in the edge's own time zone) is run at 5-minute samples
  from the house curves of its battery profile (PV and load by wall-clock hour) and the
  battery's size and limits, in self-consumption. Each day starts with the state of
  charge the previous day ended with, from the commissioning day on, so the series is
  continuous across midnight. Runs are memoised: days with the same hours and start SoC
  (nearly all of them, since the profile has no seasons) are computed once.
- Energy counters start at the edge's lifetime totals on the commissioning day and add
  each sample's energy.
- There is data from the commissioning day up to the wall clock's "now"; outside that
  the backend has nothing, so periods there are null.

Queries cut the range `[fromDate 00:00, toDate + 1 day 00:00)` in the *requested* time
zone into periods of the requested resolution: fixed lengths for minutes and hours (so a
spring DST day has 23 hourly periods and an autumn one 25), calendar steps for days and
months.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo

from ..battery import DailyProfile, FixedProfile, Profile
from ..fems.errors import generic_error
from ..jsontypes import JsonValue
from .errors import invalid_channel, no_member
from .xlsx import Cell, build_xlsx

SAMPLE_S: Final = 300
_SAMPLE_H: Final = SAMPLE_S / 3600
_DAY_S: Final = 86400

# Sample fields and energy counters the history knows, by channel address.
POWER_CHANNELS: Final[Mapping[str, str]] = {
    "_sum/EssSoc": "soc",
    "_sum/EssActivePower": "battery",
    "_sum/EssDischargePower": "battery",
    "_sum/GridActivePower": "grid",
    "_sum/ProductionActivePower": "pv",
    "_sum/ProductionAcActivePower": "pv",
    "_sum/ConsumptionActivePower": "load",
}
ENERGY_FIELDS: Final = ("charged", "discharged", "imported", "exported", "produced", "consumed")
ENERGY_CHANNELS: Final[Mapping[str, str]] = {
    "_sum/EssDcChargeEnergy": "charged",
    "_sum/EssActiveChargeEnergy": "charged",
    "_sum/EssDcDischargeEnergy": "discharged",
    "_sum/EssActiveDischargeEnergy": "discharged",
    "_sum/GridBuyActiveEnergy": "imported",
    "_sum/GridSellActiveEnergy": "exported",
    "_sum/ProductionActiveEnergy": "produced",
    "_sum/ProductionAcActiveEnergy": "produced",
    "_sum/ConsumptionActiveEnergy": "consumed",
}
# The export's channel set is fixed; the request's channel lists are ignored (§3.9).
EXPORT_POWER_CHANNELS: Final = (
    "_sum/GridActivePower",
    "_sum/ProductionActivePower",
    "_sum/ConsumptionActivePower",
    "_sum/EssDischargePower",
    "_sum/EssSoc",
)
EXPORT_ENERGY_CHANNELS: Final = (
    "_sum/GridBuyActiveEnergy",
    "_sum/GridSellActiveEnergy",
    "_sum/ProductionActiveEnergy",
    "_sum/ConsumptionActiveEnergy",
    "_sum/EssDcChargeEnergy",
    "_sum/EssDcDischargeEnergy",
)
NO_CHANNEL_AVAILABLE: Final = "None of the requested Channels is available"

# Seconds per fixed-length ChronoUnit; calendar units step in the requested time zone.
_FIXED_UNITS: Final[Mapping[str, int]] = {
    "SECONDS": 1,
    "MINUTES": 60,
    "HOURS": 3600,
    "HALF_DAYS": 43200,
}
_CALENDAR_UNITS: Final = frozenset({"DAYS", "WEEKS", "MONTHS", "YEARS"})
# Keep one request's work bounded (the simulator shares its loop with the tests).
_MAX_PERIODS: Final = 50_000
_MAX_DAYS: Final = 3 * 366
_AUTO_RESOLUTION_S: Final = (  # (at most this many days, resolution in s): §3.6 table
    (1, 300),
    (2, 600),
    (3, 900),
    (4, 1200),
    (6, 1800),
    (12, 3600),
    (24, 7200),
    (48, 14400),
    (96, 28800),
    (144, 43200),
)


@dataclass(frozen=True, slots=True)
class HouseCurves:
    """PV and load (W) as pure functions of the local wall-clock hour."""

    pv_at_hour: Callable[[float], float]
    load_at_hour: Callable[[float], float]


def curves_for(profile: Profile) -> HouseCurves:
    """The hour-of-day curves behind a battery profile (a daily profile for others)."""
    if isinstance(profile, FixedProfile):
        pv, load = profile.pv, profile.load
        return HouseCurves(lambda _hour: pv, lambda _hour: load)
    daily = profile if isinstance(profile, DailyProfile) else DailyProfile()
    return HouseCurves(daily.pv_at_hour, daily.load_at_hour)


@dataclass(frozen=True, slots=True)
class DayRun:
    """One local day: powers (W) constant over each sample, SoC (%) at each sample start."""

    fields: Mapping[str, tuple[float, ...]]
    energies: tuple[tuple[float, ...], ...]  # per sample, Wh in ENERGY_FIELDS order
    end_soc: float
    totals: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """The valid samples inside a time range, with counters at its start."""

    timestamps: list[int]
    fields: dict[str, list[float]]
    # Per energy field: the counter before the first sample, then after each sample.
    counters: dict[str, list[float]]


class EdgeHistory:
    """The computed history of one edge; see the module docstring."""

    def __init__(
        self,
        *,
        curves: HouseCurves,
        capacity_wh: float,
        max_charge_w: float,
        max_discharge_w: float,
        zone: ZoneInfo,
        commissioned: date,
        base_counters: Sequence[float],
        wall_clock: Callable[[], datetime],
        initial_soc: float = 50.0,
    ) -> None:
        if len(base_counters) != len(ENERGY_FIELDS):
            raise ValueError("one base counter per energy field")
        self._curves = curves
        self._capacity_wh = capacity_wh
        self._max_charge_w = max_charge_w
        self._max_discharge_w = max_discharge_w
        self.zone = zone
        self.commissioned = commissioned
        self._wall_clock = wall_clock
        self._runs: dict[tuple[tuple[float, ...], float], DayRun] = {}
        self._normal_hours: dict[int, tuple[float, ...]] = {}
        # State at the start of each day, filled forward from commissioning.
        self._start_soc: dict[date, float] = {commissioned: initial_soc}
        self._start_counters: dict[date, tuple[float, ...]] = {commissioned: tuple(base_counters)}
        self._last_day = commissioned
        # `[start, end)` epoch-second ranges the backend has no data for (an outage of the
        # edge's link): their samples are missing from every answer, the counters run on.
        self.gaps: list[tuple[int, int]] = []

    # --- days ---------------------------------------------------------------------------

    def day_start(self, day: date) -> int:
        """The day's local midnight as epoch seconds."""
        return int(datetime.combine(day, time(), self.zone).timestamp())

    def day_of(self, instant: int) -> date:
        """The local date of an epoch second."""
        return datetime.fromtimestamp(instant, self.zone).date()

    def run(self, day: date) -> DayRun:
        """The day's samples (`day` must not be before commissioning)."""
        self._advance_to(day)
        return self._run(self._hours(day), self._start_soc[day])

    def _advance_to(self, day: date) -> None:
        while self._last_day < day:
            current = self._last_day
            run = self._run(self._hours(current), self._start_soc[current])
            following = current + timedelta(days=1)
            self._start_soc[following] = run.end_soc
            self._start_counters[following] = tuple(
                start + total
                for start, total in zip(self._start_counters[current], run.totals, strict=True)
            )
            self._last_day = following

    def _hours(self, day: date) -> tuple[float, ...]:
        """Wall-clock hour of each sample; only DST days differ from 0, 1/12, 2/12, …."""
        start = self.day_start(day)
        end = self.day_start(day + timedelta(days=1))
        count = (end - start) // SAMPLE_S
        start_offset = _offset_s(start, self.zone)
        if start_offset == _offset_s(end - 1, self.zone):
            if count not in self._normal_hours:
                self._normal_hours[count] = tuple(i * _SAMPLE_H for i in range(count))
            return self._normal_hours[count]
        local_midnight = start + start_offset
        return tuple(
            (ts + _offset_s(ts, self.zone) - local_midnight) / 3600
            for ts in range(start, end, SAMPLE_S)
        )

    def _run(self, hours: tuple[float, ...], start_soc: float) -> DayRun:
        key = (hours, start_soc)
        if key not in self._runs:
            self._runs[key] = self._simulate(hours, start_soc)
        return self._runs[key]

    def _simulate(self, hours: tuple[float, ...], start_soc: float) -> DayRun:
        """Self-consumption within the power limits and the empty/full stops."""
        capacity = self._capacity_wh
        fields: dict[str, list[float]] = {
            name: [] for name in ("soc", "battery", "grid", "pv", "load")
        }
        energies: list[tuple[float, ...]] = []
        soc = start_soc
        for hour in hours:
            pv = max(self._curves.pv_at_hour(hour), 0.0)
            load = max(self._curves.load_at_hour(hour), 0.0)
            battery = min(max(load - pv, -self._max_charge_w), self._max_discharge_w)
            stored = capacity * soc / 100
            if battery > 0:
                battery = min(battery, stored / _SAMPLE_H)
            elif battery < 0:
                battery = max(battery, -(capacity - stored) / _SAMPLE_H)
            grid = load - pv - battery
            for name, value in (
                ("soc", soc),
                ("battery", battery),
                ("grid", grid),
                ("pv", pv),
                ("load", load),
            ):
                fields[name].append(value)
            energies.append(
                (
                    max(-battery, 0.0) * _SAMPLE_H,
                    max(battery, 0.0) * _SAMPLE_H,
                    max(grid, 0.0) * _SAMPLE_H,
                    max(-grid, 0.0) * _SAMPLE_H,
                    pv * _SAMPLE_H,
                    load * _SAMPLE_H,
                )
            )
            soc = min(max(soc - battery * _SAMPLE_H / capacity * 100, 0.0), 100.0)
        totals = tuple(
            math.fsum(energy[index] for energy in energies) for index in range(len(ENERGY_FIELDS))
        )
        return DayRun(
            fields={name: tuple(values) for name, values in fields.items()},
            energies=tuple(energies),
            end_soc=soc,
            totals=totals,
        )

    # --- ranges -------------------------------------------------------------------------

    def window(self, start: int, end: int) -> Window:
        """Samples in `[start, end)` that the backend has (commissioned, and already past)."""
        now = int(self._wall_clock().timestamp())
        valid_from = self.day_start(self.commissioned)
        valid_to = now - now % SAMPLE_S - SAMPLE_S  # the last sample whose 5 min are over
        low, high = max(start, valid_from), min(end, valid_to + SAMPLE_S)
        timestamps: list[int] = []
        fields: dict[str, list[float]] = {
            name: [] for name in ("soc", "battery", "grid", "pv", "load")
        }
        counters: dict[str, list[float]] = {name: [] for name in ENERGY_FIELDS}
        if low >= high:
            return Window(timestamps, fields, counters)
        day = self.day_of(low)
        running = list(self._counters_at_day_start(day))
        while (day_start := self.day_start(day)) < high:
            day_run = self.run(day)
            for index, energy in enumerate(day_run.energies):
                ts = day_start + index * SAMPLE_S
                if ts >= high:
                    break
                kept = ts >= low and not self._missing(ts)
                if kept:
                    if not timestamps:
                        for name, value in zip(ENERGY_FIELDS, running, strict=True):
                            counters[name].append(value)
                    timestamps.append(ts)
                    for name, values in day_run.fields.items():
                        fields[name].append(values[index])
                running = [total + part for total, part in zip(running, energy, strict=True)]
                if kept:
                    for name, value in zip(ENERGY_FIELDS, running, strict=True):
                        counters[name].append(value)
            day += timedelta(days=1)
        return Window(timestamps, fields, counters)

    def _missing(self, instant: int) -> bool:
        return any(start <= instant < end for start, end in self.gaps)

    def _counters_at_day_start(self, day: date) -> tuple[float, ...]:
        self._advance_to(day)
        return self._start_counters[day]


def _offset_s(instant: int, zone: tzinfo) -> int:
    offset = datetime.fromtimestamp(instant, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


# --- request parsing -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """A query's dates, in its time zone, as epoch seconds `[start, end)`."""

    zone: tzinfo
    from_date: date
    to_date: date
    start: int
    end: int


def parse_range(params: Mapping[str, JsonValue]) -> Range:
    """`timezone`, `fromDate`, `toDate` as the backend reads them; `toDate` is inclusive."""
    zone = parse_timezone(_member(params, "timezone"))
    from_date = _parse_date(_member(params, "fromDate"))
    to_date = _parse_date(_member(params, "toDate"))
    if to_date < from_date:
        raise generic_error("fromDate is after toDate")
    if (to_date - from_date).days >= _MAX_DAYS:
        raise generic_error("Range is too long")
    start = int(datetime.combine(from_date, time(), zone).timestamp())
    end = int(datetime.combine(to_date + timedelta(days=1), time(), zone).timestamp())
    return Range(zone, from_date, to_date, start, end)


def parse_timezone(raw: JsonValue) -> tzinfo:
    """An IANA id (unknown ids silently become GMT), or legacy seconds with inverted sign."""
    if isinstance(raw, bool):
        raise generic_error(f"Unable to parse timezone [{raw}]")
    if isinstance(raw, int | float):
        try:
            return timezone(timedelta(seconds=-int(raw)))
        except ValueError:
            raise generic_error(f"Unable to parse timezone [{raw}]") from None
    if isinstance(raw, str):
        try:
            return ZoneInfo(raw)
        except KeyError, ValueError:  # ZoneInfoNotFoundError is a KeyError
            return UTC
    raise generic_error(f"Unable to parse timezone [{raw}]")


def parse_resolution(raw: JsonValue) -> tuple[int, str]:
    """`{"value": 15, "unit": "MINUTES"}` (unit in any case), or a bare number of seconds."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value, unit = raw, "SECONDS"
    elif isinstance(raw, dict):
        value_raw, unit_raw = raw.get("value"), raw.get("unit")
        if not isinstance(value_raw, int) or isinstance(value_raw, bool):
            raise no_member("value", "resolution")
        if not isinstance(unit_raw, str):
            raise no_member("unit", "resolution")
        value, unit = value_raw, unit_raw.upper()
    else:
        raise generic_error(f"Unable to parse resolution [{raw}]")
    if value < 1 or (unit not in _FIXED_UNITS and unit not in _CALENDAR_UNITS):
        raise generic_error(f"Unsupported resolution [{value} {unit}]")
    return value, unit


def auto_resolution(from_date: date, to_date: date) -> tuple[int, str]:
    """`calculateResolution`, including its quirk: only the *day part* of the period counts."""
    days = _java_period_days(from_date, to_date + timedelta(days=1))
    for max_days, seconds in _AUTO_RESOLUTION_S:
        if days <= max_days:
            return seconds, "SECONDS"
    return 1, "DAYS"


def _java_period_days(start: date, end: date) -> int:
    """`Period.between(start, end).getDays()` for start <= end."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    return (end - _add_months(start, months)).days


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def periods(query: Range, resolution: tuple[int, str]) -> list[tuple[int, int]]:
    """The query range cut into `[start, end)` periods of `resolution`."""
    value, unit = resolution
    bounds: list[int] = []
    if unit in _FIXED_UNITS:
        step = value * _FIXED_UNITS[unit]
        if (query.end - query.start) // step > _MAX_PERIODS:
            raise generic_error("Resolution is too fine for this range")
        bounds = list(range(query.start, query.end, step))
    else:
        for index in itertools.count():
            day = _calendar_step(query.from_date, unit, value * index)
            start = int(datetime.combine(day, time(), query.zone).timestamp())
            if start >= query.end:
                break
            bounds.append(start)
    ends = [*bounds[1:], query.end]
    return [(start, min(end, query.end)) for start, end in zip(bounds, ends, strict=True)]


def _calendar_step(first: date, unit: str, count: int) -> date:
    if unit == "DAYS":
        return first + timedelta(days=count)
    if unit == "WEEKS":
        return first + timedelta(weeks=count)
    return _add_months(first, count * (12 if unit == "YEARS" else 1))


def parse_channels(params: Mapping[str, JsonValue]) -> list[str]:
    """`channels`: a list of `component/channel` addresses (error 1000 otherwise)."""
    raw = _member(params, "channels")
    if not isinstance(raw, list):
        raise no_member("channels", "params")
    channels: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise invalid_channel(str(item))
        component, sep, channel = item.partition("/")
        if not sep or not component or not channel or "/" in channel:
            raise invalid_channel(item)
        channels.append(item)
    return channels


def _member(params: Mapping[str, JsonValue], name: str) -> JsonValue:
    if name not in params:
        raise no_member(name, "params")
    return params[name]


def _parse_date(raw: JsonValue) -> date:
    if not isinstance(raw, str):
        raise generic_error(f"Unable to parse date [{raw}]")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise generic_error(f"Unable to parse date [{raw}]") from None


# --- queries ---------------------------------------------------------------------------


def _known(channels: Sequence[str]) -> None:
    if not any(c in POWER_CHANNELS or c in ENERGY_CHANNELS for c in channels):
        raise generic_error(NO_CHANNEL_AVAILABLE)


def _iso(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class _Series:
    """Per-period statistics over a window."""

    window: Window
    spans: list[tuple[int, int]]  # sample index range of each period

    @classmethod
    def of(cls, history: EdgeHistory, query: Range, cuts: list[tuple[int, int]]) -> _Series:
        window = history.window(query.start, query.end)
        stamps = window.timestamps
        spans = [
            (bisect.bisect_left(stamps, start), bisect.bisect_left(stamps, end))
            for start, end in cuts
        ]
        return cls(window, spans)

    def mean(self, channel: str) -> Iterator[float | None]:
        values = self.window.fields[POWER_CHANNELS[channel]]
        for first, last in self.spans:
            yield round(math.fsum(values[first:last]) / (last - first), 3) if last > first else None

    def counter_at_end(self, channel: str) -> Iterator[float | None]:
        counters = self.window.counters[ENERGY_CHANNELS[channel]]
        for first, last in self.spans:
            yield round(counters[last]) if last > first else None

    def increase(self, channel: str) -> Iterator[float | None]:
        counters = self.window.counters[ENERGY_CHANNELS[channel]]
        for first, last in self.spans:
            yield round(counters[last] - counters[first], 3) if last > first else None


def timeseries_data(history: EdgeHistory, params: Mapping[str, JsonValue]) -> JsonValue:
    """`queryHistoricTimeseriesData`: power means per period, counters at period ends."""
    query = parse_range(params)
    channels = parse_channels(params)
    raw_resolution = params.get("resolution")
    resolution = (
        auto_resolution(query.from_date, query.to_date)
        if raw_resolution is None
        else parse_resolution(raw_resolution)
    )
    _known(channels)
    cuts = periods(query, resolution)
    series = _Series.of(history, query, cuts)
    data: dict[str, JsonValue] = {}
    for channel in sorted(set(channels)):
        if channel in POWER_CHANNELS:
            data[channel] = list(series.mean(channel))
        elif channel in ENERGY_CHANNELS:
            data[channel] = list(series.counter_at_end(channel))
        else:
            data[channel] = [None] * len(cuts)
    return {"timestamps": [_iso(start) for start, _ in cuts], "data": data}


def timeseries_energy_per_period(
    history: EdgeHistory, params: Mapping[str, JsonValue]
) -> JsonValue:
    """`queryHistoricTimeseriesEnergyPerPeriod`: counter increase per period."""
    query = parse_range(params)
    channels = parse_channels(params)
    resolution = parse_resolution(_member(params, "resolution"))
    _known(channels)
    cuts = periods(query, resolution)
    series = _Series.of(history, query, cuts)
    data: dict[str, JsonValue] = {
        channel: list(series.increase(channel))
        if channel in ENERGY_CHANNELS
        else [None] * len(cuts)
        for channel in sorted(set(channels))
    }
    return {"timestamps": [_iso(start) for start, _ in cuts], "data": data}


def timeseries_energy(history: EdgeHistory, params: Mapping[str, JsonValue]) -> JsonValue:
    """`queryHistoricTimeseriesEnergy`: counter increase over the whole range."""
    query = parse_range(params)
    channels = parse_channels(params)
    data = _energy_totals(history, query, channels)
    if all(value is None for value in data.values()):
        raise generic_error(NO_CHANNEL_AVAILABLE)
    return {"data": dict(sorted(data.items()))}


def _energy_totals(
    history: EdgeHistory, query: Range, channels: Sequence[str]
) -> dict[str, JsonValue]:
    series = _Series.of(history, query, [(query.start, query.end)])
    return {
        channel: next(series.increase(channel)) if channel in ENERGY_CHANNELS else None
        for channel in channels
    }


def export_xlsx(history: EdgeHistory, params: Mapping[str, JsonValue]) -> JsonValue:
    """`queryHistoricTimeseriesExportXlxs`: fixed channels, 15-minute power and totals."""
    query = parse_range(params)
    cuts = periods(query, (15, "MINUTES"))
    series = _Series.of(history, query, cuts)
    columns = [list(series.mean(channel)) for channel in EXPORT_POWER_CHANNELS]
    power_rows: list[list[Cell]] = [["Timestamp", *EXPORT_POWER_CHANNELS]]
    for index, (start, _) in enumerate(cuts):
        local = datetime.fromtimestamp(start, query.zone).isoformat(timespec="minutes")
        power_rows.append([local, *(column[index] for column in columns)])
    totals = _energy_totals(history, query, EXPORT_ENERGY_CHANNELS)
    energy_rows: list[list[Cell]] = [["Channel", "Energy [Wh]"]]
    for channel in EXPORT_ENERGY_CHANNELS:
        total = totals[channel]
        energy_rows.append([channel, total if isinstance(total, int | float) else None])
    content = build_xlsx([("Power", power_rows), ("Energy", energy_rows)])
    return {"payload": base64.b64encode(content).decode("ascii")}


__all__ = [
    "ENERGY_CHANNELS",
    "EXPORT_ENERGY_CHANNELS",
    "EXPORT_POWER_CHANNELS",
    "POWER_CHANNELS",
    "EdgeHistory",
    "HouseCurves",
    "curves_for",
    "export_xlsx",
    "timeseries_data",
    "timeseries_energy",
    "timeseries_energy_per_period",
]
