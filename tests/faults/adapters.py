"""One adapter per connection: how the fault matrix starts, breaks and reads each device.

A new connection joins the matrix with one `ConnectionAdapter` subclass in `ADAPTERS`:
it starts its simulator on a frozen clock (so the device's values stay put and any change
the matrix sees is the integration's doing), adds a config entry, says how to put a raw
value into the device's answer and how many writes the device received. The catalogue of
faults in `catalogue.py` is shared; transport faults come from the simulator's
`FaultInjector` (HTTP) or `ModbusFaults` (Modbus/TCP).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar, Literal

import aiohttp
import pytest
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.api import fems_cloud as fems_cloud_api
from custom_components.energy_flex.api import fems_modbus as fems_modbus_api
from custom_components.energy_flex.api import fems_rest as fems_rest_api
from custom_components.energy_flex.api import flexconnect as flexconnect_api
from custom_components.energy_flex.api import powerflex as powerflex_api
from custom_components.energy_flex.api import sonnen as sonnen_api
from custom_components.energy_flex.const import (
    CONF_CONNECTION,
    CONF_DEVICE_IDS,
    CONF_EDGE_IDS,
    CONF_READ_WRITE,
    CONF_SITE_ID,
    CONF_WRITE_PASSWORD,
    CONF_WRITE_PORT,
    CONNECTION_FEMS_CLOUD,
    CONNECTION_FEMS_MODBUS,
    CONNECTION_FEMS_REST,
    CONNECTION_FLEXCONNECT,
    CONNECTION_POWERFLEX,
    CONNECTION_SONNEN,
    DOMAIN,
)
from simulators.battery import BatteryModel, FixedProfile
from simulators.faults import FaultInjector
from simulators.fems_cloud import CloudUser, FemsCloudSimulator, Role, SimulatedEdge
from simulators.fems_modbus import FemsModbusSimulator
from simulators.fems_modbus.server import ModbusFaults
from simulators.fems_rest import FemsRestSimulator
from simulators.flexconnect import FlexConnectSimulator
from simulators.flexconnect.battery import ControlMode
from simulators.jsontypes import JsonValue
from simulators.lifecycle import SimulatorLifecycle
from simulators.powerflex import PowerFlexSimulator
from simulators.powerflex.model import DEFAULT_SIGNAL_NAME, Arrivals, Site
from simulators.sonnen import SonnenSimulator

type Transport = Literal["http", "modbus"]
# What a value fault breaks: the value a device's state of charge, battery power, energy
# counter, stored energy, AC voltage, AC frequency, charging power or charging current is
# read from.
type Field = Literal[
    "soc",
    "battery_power",
    "counter",
    "stored_energy",
    "voltage",
    "frequency",
    "charging_power",
    "current",
]
# A value left out of the answer altogether (a missing key).
MISSING: Any = object()

# Short enough that a device that never answers costs a fraction of a second per poll,
# long enough that a loaded test machine never misses a healthy answer.
CLIENT_TIMEOUT_S = 0.5


class FakeClock:
    """A monotonic clock that stands still: the simulated device's values never drift."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _battery(clock: FakeClock, *, pv: float = 2000, load: float = 1000) -> BatteryModel:
    return BatteryModel(profile=FixedProfile(pv=pv, load=load), soc=50, clock=clock)


class ConnectionAdapter(ABC):
    """How the fault matrix drives one connection."""

    name: ClassVar[str]
    transport: ClassVar[Transport]
    # The device identity its entities' unique ids start with.
    identity: ClassVar[str]
    # The entity keys each field feeds: a value fault there makes exactly these unknown.
    affected: ClassVar[dict[Field, frozenset[str]]]
    # A battery setpoint (W, + discharge) the device accepts in its healthy state.
    command_w: ClassVar[float] = 500.0
    # The matrix's command: an Energy Flex action on the device (its `device_id` is added),
    # and the action that hands the device back. A battery gets a setpoint.
    command_service: ClassVar[str] = "set_battery_power"
    release_service: ClassVar[str] = "release_control"

    # The simulated device, set by each adapter's `__init__`.
    sim: SimulatorLifecycle

    def __init__(self) -> None:
        self.clock = FakeClock()

    async def start(self) -> None:
        """Start the simulator on a free port."""
        await self.sim.start()

    async def stop(self) -> None:
        """Stop the simulator (its faults are reset first, so nothing hangs)."""
        self.clear()
        await self.sim.stop()

    @abstractmethod
    def entry(self, hass: HomeAssistant) -> MockConfigEntry:
        """A config entry (added, not set up) that reaches the simulator, with control."""

    @abstractmethod
    def shorten_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the client give up on a silent device after `CLIENT_TIMEOUT_S`.

        Also make it read every value on every poll: a client that reads what changes only
        with the installation (a capacity, a rating) once an hour or once per connection
        would not see a fault injected there for the matrix's two polls.
        """

    @abstractmethod
    def set_value(self, field: Field, raw: Any) -> None:
        """From now on the device answers `raw` (or leaves it out: `MISSING`) for `field`."""

    @abstractmethod
    def all_values_null(self) -> None:
        """Every value in the answers is null; the envelope stays intact."""

    @abstractmethod
    def all_values_missing(self) -> None:
        """The answers carry no values at all (keys, channels or objects left out)."""

    @abstractmethod
    def clear(self) -> None:
        """Back to a healthy device: no faults, no forced values."""

    @abstractmethod
    def writes(self) -> int:
        """Writes the device has received, accepted or refused."""

    def held_setpoint(self) -> float | None:
        """The battery setpoint (W, + discharge) the device holds now, if any."""
        raise NotImplementedError

    def command_data(self) -> dict[str, Any]:
        """The command's data, `device_id` aside."""
        return {"power": self.command_w}

    def release_data(self) -> dict[str, Any]:
        """The release's data, `device_id` aside."""
        return {}

    def holds_command(self) -> bool:
        """The device holds what the command asked for."""
        held = self.held_setpoint()
        return held is not None and math.isclose(held, self.command_w)

    def released(self) -> bool:
        """The device holds nothing of the matrix's commands (never commanded, or released)."""
        return self.held_setpoint() is None

    def check_invariants(self) -> None:
        """What must hold for this connection after every case (a cloud: no login storm)."""
        return

    @property
    def http_faults(self) -> FaultInjector:
        """The HTTP simulator's fault injector."""
        raise NotImplementedError

    @property
    def modbus_faults(self) -> ModbusFaults:
        """The Modbus simulator's fault switches."""
        raise NotImplementedError


# --- FEMS over REST/JSON ------------------------------------------------------------------


class FemsRestAdapter(ConnectionAdapter):
    """FENECON FEMS, local REST/JSON."""

    sim: FemsRestSimulator

    name = CONNECTION_FEMS_REST
    transport: ClassVar[Transport] = "http"
    identity = "fems12345"
    affected: ClassVar[dict[Field, frozenset[str]]] = {
        "soc": frozenset({"state_of_charge", "stored_energy"}),
        "battery_power": frozenset(
            {"battery_power", "battery_charge_power", "battery_discharge_power"}
        ),
        "counter": frozenset({"battery_charged_energy"}),
        "stored_energy": frozenset({"usable_capacity", "stored_energy"}),
    }
    _CHANNELS: ClassVar[dict[Field, str]] = {
        "soc": "_sum/EssSoc",
        "battery_power": "_sum/EssDischargePower",
        "counter": "_sum/EssDcChargeEnergy",
        "stored_energy": "_sum/EssCapacity",
    }

    def __init__(self) -> None:
        super().__init__()
        self.sim = FemsRestSimulator(
            battery=_battery(self.clock), clock=self.clock, hostname=self.identity
        )

    def entry(self, hass: HomeAssistant) -> MockConfigEntry:
        return _add(
            hass,
            self.identity,
            {
                CONF_CONNECTION: self.name,
                CONF_HOST: "127.0.0.1",
                CONF_PORT: self.sim.read_port,
                CONF_PASSWORD: self.sim.passwords["guest"],
                CONF_WRITE_PASSWORD: self.sim.passwords["owner"],
                CONF_WRITE_PORT: self.sim.write_port,
            },
        )

    def shorten_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(
            fems_rest_api, "_TIMEOUT", aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
        )
        monkeypatch.setattr(fems_rest_api, "STATIC_EVERY_POLLS", 1)

    def set_value(self, field: Field, raw: Any) -> None:
        address = self._CHANNELS[field]
        if raw is MISSING:
            self.sim.faults.patch_json = _without_channel(address)
        else:
            self.sim.overrides[address] = raw

    def all_values_null(self) -> None:
        self.sim.all_undefined = True

    def all_values_missing(self) -> None:
        self.sim.faults.patch_json = lambda body: body if _is_write_ack(body) else []

    def clear(self) -> None:
        self.sim.faults.reset()
        self.sim.overrides.clear()
        self.sim.all_undefined = False

    def writes(self) -> int:
        return len(self.sim.writes.records) + len(self.sim.writes.rejected)

    def held_setpoint(self) -> float | None:
        return self.sim.battery.setpoint_w

    @property
    def http_faults(self) -> FaultInjector:
        return self.sim.faults


def _is_write_ack(body: JsonValue) -> bool:
    """The write API's `{}`: value faults are about what the device reads out."""
    return body == {}


def _without_channel(address: str) -> Callable[[JsonValue], JsonValue]:
    def patch(body: JsonValue) -> JsonValue:
        if _is_write_ack(body):
            return body
        items = body if isinstance(body, list) else [body]
        return [
            item
            for item in items
            if not (isinstance(item, dict) and item.get("address") == address)
        ]

    return patch


# --- FEMS over Modbus/TCP -----------------------------------------------------------------


class FemsModbusAdapter(ConnectionAdapter):
    """FENECON FEMS, local Modbus/TCP with the read-write app."""

    sim: FemsModbusSimulator

    name = CONNECTION_FEMS_MODBUS
    transport: ClassVar[Transport] = "modbus"
    identity = "EMS0042123"
    affected = FemsRestAdapter.affected
    _CHANNELS = FemsRestAdapter._CHANNELS

    def __init__(self) -> None:
        super().__init__()
        self.sim = FemsModbusSimulator(
            battery=_battery(self.clock),
            clock=self.clock,
            ems_serial_number=self.identity,
            tick_s=0.05,
        )

    def entry(self, hass: HomeAssistant) -> MockConfigEntry:
        return _add(
            hass,
            self.identity,
            {
                CONF_CONNECTION: self.name,
                CONF_HOST: "127.0.0.1",
                CONF_PORT: self.sim.port,
                CONF_READ_WRITE: True,
            },
        )

    def shorten_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(fems_modbus_api, "DEFAULT_TIMEOUT_S", CLIENT_TIMEOUT_S)
        # The capacity (read once per connection) becomes one of the records of every poll.
        monkeypatch.setattr(
            fems_modbus_api,
            "_SUM_RECORDS",
            (*fems_modbus_api._SUM_RECORDS, *fems_modbus_api._STATIC_SUM_RECORDS),
        )
        monkeypatch.setattr(fems_modbus_api, "_STATIC_SUM_RECORDS", ())

    def set_value(self, field: Field, raw: Any) -> None:
        channel = self._CHANNELS[field]
        if raw is None:
            self.sim.undefined.add(channel)
        else:
            self.sim.overrides[channel] = raw

    def all_values_null(self) -> None:
        self.sim.all_undefined = True

    def all_values_missing(self) -> None:
        # Modbus has no keys to leave out: an unmapped register reads as undefined.
        self.sim.all_undefined = True

    def clear(self) -> None:
        self.sim.faults.reset()
        self.sim.overrides.clear()
        self.sim.undefined.clear()
        self.sim.all_undefined = False

    def writes(self) -> int:
        return len(self.sim.writes.records) + len(self.sim.writes.rejected)

    def held_setpoint(self) -> float | None:
        return self.sim.battery.setpoint_w

    @property
    def modbus_faults(self) -> ModbusFaults:
        return self.sim.faults


# --- sonnenBatterie -----------------------------------------------------------------------


class SonnenAdapter(ConnectionAdapter):
    """sonnenBatterie, local API v1 (current EU firmware, inverter 4600 W)."""

    sim: SonnenSimulator

    name = CONNECTION_SONNEN
    transport: ClassVar[Transport] = "http"
    identity = "330123"
    affected: ClassVar[dict[Field, frozenset[str]]] = {
        "soc": frozenset({"state_of_charge"}),
        "battery_power": frozenset(
            {"battery_power", "battery_charge_power", "battery_discharge_power"}
        ),
        "stored_energy": frozenset({"stored_energy"}),
        "voltage": frozenset({"ac_voltage"}),
        "frequency": frozenset({"ac_frequency"}),
    }
    _KEYS: ClassVar[dict[Field, str]] = {
        "soc": "USOC",
        "battery_power": "Pac_total_W",
        "stored_energy": "RemainingCapacity_Wh",
        "voltage": "Uac",
        "frequency": "Fac",
    }

    def __init__(self) -> None:
        super().__init__()
        self.sim = SonnenSimulator(battery=_battery(self.clock), clock=self.clock)

    def entry(self, hass: HomeAssistant) -> MockConfigEntry:
        return _add(
            hass,
            self.identity,
            {CONF_CONNECTION: self.name, CONF_HOST: "127.0.0.1", CONF_PORT: self.sim.port},
        )

    def shorten_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sonnen_api, "_TIMEOUT", aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S))

    def set_value(self, field: Field, raw: Any) -> None:
        key = self._KEYS[field]
        if raw is MISSING:
            self.sim.removed.add(key)
        else:
            self.sim.overrides[key] = raw

    def all_values_null(self) -> None:
        self.sim.faults.patch_json = lambda body: (
            dict.fromkeys(body) if isinstance(body, dict) and "USOC" in body else body
        )

    def all_values_missing(self) -> None:
        self.sim.faults.patch_json = lambda body: (
            {} if isinstance(body, dict) and "USOC" in body else body
        )

    def clear(self) -> None:
        self.sim.faults.reset()
        self.sim.overrides.clear()
        self.sim.removed.clear()

    def writes(self) -> int:
        return len(self.sim.writes.records) + len(self.sim.writes.rejected)

    def held_setpoint(self) -> float | None:
        return self.sim.battery.setpoint_w

    @property
    def http_faults(self) -> FaultInjector:
        return self.sim.faults


# --- FlexConnect --------------------------------------------------------------------------

SKI = "90D2A30FA3D2AD48525CD255F469C167ECF8292C"


class FlexConnectAdapter(ConnectionAdapter):
    """FlexHome FlexConnect development client with one battery."""

    sim: FlexConnectSimulator

    name = CONNECTION_FLEXCONNECT
    transport: ClassVar[Transport] = "http"
    identity = SKI
    affected: ClassVar[dict[Field, frozenset[str]]] = {
        "soc": frozenset({"state_of_charge"}),
        "stored_energy": frozenset({"stored_energy"}),
    }
    _FIELDS: ClassVar[dict[Field, str]] = {
        "soc": "stateOfCharge",
        "stored_energy": "stateOfEnergy",
    }

    def __init__(self) -> None:
        super().__init__()
        self.sim = FlexConnectSimulator(
            skis=(SKI,),
            battery_factory=lambda clock: _battery(self.clock, pv=0, load=500),
            clock=self.clock,
            command_latency_s=(30.0, 30.0),
            max_wait_s=0.0,
        )

    def entry(self, hass: HomeAssistant) -> MockConfigEntry:
        return _add(
            hass,
            self.identity,
            {CONF_CONNECTION: self.name, CONF_URL: self.sim.url, CONF_DEVICE_IDS: [SKI]},
        )

    def shorten_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(flexconnect_api, "DEFAULT_TIMEOUT_MS", 100)
        monkeypatch.setattr(flexconnect_api, "_HTTP_MARGIN_S", CLIENT_TIMEOUT_S - 0.1)

    def set_value(self, field: Field, raw: Any) -> None:
        name = self._FIELDS[field]

        def change(state: dict[str, JsonValue]) -> None:
            if raw is MISSING:
                del state[name]
            else:
                state[name] = {"number": raw, "scale": 0}

        self.sim.faults.patch_json = _state_patch(change)

    def all_values_null(self) -> None:
        def null(state: dict[str, JsonValue]) -> None:
            for name in state:
                state[name] = None

        self.sim.faults.patch_json = _state_patch(null)

    def all_values_missing(self) -> None:
        self.sim.faults.patch_json = _state_patch(lambda state: state.clear())

    def clear(self) -> None:
        self.sim.faults.reset()

    def writes(self) -> int:
        return len(self.sim.modifies)

    def held_setpoint(self) -> float | None:
        desired = self.sim.battery(SKI).desired
        if desired.control_mode != ControlMode.POWER:
            return None
        return 0.0 - float(desired.setpoint_w)  # FlexConnect's + charge

    @property
    def http_faults(self) -> FaultInjector:
        return self.sim.faults


def _state_patch(
    change: Callable[[dict[str, JsonValue]], object],
) -> Callable[[JsonValue], JsonValue]:
    """Change the `state` object of state answers; leave every other answer alone."""

    def patch(body: JsonValue) -> JsonValue:
        if isinstance(body, dict) and isinstance(state := body.get("state"), dict):
            change(state)
        return body

    return patch


# --- PowerFlex ----------------------------------------------------------------------------

PF_SITE = 3
PF_USERNAME = "fleet-operator"
PF_PASSWORD = "pf-secret-pw-5d1e"
# The station every value fault breaks: it charges; station 2 waits without a car.
PF_STATION = 1
# Units the simulator reports in (mW, mA, mV, mWh) per unit of the catalogue (W, A, V, Wh).
_PF_PER_UNIT = 1000
# The initial login, plus one spare: a fault must never make the client log in again and
# again (the service locks out a login storm).
PF_MAX_LOGINS = 2


class PowerFlexAdapter(ConnectionAdapter):
    """PowerFlex EV-charging cloud: one site of two stations, one charging, behind a login.

    The site has no battery: the command is a change of the DCM cap (`set_site_limit`,
    above what the charging car draws, so no reading changes) and the release writes the
    cap back. The simulator runs on Home Assistant's frozen clock (the client asks for the
    last minute of rows by that clock); the car charges steadily, so only the session
    energy grows, and no car arrives on its own.
    """

    sim: PowerFlexSimulator

    name = CONNECTION_POWERFLEX
    transport: ClassVar[Transport] = "http"
    identity = f"127.0.0.1_{PF_SITE}"
    _STATION = f"station_{PF_STATION}_"
    affected: ClassVar[dict[Field, frozenset[str]]] = {
        "charging_power": frozenset({f"{_STATION}charging_power", "site_charging_power"}),
        "current": frozenset({f"{_STATION}charging_current"}),
        # An impossible voltage (or current) is no V × A check of `power`: the power stays.
        "voltage": frozenset({f"{_STATION}charging_voltage"}),
        "counter": frozenset({f"{_STATION}session_energy"}),
    }
    # ct_response columns, as the client reads them.
    _COLUMNS: ClassVar[dict[Field, str]] = {
        "charging_power": "power",
        "current": "mamps_actual",
        "voltage": "voltage",
        "counter": "energy_delivered",
    }
    command_service = "set_site_limit"
    release_service = "set_site_limit"
    _LIMIT_KW = 15.0  # the command: above the car's 7.68 kW, below the site's 21.616 kW

    def __init__(self) -> None:
        super().__init__()
        self.sim = PowerFlexSimulator(
            sites={PF_SITE: 2, PF_SITE + 1: 1},
            username=PF_USERNAME,
            password=PF_PASSWORD,
            arrivals=Arrivals(enabled=False),
            clock=lambda: dt_util.utcnow().timestamp(),
        )
        # A car that stays and never fills up while the matrix runs.
        self.sim.plug_in(PF_SITE, PF_STATION, energy_needed_wh=10_000_000.0, stay_s=1e9)
        self.sim.advance(self.sim.model.report_interval_s)
        self._signal = _signal_of(self.sim.site(PF_SITE))

    def entry(self, hass: HomeAssistant) -> MockConfigEntry:
        return _add(
            hass,
            self.identity,
            {
                CONF_CONNECTION: self.name,
                CONF_URL: self.sim.url,
                CONF_USERNAME: PF_USERNAME,
                CONF_PASSWORD: PF_PASSWORD,
                CONF_SITE_ID: PF_SITE,
            },
        )

    def shorten_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
        for name in ("_LIMITS", "_MEASUREMENT_LIMITS"):
            limits = getattr(powerflex_api, name)
            monkeypatch.setattr(powerflex_api, name, replace(limits, timeout=timeout))

    def set_value(self, field: Field, raw: Any) -> None:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = raw * _PF_PER_UNIT
        # InfluxDB has no "missing" for one row: a field a row lacks is null.
        value: JsonValue = None if raw is MISSING else raw
        key = ("ct_response", PF_SITE, PF_STATION)
        self.sim.row_overrides[key] = {self._COLUMNS[field]: value}

    def all_values_null(self) -> None:
        self.sim.faults.patch_json = _influx_patch(
            lambda series: series.update(values=[[None] * len(row) for row in series["values"]])
        )

    def all_values_missing(self) -> None:
        self.sim.faults.patch_json = _influx_patch(lambda series: series.clear())

    def clear(self) -> None:
        self.sim.faults.reset()
        self.sim.row_overrides.clear()
        self.sim.measurement_answers.clear()

    def writes(self) -> int:
        return sum(
            len(self.sim.requests_to(endpoint))
            for endpoint in ("set_external_signal", "set_target_peak_power", "set_real_time_load")
        )

    def command_data(self) -> dict[str, Any]:
        return {"max_load": self._LIMIT_KW, "unit": "kW"}

    def release_data(self) -> dict[str, Any]:
        max_load, unit, enabled = self._signal
        return {"max_load": max_load, "unit": unit, "enabled": enabled}

    def holds_command(self) -> bool:
        return _signal_of(self.sim.site(PF_SITE)) == (self._LIMIT_KW, "kW", True)

    def released(self) -> bool:
        return _signal_of(self.sim.site(PF_SITE)) == self._signal

    def check_invariants(self) -> None:
        assert self.sim.login_count <= PF_MAX_LOGINS, self.sim.login_count
        assert self.sim.failed_logins == 0

    @property
    def http_faults(self) -> FaultInjector:
        return self.sim.faults


def _signal_of(site: Site) -> tuple[float, str, bool]:
    signal = site.signals[DEFAULT_SIGNAL_NAME]
    return (signal.max_load, signal.max_load_unit, signal.is_enabled)


def _influx_patch(
    change: Callable[[dict[str, Any]], object],
) -> Callable[[JsonValue], JsonValue]:
    """Change every series of measurement answers; leave login and DCM answers alone."""

    def patch(body: JsonValue) -> JsonValue:
        data = body.get("data") if isinstance(body, dict) else None
        results = data.get("results") if isinstance(data, dict) else None
        for result in results if isinstance(results, list) else []:
            if isinstance(result, dict):
                for series in result.get("series") or []:
                    change(series)
        return body

    return patch


# --- FEMS through the FENECON cloud ----------------------------------------------------------

CLOUD_USERNAME = "owner@example.com"
CLOUD_PASSWORD = "owner-pw-fault-matrix"


class FemsCloudAdapter(ConnectionAdapter):
    """FENECON cloud: one account, one edge with a FixActivePower controller.

    The command is a battery setpoint on the edge (the controller in MANUAL_ON with that
    power); value faults are raw channel values the backend answers for the edge.
    """

    sim: FemsCloudSimulator

    name = CONNECTION_FEMS_CLOUD
    transport: ClassVar[Transport] = "http"
    identity = "fems1001"
    affected = FemsRestAdapter.affected
    _CHANNELS = FemsRestAdapter._CHANNELS

    def __init__(self) -> None:
        super().__init__()
        self.edge = SimulatedEdge(
            self.identity,
            battery=_battery(self.clock),
            fix_active_power=True,
            clock=self.clock,
        )
        self.sim = FemsCloudSimulator(
            edges=[self.edge],
            users=[CloudUser(CLOUD_USERNAME, CLOUD_PASSWORD, {self.identity: Role.OWNER})],
            clock=self.clock,
        )

    def entry(self, hass: HomeAssistant) -> MockConfigEntry:
        return _add(
            hass,
            f"127.0.0.1/{CLOUD_USERNAME}",
            {
                CONF_CONNECTION: self.name,
                CONF_URL: self.sim.url,
                CONF_USERNAME: CLOUD_USERNAME,
                CONF_PASSWORD: CLOUD_PASSWORD,
                CONF_EDGE_IDS: [self.identity],
            },
        )

    def shorten_timeouts(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The client's timeout is a keyword default of its request methods.
        timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
        client = fems_cloud_api.FemsCloudClient
        for method in (client._call, client.edge_rpc):
            assert method.__kwdefaults__ is not None
            monkeypatch.setitem(method.__kwdefaults__, "timeout", timeout)

    def set_value(self, field: Field, raw: Any) -> None:
        address = self._CHANNELS[field]
        if raw is MISSING:
            self.sim.faults.patch_json = _cloud_channels_patch(
                lambda channels: channels.pop(address, None)
            )
        else:
            self.edge.overrides[address] = raw

    def all_values_null(self) -> None:
        self.sim.faults.patch_json = _cloud_channels_patch(
            lambda channels: channels.update(dict.fromkeys(channels))
        )

    def all_values_missing(self) -> None:
        self.sim.faults.patch_json = _cloud_channels_patch(lambda channels: channels.clear())

    def clear(self) -> None:
        self.sim.faults.reset()
        self.edge.overrides.clear()

    def writes(self) -> int:
        return len(self.sim.writes.records) + len(self.sim.writes.rejected)

    def held_setpoint(self) -> float | None:
        return self.edge.setpoint_w

    @property
    def http_faults(self) -> FaultInjector:
        return self.sim.faults


def _cloud_channels_patch(
    change: Callable[[dict[str, Any]], object],
) -> Callable[[JsonValue], JsonValue]:
    """Change each edge's channel values in a `getEdgesChannelsValues` answer (keys with a
    `/`); login, status and edge RPC answers pass unchanged."""

    def patch(body: JsonValue) -> JsonValue:
        result = body.get("result") if isinstance(body, dict) else None
        for values in result.values() if isinstance(result, dict) else []:
            if isinstance(values, dict) and any("/" in key for key in values):
                change(values)
        return body

    return patch


def _add(hass: HomeAssistant, identity: str, data: dict[str, Any]) -> MockConfigEntry:
    entry = MockConfigEntry(domain=DOMAIN, unique_id=identity, title=identity, data=data)
    entry.add_to_hass(hass)
    return entry


# Every connection in the matrix; a new connection adds its adapter here.
ADAPTERS: tuple[type[ConnectionAdapter], ...] = (
    FemsRestAdapter,
    FemsModbusAdapter,
    SonnenAdapter,
    FlexConnectAdapter,
    PowerFlexAdapter,
    FemsCloudAdapter,
)
