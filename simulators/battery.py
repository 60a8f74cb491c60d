"""A small, deterministic home battery plus house (PV and load) model.

Signs follow Home Assistant and FEMS: battery power is positive when discharging,
grid power is positive when importing. Time comes from an injectable clock so tests can
move it; `step()` integrates energy and state of charge since the previous step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# Below this a remaining power or time is treated as zero (float noise, not physics).
_EPSILON = 1e-9


class Profile(Protocol):
    """House PV production and load at a model time (the model clock's reading)."""

    def pv_w(self, now: float) -> float:
        """PV power in W (>= 0)."""
        ...

    def load_w(self, now: float) -> float:
        """House load in W (>= 0)."""
        ...


@dataclass(slots=True)
class FixedProfile:
    """Constant PV and load, so tests can pin the numbers."""

    pv: float = 0.0
    load: float = 500.0

    def pv_w(self, now: float) -> float:
        return self.pv

    def load_w(self, now: float) -> float:
        return self.load


def _local_hour() -> float:
    tm = time.localtime()
    return tm.tm_hour + tm.tm_min / 60 + tm.tm_sec / 3600


@dataclass(slots=True)
class DailyProfile:
    """A daylight-ish PV curve and a house-load pattern from the wall-clock hour of day.

    The curves are pure functions of the hour (`pv_at_hour` / `load_at_hour`), so they are
    deterministic; only the hour comes from the wall clock, since the model clock is
    monotonic and has no time of day.
    """

    peak_pv_w: float = 6000.0
    base_load_w: float = 350.0
    hour_of_day: Callable[[], float] = _local_hour

    def pv_at_hour(self, hour: float) -> float:
        sunrise, sunset = 6.0, 20.0
        if not sunrise < hour < sunset:
            return 0.0
        # A flattened sine: slow mornings and evenings, broad noon.
        return self.peak_pv_w * math.pow(
            math.sin(math.pi * (hour - sunrise) / (sunset - sunrise)), 1.5
        )

    def load_at_hour(self, hour: float) -> float:
        load = self.base_load_w
        load += 1200.0 * _bump(hour, centre=7.5, width=1.0)  # breakfast
        load += 600.0 * _bump(hour, centre=12.5, width=1.0)  # lunch
        load += 1800.0 * _bump(hour, centre=19.0, width=1.5)  # cooking, washing
        # A fixed fast wiggle so the numbers look alive without randomness.
        load += 120.0 * math.sin(2 * math.pi * hour * 4)
        return max(load, 0.0)

    def pv_w(self, now: float) -> float:
        return self.pv_at_hour(self.hour_of_day())

    def load_w(self, now: float) -> float:
        return self.load_at_hour(self.hour_of_day())


def _bump(hour: float, *, centre: float, width: float) -> float:
    """A smooth 0..1 bump around `centre` (Gaussian-shaped, in hours)."""
    return math.exp(-(((hour - centre) / width) ** 2))


@dataclass(frozen=True, slots=True)
class PowerFlows:
    """Instantaneous powers in W; `grid_w == consumption_w - production_w - battery_w`."""

    battery_w: float
    grid_w: float
    production_w: float
    consumption_w: float


class BatteryModel:
    """Home battery, PV and load with energy counters; see the module docstring for signs.

    Changing a control input (`setpoint_w`, the limits, `on_grid`) first integrates the
    time so far under the old input, so energy counters stay exact. `efficiency` (0 < η ≤ 1)
    is lost on the way into and out of the cells: charging at P stores η × P, discharging
    at P draws P / η, so the state of charge lags behind the AC power (the counters are AC).
    """

    def __init__(
        self,
        *,
        capacity_wh: float = 10000.0,
        max_charge_w: float = 5000.0,
        max_discharge_w: float = 5000.0,
        soc: float = 50.0,
        profile: Profile | None = None,
        on_grid: bool = True,
        clock: Callable[[], float] = time.monotonic,
        efficiency: float = 1.0,
    ) -> None:
        if capacity_wh <= 0:
            raise ValueError("capacity_wh must be positive")
        if not 0 < efficiency <= 1:
            raise ValueError("efficiency must be in (0, 1]")
        self.capacity_wh = capacity_wh
        self.efficiency = efficiency
        self.max_charge_w = max_charge_w
        self.max_discharge_w = max_discharge_w
        self.soc = min(max(soc, 0.0), 100.0)
        self.profile: Profile = profile if profile is not None else DailyProfile()
        self._clock = clock
        self._last = clock()
        self._setpoint_w: float | None = None
        self._discharge_limit_w: float | None = None
        self._charge_limit_w: float | None = None
        self._on_grid = on_grid
        # Plausible lifetime totals of a system that has run for a while; never reset.
        self.charged_wh = 1_850_000.0
        self.discharged_wh = 1_720_000.0
        self.grid_import_wh = 4_200_000.0
        self.grid_export_wh = 3_150_000.0
        self.produced_wh = 6_480_000.0
        self.consumed_wh = 7_400_000.0
        self.off_grid_s = 0.0

    # --- control inputs -------------------------------------------------------------

    @property
    def setpoint_w(self) -> float | None:
        """Battery power command (+ discharge, - charge); None = self-consumption."""
        return self._setpoint_w

    @setpoint_w.setter
    def setpoint_w(self, value: float | None) -> None:
        self.step()
        self._setpoint_w = value

    @property
    def discharge_limit_w(self) -> float | None:
        """Upper bound on battery power (FEMS SetActivePowerLessOrEquals)."""
        return self._discharge_limit_w

    @discharge_limit_w.setter
    def discharge_limit_w(self, value: float | None) -> None:
        self.step()
        self._discharge_limit_w = value

    @property
    def charge_limit_w(self) -> float | None:
        """Lower bound on battery power, usually negative (SetActivePowerGreaterOrEquals)."""
        return self._charge_limit_w

    @charge_limit_w.setter
    def charge_limit_w(self, value: float | None) -> None:
        self.step()
        self._charge_limit_w = value

    @property
    def on_grid(self) -> bool:
        return self._on_grid

    @on_grid.setter
    def on_grid(self, value: bool) -> None:
        self.step()
        self._on_grid = value

    def release(self) -> None:
        """Hand control back to self-consumption: no setpoint, no clamps."""
        self.setpoint_w = None
        self.discharge_limit_w = None
        self.charge_limit_w = None

    # --- read-outs (at the time of the last step) ------------------------------------

    @property
    def flows(self) -> PowerFlows:
        return self._flows_at(self._last)

    @property
    def battery_power_w(self) -> float:
        return self.flows.battery_w

    @property
    def grid_power_w(self) -> float:
        return self.flows.grid_w

    @property
    def production_w(self) -> float:
        return self.flows.production_w

    @property
    def consumption_w(self) -> float:
        return self.flows.consumption_w

    @property
    def allowed_charge_w(self) -> float:
        """Most negative power the battery accepts now (<= 0; 0 when full)."""
        return 0.0 if self.soc >= 100.0 else -self.max_charge_w

    @property
    def allowed_discharge_w(self) -> float:
        """Largest discharge power the battery can give now (>= 0; 0 when empty)."""
        return 0.0 if self.soc <= 0.0 else self.max_discharge_w

    @property
    def stored_wh(self) -> float:
        return self.capacity_wh * self.soc / 100.0

    # --- integration ------------------------------------------------------------------

    def step(self) -> None:
        """Integrate from the last step to now; SoC stops at 0 % and 100 %."""
        now = self._clock()
        remaining = now - self._last
        # A clock must not run backwards; if one does, just re-base on it.
        while remaining > _EPSILON:
            flows = self._flows_at(now)
            dt = min(remaining, self._time_to_soc_bound(flows.battery_w))
            self._integrate(flows, dt)
            remaining -= dt
        self._last = now

    def _cell_w(self, battery_w: float) -> float:
        """The power leaving (+) or entering (−) the cells for an AC power, after losses."""
        return battery_w / self.efficiency if battery_w > 0 else battery_w * self.efficiency

    def _time_to_soc_bound(self, battery_w: float) -> float:
        cell_w = self._cell_w(battery_w)
        if cell_w > 0:
            return self.stored_wh / cell_w * 3600.0
        if cell_w < 0:
            return (self.capacity_wh - self.stored_wh) / -cell_w * 3600.0
        return math.inf

    def _integrate(self, flows: PowerFlows, dt: float) -> None:
        hours = dt / 3600.0
        battery_wh = flows.battery_w * hours
        cell_wh = self._cell_w(flows.battery_w) * hours
        # Asked before the state of charge moves: afterwards it would measure the rest.
        reaches_bound = self._time_to_soc_bound(flows.battery_w) <= dt
        self.soc = min(max(self.soc - cell_wh / self.capacity_wh * 100.0, 0.0), 100.0)
        if reaches_bound:
            # Land exactly on the bound so the next segment sees an empty/full battery.
            self.soc = 0.0 if flows.battery_w > 0 else 100.0
        self.discharged_wh += max(battery_wh, 0.0)
        self.charged_wh += max(-battery_wh, 0.0)
        self.grid_import_wh += max(flows.grid_w, 0.0) * hours
        self.grid_export_wh += max(-flows.grid_w, 0.0) * hours
        self.produced_wh += flows.production_w * hours
        self.consumed_wh += flows.consumption_w * hours
        if not self._on_grid:
            self.off_grid_s += dt

    def _flows_at(self, now: float) -> PowerFlows:
        pv = max(self.profile.pv_w(now), 0.0)
        load = max(self.profile.load_w(now), 0.0)
        if not self._on_grid:
            return self._island_flows(pv, load)
        battery = self._limit_battery(self._commanded_w(pv, load))
        return PowerFlows(
            battery_w=battery,
            grid_w=load - pv - battery,
            production_w=pv,
            consumption_w=load,
        )

    def _commanded_w(self, pv: float, load: float) -> float:
        # Self-consumption covers the house deficit or stores the PV surplus.
        target = load - pv if self._setpoint_w is None else self._setpoint_w
        if self._discharge_limit_w is not None:
            target = min(target, self._discharge_limit_w)
        if self._charge_limit_w is not None:
            target = max(target, self._charge_limit_w)
        return target

    def _limit_battery(self, target: float) -> float:
        """Apply hardware power limits and the empty/full stops."""
        target = min(max(target, -self.max_charge_w), self.max_discharge_w)
        if target > 0 and self.soc <= 0.0:
            return 0.0
        if target < 0 and self.soc >= 100.0:
            return 0.0
        return target

    def _island_flows(self, pv: float, load: float) -> PowerFlows:
        # Off grid the inverter must balance the house itself; API commands cannot apply.
        battery = self._limit_battery(load - pv)
        # What the battery cannot absorb is curtailed; what it cannot supply is shed.
        production = min(pv, load - battery)
        consumption = production + battery
        return PowerFlows(
            battery_w=battery,
            grid_w=0.0,
            production_w=max(production, 0.0),
            consumption_w=max(consumption, 0.0),
        )
