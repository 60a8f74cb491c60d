"""The battery model behind every simulator: SoC stops, counters, power balance."""

from __future__ import annotations

import pytest

from simulators.battery import BatteryModel, DailyProfile, FixedProfile


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def model(clock: FakeClock, *, pv: float, load: float, soc: float = 50.0) -> BatteryModel:
    return BatteryModel(profile=FixedProfile(pv=pv, load=load), soc=soc, clock=clock)


def assert_balanced(battery: BatteryModel) -> None:
    flows = battery.flows
    assert flows.grid_w == pytest.approx(flows.consumption_w - flows.production_w - flows.battery_w)


def test_charging_stops_at_full_and_counters_match() -> None:
    clock = FakeClock()
    battery = model(clock, pv=0, load=0, soc=90)
    battery.setpoint_w = -5000
    charged, imported = battery.charged_wh, battery.grid_import_wh
    assert battery.grid_power_w == 5000
    clock.now += 3600  # only 1000 Wh (720 s) fit
    battery.step()
    assert battery.soc == 100
    assert battery.charged_wh - charged == pytest.approx(1000)
    assert battery.grid_import_wh - imported == pytest.approx(1000)
    assert (battery.battery_power_w, battery.allowed_charge_w) == (0, 0)
    assert battery.allowed_discharge_w == 5000


@pytest.mark.parametrize(("setpoint", "soc"), [(-4000, 90.0), (4000, 10.0)])
def test_one_long_step_that_ends_short_of_a_bound_does_not_jump_to_it(
    setpoint: float, soc: float
) -> None:
    """An hour at 4 kW moves 40 % of 10 kWh: 50 % becomes 90 % (10 %), not full (empty)."""
    clock = FakeClock()
    battery = model(clock, pv=0, load=0)
    battery.setpoint_w = setpoint
    clock.now += 3600
    battery.step()
    assert battery.soc == pytest.approx(soc)


@pytest.mark.parametrize(("setpoint", "soc"), [(-4000, 86.0), (4000, 50 - 4000 / 0.9 / 100)])
def test_losses_make_the_state_of_charge_lag(setpoint: float, soc: float) -> None:
    """At 90 % efficiency an hour at 4 kW stores 3.6 kWh, or draws 4.44 kWh from the cells."""
    clock = FakeClock()
    battery = BatteryModel(profile=FixedProfile(pv=0, load=0), soc=50, clock=clock, efficiency=0.9)
    battery.setpoint_w = setpoint
    charged, discharged = battery.charged_wh, battery.discharged_wh
    clock.now += 3600
    battery.step()
    assert battery.soc == pytest.approx(soc)
    # The counters are what flowed at AC: 4 kWh either way.
    moved = battery.charged_wh - charged + battery.discharged_wh - discharged
    assert moved == pytest.approx(4000)


def test_efficiency_outside_its_range_is_refused() -> None:
    with pytest.raises(ValueError, match="efficiency"):
        BatteryModel(efficiency=0)


def test_discharge_stops_at_empty() -> None:
    clock = FakeClock()
    battery = model(clock, pv=0, load=2000, soc=10)
    assert battery.battery_power_w == 2000  # self-consumption covers the load
    assert battery.grid_power_w == 0
    clock.now += 3600
    battery.step()
    assert (battery.soc, battery.battery_power_w, battery.allowed_discharge_w) == (0, 0, 0)
    assert battery.grid_power_w == 2000


def test_limits_clamp_self_consumption_and_setpoints() -> None:
    clock = FakeClock()
    battery = model(clock, pv=0, load=3000)
    battery.discharge_limit_w = 1000
    assert (battery.battery_power_w, battery.grid_power_w) == (1000, 2000)
    battery.setpoint_w = -9000  # beyond the hardware limit
    battery.charge_limit_w = -2000
    assert battery.battery_power_w == -2000
    battery.release()
    assert battery.battery_power_w == 3000
    assert_balanced(battery)


def test_counters_only_grow_and_balance_holds_off_grid() -> None:
    clock = FakeClock()
    battery = model(clock, pv=4000, load=500)
    before = (battery.produced_wh, battery.consumed_wh, battery.charged_wh)
    battery.on_grid = False
    clock.now += 600
    battery.step()
    assert battery.grid_power_w == 0
    assert battery.battery_power_w == -3500
    assert all(
        after >= start
        for after, start in zip(
            (battery.produced_wh, battery.consumed_wh, battery.charged_wh), before, strict=True
        )
    )
    assert battery.off_grid_s == 600
    assert_balanced(battery)


def test_daily_profile_is_a_day() -> None:
    profile = DailyProfile()
    assert profile.pv_at_hour(3) == 0
    assert profile.pv_at_hour(13) > profile.pv_at_hour(8) > 0
    assert all(profile.load_at_hour(hour / 4) > 0 for hour in range(96))
    assert profile.load_at_hour(19) > profile.load_at_hour(3)
