"""Sites, charging stations and cars behind the PowerFlex simulator (no HTTP here).

Cars arrive (randomly, from a seeded generator, or when a test plugs one in), charge at
the pilot current the site allocates them, and leave. The allocation shares the site's
DCM cap (the enabled external signals, in kW or A) equally between the charging cars,
never more than a car or a station takes and never a pilot below the J1772 minimum of
6 A: a car that would get less gets none ("NOT CHARGING"). So the site's EV load never
exceeds the cap.

Time is epoch seconds; `run_until` integrates in steps of the report interval and hands
each report time to a callback (the simulator records the measurement rows there).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

MIN_PILOT_A: Final = 6.0
DEFAULT_SIGNAL_NAME: Final = "DCM_EVSE_Allocation"
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The document's example values.
DEFAULT_TARGET_PEAK_KW: Final = 200

type LoadUnit = Literal["kW", "A"]


@dataclass(slots=True)
class Signal:
    """A DCM external signal: cap on the site's aggregate EV load."""

    name: str
    max_load: float
    max_load_unit: LoadUnit
    is_enabled: bool

    def cap_a(self, voltage_v: float) -> float | None:
        """The cap as an aggregate current at `voltage_v`, `None` when disabled."""
        if not self.is_enabled:
            return None
        if self.max_load_unit == "A":
            return self.max_load
        return self.max_load * 1000 / voltage_v


@dataclass(slots=True)
class Car:
    """A plugged-in car: how much it takes, what it still needs, when it leaves."""

    max_current_a: float
    energy_needed_wh: float
    leaves_at: float
    delivered_wh: float = 0.0

    @property
    def full(self) -> bool:
        return self.delivered_wh >= self.energy_needed_wh


@dataclass(slots=True)
class Station:
    """One EVSE: its limits and what it does now."""

    acs_id: int
    acg_id: int = 1
    max_current_a: float = 32.0
    evse_type: str = "AeroVironment"
    phases: str = "AB"
    car: Car | None = None
    pilot_a: float = 0.0
    current_a: float = 0.0
    session_wh: float = 0.0
    # Plugged in, not yet given a pilot by the allocation ("READY").
    awaiting_pilot: bool = False

    @property
    def space_number(self) -> str:
        return f"P{self.acs_id:03d}"

    @property
    def charging_state(self) -> str:
        if self.car is None:
            return "UNPLUGGED"
        if self.awaiting_pilot:
            return "READY"
        if self.car.full:
            return "IDLE"
        if self.current_a > 0:
            return "ADAPTIVE"
        return "NOT CHARGING"

    @property
    def contactor_closed(self) -> bool:
        return self.current_a > 0

    def wanted_a(self) -> float:
        """The current this station's car could take now (0 without a car, when full
        or before its first allocation)."""
        if self.car is None or self.car.full or self.awaiting_pilot:
            return 0.0
        return min(self.max_current_a, self.car.max_current_a)


@dataclass(slots=True)
class Site:
    """One `acc_id`: its stations, DCM signals, targets and the last real-time load."""

    acc_id: int
    voltage_v: float = 240.0
    stations: dict[int, Station] = field(default_factory=dict)
    signals: dict[str, Signal] = field(default_factory=dict)
    target_peak_kw: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(MONTHS, DEFAULT_TARGET_PEAK_KW)
    )
    real_time_load_kw: int | None = None

    def cap_a(self) -> float | None:
        """The tightest enabled cap as an aggregate current, or `None` without one."""
        caps = [cap for s in self.signals.values() if (cap := s.cap_a(self.voltage_v)) is not None]
        return min(caps, default=None)

    @property
    def charging_power_w(self) -> float:
        return sum(station.current_a for station in self.stations.values()) * self.voltage_v

    def allocate(self) -> None:
        """Share the cap: equal shares, small wants first, whole amps, ≥ 6 A or nothing."""
        wanting = sorted(
            (s for s in self.stations.values() if s.wanted_a() > 0), key=Station.wanted_a
        )
        remaining = self.cap_a()
        for index, station in enumerate(wanting):
            share = station.wanted_a()
            if remaining is not None:
                share = min(share, remaining / (len(wanting) - index))
            pilot = float(math.floor(share))
            if pilot < MIN_PILOT_A:
                pilot = 0.0
            station.pilot_a = station.current_a = pilot
            if remaining is not None:
                remaining -= pilot
        for station in self.stations.values():
            if station.wanted_a() == 0:
                station.pilot_a = station.current_a = 0.0


@dataclass(slots=True)
class Arrivals:
    """How often cars come and what they are like (all drawn from one seeded generator)."""

    enabled: bool = True
    per_station_per_h: float = 0.4
    max_current_a: tuple[float, ...] = (16.0, 32.0, 40.0)
    energy_wh: tuple[float, float] = (5_000.0, 40_000.0)
    stay_s: tuple[float, float] = (1_800.0, 8 * 3_600.0)


class PowerFlexModel:
    """All sites of one account, advanced in report steps."""

    def __init__(
        self,
        sites: Iterable[Site],
        *,
        now: float,
        report_interval_s: float = 10.0,
        arrivals: Arrivals | None = None,
        seed: int = 0,
    ) -> None:
        if report_interval_s <= 0:
            raise ValueError("report_interval_s must be positive")
        self.sites = {site.acc_id: site for site in sites}
        self.report_interval_s = report_interval_s
        self.arrivals = arrivals if arrivals is not None else Arrivals()
        self.time = now
        self._rng = random.Random(seed)
        for site in self.sites.values():
            site.allocate()

    def site(self, acc_id: int) -> Site:
        return self.sites[acc_id]

    def station(self, acc_id: int, acs_id: int) -> Station:
        return self.sites[acc_id].stations[acs_id]

    # --- cars ----------------------------------------------------------------------------

    def plug_in(
        self,
        acc_id: int,
        acs_id: int,
        *,
        max_current_a: float = 32.0,
        energy_needed_wh: float = 30_000.0,
        stay_s: float = 4 * 3600.0,
    ) -> Car:
        """A car arrives now; it gets a pilot at the next report step (READY until then)."""
        station = self.station(acc_id, acs_id)
        station.car = Car(max_current_a, energy_needed_wh, self.time + stay_s)
        station.session_wh = 0.0
        station.awaiting_pilot = True
        return station.car

    def unplug(self, acc_id: int, acs_id: int) -> None:
        """The car leaves now; the site's other cars get its share."""
        station = self.station(acc_id, acs_id)
        station.car = None
        station.awaiting_pilot = False
        self.sites[acc_id].allocate()

    # --- time ----------------------------------------------------------------------------

    def run_until(self, now: float, report: Callable[[float], None] | None = None) -> None:
        """Integrate to `now` in report steps, calling `report(t)` at each report time."""
        while self.time + self.report_interval_s <= now:
            self._step(self.report_interval_s)
            if report is not None:
                report(self.time)

    def _step(self, dt: float) -> None:
        self.time += dt
        for site in self.sites.values():
            for station in site.stations.values():
                # A car that was READY at the last report takes part in this allocation.
                station.awaiting_pilot = False
                self._integrate(station, site.voltage_v, dt)
            site.allocate()

    def _integrate(self, station: Station, voltage_v: float, dt: float) -> None:
        car = station.car
        if car is not None:
            energy_wh = station.current_a * voltage_v * dt / 3600
            station.session_wh += energy_wh
            car.delivered_wh += energy_wh
            if self.time >= car.leaves_at:
                station.car = None
                station.awaiting_pilot = False
        elif self.arrivals.enabled and self._arrives(dt):
            arrivals = self.arrivals
            station.car = Car(
                max_current_a=self._rng.choice(arrivals.max_current_a),
                energy_needed_wh=self._rng.uniform(*arrivals.energy_wh),
                leaves_at=self.time + self._rng.uniform(*arrivals.stay_s),
            )
            station.session_wh = 0.0
            station.awaiting_pilot = True

    def _arrives(self, dt: float) -> bool:
        rate_per_s = self.arrivals.per_station_per_h / 3600
        return self._rng.random() < 1 - math.exp(-rate_per_s * dt)
