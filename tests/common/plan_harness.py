"""One battery per connection for the `reach_state_of_charge` tests, on Home Assistant's clock.

Each harness starts the connection's simulator on a real socket with a 10 kWh battery at
50 % in a house without load or PV (a released battery stays where it is), sets up a real
entry for it, and tells the tests what they need in one shape for every connection: the
entity ids, what the battery shows, and every command the device received in Home
Assistant's sign. The simulators run on Home Assistant's clock, so `freezer` moves the
battery too: a setpoint held for an hour moves the state of charge by an hour's energy.
The FENECON cloud's battery is one edge with a FixActivePower controller, polled at the
cloud's default interval (60 s), which is what `one_poll` waits for.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, ServiceResponse, State
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.energy_flex.const import DOMAIN
from simulators.battery import BatteryModel, FixedProfile
from simulators.fems_cloud import FIX_ACTIVE_POWER_ID, FemsCloudSimulator, SimulatedEdge
from simulators.fems_modbus import FemsModbusSimulator
from simulators.fems_rest import FemsRestSimulator
from simulators.flexconnect import FlexConnectSimulator
from simulators.flexconnect.battery import ControlMode
from simulators.sonnen import SonnenSimulator

from ..fems_cloud.conftest import EDGE_A as CLOUD_EDGE
from ..fems_cloud.conftest import ha_now, make_users
from ..fems_cloud.conftest import setup_entry as setup_cloud_entry
from ..fems_modbus.conftest import setup_entry as setup_modbus_entry
from ..fems_rest.conftest import HOSTNAME, READ_PASSWORD, WRITE_PASSWORD, setup_fems_entry
from ..flexconnect.conftest import SKI_A
from ..flexconnect.conftest import setup_entry as setup_flexconnect_entry
from ..sonnen.conftest import setup_sonnen_entry

CONNECTIONS: Final = ("fems_rest", "fems_modbus", "sonnen", "flexconnect", "fems_cloud")
CAPACITY_WH: Final = 10_000.0
# sonnen's USOC reads 0 % at 5 % RSOC (the simulator's bottom reserve): the USOC span is 95 %.
_SONNEN_USOC_ZERO: Final = 5.0
# FlexConnect commands arrive this long after they were sent (the conftest's latency).
FLEXCONNECT_LATENCY: Final = timedelta(seconds=30)
# Long enough for a poll of the local connections (and for a FlexConnect command to arrive).
LOCAL_POLL: Final = FLEXCONNECT_LATENCY + timedelta(seconds=1)
# The FENECON cloud polls every 60 s by default (DEFAULT_CLOUD_SCAN_INTERVAL), kept here.
CLOUD_POLL: Final = timedelta(seconds=61)


def ha_clock() -> float:
    """Home Assistant's clock in seconds, so `freezer` moves the simulators as well."""
    return dt_util.utcnow().timestamp()


@dataclass
class PlanHarness:
    """A running simulator, its loaded entry and how to read what it did."""

    connection: str
    # The connection's simulator (each test module knows which type it is).
    simulator: Any
    battery: BatteryModel
    entry: MockConfigEntry
    prefix: str
    # Every command the device received, in Home Assistant's sign (`None`: released).
    received: Callable[[], list[float | None]]
    # Wh per 100 % of the state of charge the device shows.
    usable_wh: float
    # How far the planned power may be from Δ% × capacity ÷ time left (W, or a fraction).
    tolerance_w: float = 1.0
    tolerance_ratio: float = 0.0
    # Raises the state of charge the battery shows to this percent.
    show_soc: Callable[[float], None] = lambda percent: None
    # Time enough for the next poll to have run (and a FlexConnect command to arrive).
    one_poll: timedelta = LOCAL_POLL

    def entity(self, platform: str, key: str) -> str:
        """An entity id of the battery, by its key."""
        return f"{platform}.{self.prefix}_{key}"

    @property
    def plan_sensor(self) -> str:
        return self.entity("sensor", "control_plan")

    @property
    def setpoint(self) -> str:
        return self.entity("number", "battery_power_setpoint")

    def commands(self) -> list[float | None]:
        """The commands received, repeats of the same one (keep-alive) counted once."""
        distinct: list[float | None] = []
        for command in self.received():
            if not distinct or distinct[-1] != command:
                distinct.append(command)
        return distinct

    def expected_power(self, target: float, soc: float, deadline: datetime) -> float:
        """Δ% × capacity ÷ time left from now, in Home Assistant's sign."""
        hours = (deadline - dt_util.utcnow()).total_seconds() / 3600
        return (soc - target) / 100 * self.usable_wh / hours

    def assert_power(self, power: float, expected: float) -> None:
        """`power` is the planned power rounded up to whole watts, within the tolerance."""
        allowed = max(self.tolerance_w, abs(expected) * self.tolerance_ratio)
        assert abs(power - expected) <= allowed, (power, expected, allowed)

    async def restart(
        self,
        hass: HomeAssistant,
        hass_storage: dict[str, Any],
        freezer: FrozenDateTimeFactory,
        down_for: timedelta,
    ) -> None:
        """Stop Home Assistant (entries are not unloaded then), wait, and start it again.

        Unloading would hand the battery back and forget what was held, which a stop does
        not: the controller's record is put back as the stop leaves it.
        """
        kept = {
            key: copy.deepcopy(value)
            for key, value in hass_storage.items()
            if key.startswith(f"{DOMAIN}.control.")
        }
        await hass.config_entries.async_unload(self.entry.entry_id)
        await hass.async_block_till_done()
        hass_storage.update(kept)
        freezer.tick(down_for)  # Home Assistant is down: no timer runs
        await hass.config_entries.async_setup(self.entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)


def _battery(soc: float, efficiency: float, max_power: float) -> BatteryModel:
    return BatteryModel(
        capacity_wh=CAPACITY_WH,
        max_charge_w=max_power,
        max_discharge_w=max_power,
        soc=soc,
        profile=FixedProfile(pv=0, load=0),
        clock=ha_clock,
        efficiency=efficiency,
    )


def _set_soc(battery: BatteryModel, percent: float) -> None:
    battery.step()
    battery.soc = percent


def _fems_commands(simulator: FemsRestSimulator | FemsModbusSimulator) -> list[float | None]:
    return [
        None if record.value is None else float(record.value)  # type: ignore[arg-type]
        for record in simulator.writes.for_channel("ess0/SetActivePowerEquals")
    ]


def _cloud_commands(simulator: FemsCloudSimulator) -> list[float | None]:
    """The edge's FixActivePower writes: MANUAL_ON with `power` (FEMS sign = Home
    Assistant's, + discharge) is a command, MANUAL_OFF the release."""
    commands: list[float | None] = []
    switched_on = False
    prefix = f"{CLOUD_EDGE}/{FIX_ACTIVE_POWER_ID}/"
    for record in simulator.writes.records:
        name = record.channel.removeprefix(prefix)
        if name == "mode":
            switched_on = record.value == "MANUAL_ON"
            if record.value == "MANUAL_OFF":
                commands.append(None)
        elif name == "power" and switched_on:
            commands.append(float(record.value))  # type: ignore[arg-type]
            switched_on = False
    return commands


def _sonnen_commands(simulator: SonnenSimulator) -> list[float | None]:
    """Discharge W as +, charge W as −; switching out of manual mode is the release."""
    commands: list[float | None] = []
    for record in simulator.writes.records:
        value = record.value
        if record.channel == "EM_OperatingMode" and value != 1:
            commands.append(None)
        elif record.channel == "setpoint/discharge" and value:
            commands.append(float(value))  # type: ignore[arg-type]
        elif record.channel == "setpoint/charge" and value:
            commands.append(0.0 - float(value))  # type: ignore[arg-type]
    return commands


def _flexconnect_commands(simulator: FlexConnectSimulator) -> list[float | None]:
    """FlexConnect's setpoint is + charge; any mode but POWER hands the battery back."""
    return [
        0.0 - float(record.setpoint_w) if record.control_mode == ControlMode.POWER else None
        for record in simulator.modifies
        if record.ski == SKI_A
    ]


@asynccontextmanager
async def open_harness(
    hass: HomeAssistant,
    connection: str,
    *,
    soc: float = 50.0,
    efficiency: float = 1.0,
    max_power: float = 5000.0,
) -> AsyncIterator[PlanHarness]:
    """The simulator of `connection` with a loaded entry; unloaded and stopped afterwards."""
    battery = _battery(soc, efficiency, max_power)
    if connection == "fems_rest":
        rest = FemsRestSimulator(
            battery=battery,
            clock=ha_clock,
            passwords={"owner": WRITE_PASSWORD, "guest": READ_PASSWORD},
            hostname=HOSTNAME,
            # Time jumps by minutes here; the keep-alive itself is pinned in test_control.
            api_timeout_s=0,
        )
        async with rest:
            entry = await setup_fems_entry(hass, rest)
            yield PlanHarness(
                connection,
                rest,
                battery,
                entry,
                "fems_fems12345",
                lambda: _fems_commands(rest),
                usable_wh=CAPACITY_WH,
                show_soc=lambda percent: _set_soc(battery, percent),
            )
            await hass.config_entries.async_unload(entry.entry_id)
    elif connection == "fems_modbus":
        modbus = FemsModbusSimulator(
            battery=battery, clock=ha_clock, tick_s=0.05, api_timeout_s=0, idle_timeout_s=1e9
        )
        async with modbus:
            entry = await setup_modbus_entry(hass, modbus)
            yield PlanHarness(
                connection,
                modbus,
                battery,
                entry,
                "fems_ems0042123",
                lambda: _fems_commands(modbus),
                usable_wh=CAPACITY_WH,
                show_soc=lambda percent: _set_soc(battery, percent),
            )
            await hass.config_entries.async_unload(entry.entry_id)
    elif connection == "sonnen":
        sonnen = SonnenSimulator(battery=battery, clock=ha_clock)
        # The inverter's maximum bounds the unit's power (and so the battery's, as built).
        sonnen.device.configuration["IC_InverterMaxPower_w"] = str(int(max_power))
        battery.max_charge_w = battery.max_discharge_w = max_power
        sonnen.device.backup_buffer = 0  # no backup buffer unless a test sets one
        async with sonnen:
            entry = await setup_sonnen_entry(hass, sonnen)
            yield PlanHarness(
                connection,
                sonnen,
                battery,
                entry,
                "sonnenbatterie_330123",
                lambda: _sonnen_commands(sonnen),
                usable_wh=CAPACITY_WH * (100 - _SONNEN_USOC_ZERO) / 100,
                # The capacity is derived from whole-percent RSOC and USOC: a few percent.
                tolerance_ratio=0.035,
                show_soc=lambda usoc: _set_soc(
                    battery, _SONNEN_USOC_ZERO + usoc * (100 - _SONNEN_USOC_ZERO) / 100
                ),
            )
            await hass.config_entries.async_unload(entry.entry_id)
    elif connection == "fems_cloud":
        # One edge with a FixActivePower controller, seen by its owner's login.
        edge = SimulatedEdge(
            CLOUD_EDGE, battery=battery, fix_active_power=True, clock=ha_clock, wall_clock=ha_now
        )
        cloud = FemsCloudSimulator(
            edges=[edge], users=make_users([CLOUD_EDGE]), clock=ha_clock, wall_clock=ha_now
        )
        async with cloud:
            entry = await setup_cloud_entry(hass, cloud, (CLOUD_EDGE,))
            yield PlanHarness(
                connection,
                cloud,
                battery,
                entry,
                f"fems_{CLOUD_EDGE}",
                lambda: _cloud_commands(cloud),
                usable_wh=CAPACITY_WH,
                show_soc=lambda percent: _set_soc(battery, percent),
                one_poll=CLOUD_POLL,
            )
            await hass.config_entries.async_unload(entry.entry_id)
    else:
        flexconnect = FlexConnectSimulator(
            skis=(SKI_A,),
            battery_factory=lambda clock: battery,
            clock=ha_clock,
            command_latency_s=(FLEXCONNECT_LATENCY.total_seconds(),) * 2,
            max_wait_s=0.0,
        )
        async with flexconnect:
            entry = await setup_flexconnect_entry(
                hass,
                flexconnect,
                skis=(SKI_A,),
                options={"max_charge_power": max_power, "max_discharge_power": max_power},
            )
            yield PlanHarness(
                connection,
                flexconnect,
                battery,
                entry,
                f"flexconnect_battery_{SKI_A[:8].lower()}",
                lambda: _flexconnect_commands(flexconnect),
                usable_wh=CAPACITY_WH,
                show_soc=lambda percent: _set_soc(battery, percent),
            )
            await hass.config_entries.async_unload(entry.entry_id)


# --- calling and reading -------------------------------------------------------------------


async def reach(
    hass: HomeAssistant, harness: PlanHarness, soc: float, by: str | datetime, **extra: Any
) -> ServiceResponse:
    """`energy_flex.reach_state_of_charge` on the battery, through one of its entities."""
    return await hass.services.async_call(
        DOMAIN,
        "reach_state_of_charge",
        {
            ATTR_ENTITY_ID: harness.setpoint,
            "state_of_charge": soc,
            "by": by.isoformat() if isinstance(by, datetime) else by,
            **extra,
        },
        blocking=True,
        return_response=True,
    )


def state(hass: HomeAssistant, entity_id: str) -> State:
    """An entity's state object."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found


def number(hass: HomeAssistant, entity_id: str) -> float | None:
    """A numeric state, `None` while unknown."""
    value = state(hass, entity_id).state
    return None if value == STATE_UNKNOWN else float(value)


async def tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Move time and run what became due (polls, keep-alives, deadlines, re-plans)."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def advance(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    total: timedelta,
    step: timedelta = timedelta(minutes=5),
) -> None:
    """Move time by `total` in steps, each running what became due."""
    while total > timedelta(0):
        move = min(step, total)
        await tick(hass, freezer, move)
        total -= move
