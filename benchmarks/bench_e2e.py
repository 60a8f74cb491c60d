"""End to end: Energy Flex and Home Assistant's own configurations, in one Home Assistant.

Every configuration polls its own simulated FEMS (one simulator per device, all in a
spawned child process) through a counting loopback proxy (`wire.py`), inside one Home
Assistant instance, entities included:

- Energy Flex (FEMS REST and FEMS Modbus entries, read-only: 19 sensors per FEMS);
- core `rest`, one resource per channel (16 `sensor: - platform: rest`, the forum recipe);
- core `rest`, one regex resource with 16 value-template sensors (the power user);
- core `modbus`, one sensor per register (16, as its documentation shows);
- core `modbus`, three `custom` struct reads split by 15 `template` sensors (power user);
- Home Assistant alone (`ha_floor.py`): 19 sensors of a device on a coordinator that does
  no I/O and changes as many values per poll as a FEMS poll does. It is the floor: what
  Home Assistant itself spends on such a device, which no configuration can go below;
  the report also shows every configuration's figures above it.

The core configurations show the same 16 measured values (with unique ids, units and
classes, like Energy Flex's); Energy Flex shows 19 (it also derives charge/discharge power
and stored energy). Before every cycle the simulators' model clock advances 10 s, so each
poll sees what a poll every 10 s sees, and the links idle for `--pause` s (delayed ACKs go
out, as between real polls); then each configuration is polled in turn, in a shuffled
order, so the ratios come from the same minutes of the same machine. Per poll and device:

- requests (counted by the simulators), payload bytes both ways, TCP segments (data and
  ACKs, both ways, as the kernel counts them on the proxied connection: `TCP_INFO`) and
  bytes on the wire (payload + an IPv4 and a TCP header per segment; no Ethernet framing);
- event-loop CPU: `time.thread_time()` of the loop thread from the poll's start until
  Home Assistant is idle again, so entity state writes and template re-renders count;
- state changes (`state_changed` events);
- memory per device and the fixed cost of the first device: tracemalloc in a fresh process
  per measurement (Home Assistant running, with what every installation has loaded:
  the entity components, the HTTP session, the update coordinator), then the
  configuration with 1 and with 1 + N devices; per device = the difference / N.

It also runs Energy Flex alone at scale (`SCALE_CONNECTIONS`): 1, 20 and 100 devices of
every local connection (one entry each; FlexConnect: one entry for all), a FENECON cloud
account with 1, 20 and 100 edges (one entry) and a PowerFlex site with 2, 20 and 200
charging stations (one entry). Figures are per device (edge, station), so a cloud entry's
2 requests per poll are 2/N per edge; the entry's own count is a column of its own.

Each configuration's timers keep running, but every poll reschedules them 10 s ahead, so
none fires inside a run. The naive `rest` sensors share one entity platform whose timer
updates them all: it is stopped and the benchmark updates each sensor as it would
(`async_update_ha_state(True)`). Everything talks to 127.0.0.1 only; every loop is bounded.

    .venv/bin/python -m benchmarks.bench_e2e --json results.json   # from the repository root
    .venv/bin/python -m benchmarks.bench_e2e --runs 1 --cycles 60 --no-scale --no-memory
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import multiprocessing
import os
import random
import statistics
import struct
import sys
import tempfile
import time
import tracemalloc
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also run as a plain script

from benchmarks.common import HOST, SimulatorProcess, markdown_table, p95, serve
from benchmarks.wire import CountingProxy, WireCounts

POLL_INTERVAL_S = 10.0
# Model time of the first poll: mid-morning, PV rising, the battery charging.
START_HOUR = 10.0
_EPOCH = 1_800_000_000.0  # FlexConnect's clock is wall-clock seconds; any start will do
_SETTLE_S = 1.0  # after setup: core modbus polls first 0.1 s after its hub connects
_PROBE_TIMEOUT_S = 600.0
# A real FEMS serves 5 connections at a time and makes the rest wait; one resource per
# channel opens up to 16 at once, which would only measure that wait. More slots here.
_MAX_CONNECTIONS = 32

type Poll = Callable[[], Awaitable[None]]


# --- the 16 values every FEMS configuration shows ----------------------------------------


@dataclass(frozen=True, slots=True)
class Value:
    """One measured FEMS value: REST channel, Modbus register (FEMS Home) and its sensor."""

    key: str
    channel: str
    register: int
    kind: str  # Modbus data type
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None


def _power(key: str, channel: str, register: int) -> Value:
    return Value(key, channel, register, "float32", "W", "power", "measurement")


def _energy(key: str, channel: str, register: int) -> Value:
    return Value(key, channel, register, "float64", "Wh", "energy", "total_increasing")


VALUES: tuple[Value, ...] = (
    Value("system_state", "_sum/State", 222, "uint16"),
    Value("state_of_charge", "_sum/EssSoc", 302, "uint16", "%", "battery", "measurement"),
    _power("grid_power", "_sum/GridActivePower", 315),
    _power("production_power", "_sum/ProductionActivePower", 327),
    _power("consumption_power", "_sum/ConsumptionActivePower", 343),
    _energy("grid_imported_energy", "_sum/GridBuyActiveEnergy", 359),
    _energy("grid_exported_energy", "_sum/GridSellActiveEnergy", 363),
    _energy("produced_energy", "_sum/ProductionActiveEnergy", 367),
    _energy("consumed_energy", "_sum/ConsumptionActiveEnergy", 379),
    _energy("battery_charged_energy", "_sum/EssDcChargeEnergy", 383),
    _energy("battery_discharged_energy", "_sum/EssDcDischargeEnergy", 387),
    _power("battery_power", "_sum/EssDischargePower", 415),
    Value("grid_mode", "_sum/GridMode", 417, "uint16"),
    Value(
        "usable_capacity", "_sum/EssCapacity", 420, "float32", "Wh", "energy_storage", "measurement"
    ),
    _power("max_charge_power", "ess0/AllowedChargePower", 702),
    _power("max_discharge_power", "ess0/AllowedDischargePower", 704),
)
_STRUCT = {"uint16": ("H", 1), "float32": ("f", 2), "float64": ("d", 4)}


# --- simulators (child process) -----------------------------------------------------------


class ModelClock:
    """The simulators' shared clock: it moves only when the benchmark says so."""

    def __init__(self) -> None:
        self.now = _EPOCH

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def _battery(clock: ModelClock) -> Any:
    from simulators.battery import BatteryModel, DailyProfile  # noqa: PLC0415

    def hour() -> float:
        return (START_HOUR + (clock() - _EPOCH) / 3600) % 24

    return BatteryModel(profile=DailyProfile(hour_of_day=hour), soc=30, clock=clock)


@dataclass(slots=True)
class _Served:
    """One simulator, what it counts, and the proxy in front of it."""

    simulator: Any
    port: Callable[[], int]
    requests: Callable[[], int]
    reset: Callable[[], None]
    proxy: CountingProxy | None = None

    async def start(self, host: str) -> None:
        await self.simulator.start(host)
        self.proxy = await CountingProxy(self.port(), host).start()

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()
        await self.simulator.stop()


def _fems_rest(index: int, clock: ModelClock, _devices: int) -> _Served:
    from simulators.fems_rest import FemsRestSimulator  # noqa: PLC0415

    sim = FemsRestSimulator(
        battery=_battery(clock),
        clock=clock,
        hostname=f"fems{index:05d}",
        seed=index,
        max_connections=_MAX_CONNECTIONS,
    )
    return _Served(sim, lambda: sim.read_port, lambda: sim.requests.total, sim.requests.reset)


def _fems_modbus(index: int, clock: ModelClock, _devices: int) -> _Served:
    from simulators.fems_modbus import FemsModbusSimulator  # noqa: PLC0415

    sim = FemsModbusSimulator(
        battery=_battery(clock),
        clock=clock,
        ems_serial_number=f"EMS{index:07d}",
        max_connections=_MAX_CONNECTIONS,
    )
    return _Served(sim, lambda: sim.port, lambda: sim.stats.requests, sim.stats.reset)


def _sonnen(_index: int, clock: ModelClock, _devices: int) -> _Served:
    from simulators.sonnen import SonnenSimulator  # noqa: PLC0415

    sim = SonnenSimulator(battery=_battery(clock), clock=clock)
    return _Served(sim, lambda: sim.port, lambda: sim.requests.total, sim.requests.reset)


def _flexconnect(_index: int, clock: ModelClock, devices: int) -> _Served:
    from simulators.flexconnect import FlexConnectSimulator  # noqa: PLC0415

    sim = FlexConnectSimulator(
        skis=[_ski(i) for i in range(devices)],
        battery_factory=lambda _clock: _battery(clock),
        clock=clock,
        command_latency_s=(0.0, 0.0),
        max_wait_s=0.0,
    )
    return _Served(sim, lambda: sim.port, lambda: sim.requests.total, sim.requests.reset)


def _ski(index: int) -> str:
    return f"{index:040X}"


# The cloud accounts' logins (simulator and entry alike).
_CLOUD_LOGIN = ("bench@example.com", "bench-password")
_FEMS_CLOUD_PATH = "/fems/rest/jsonrpc"  # the backend's JSON-RPC endpoint
_POWERFLEX_SITE = 3


def _edge_id(index: int) -> str:
    return f"fems{1001 + index}"


def _fems_cloud(_index: int, clock: ModelClock, devices: int) -> _Served:
    from simulators.fems_cloud import (  # noqa: PLC0415
        CloudUser,
        FemsCloudSimulator,
        Role,
        SimulatedEdge,
    )

    # No FixActivePower controller: read-only, like the local FEMS entries here.
    edges = [
        SimulatedEdge(_edge_id(index), battery=_battery(clock), fix_active_power=False, clock=clock)
        for index in range(devices)
    ]
    owner = CloudUser(*_CLOUD_LOGIN, dict.fromkeys((e.edge_id for e in edges), Role.OWNER))
    sim = FemsCloudSimulator(edges=edges, users=[owner], clock=clock)
    return _Served(sim, lambda: sim.port, lambda: sim.requests.total, sim.reset_counters)


_CAR_CURRENT_A = 16.0


def _powerflex(_index: int, clock: ModelClock, devices: int) -> _Served:
    from simulators.powerflex import PowerFlexSimulator  # noqa: PLC0415
    from simulators.powerflex.model import DEFAULT_SIGNAL_NAME, Arrivals, Signal  # noqa: PLC0415

    # No random arrivals: half the stations charge, the same cars every run.
    sim = PowerFlexSimulator(
        sites={_POWERFLEX_SITE: devices},
        username=_CLOUD_LOGIN[0],
        password=_CLOUD_LOGIN[1],
        arrivals=Arrivals(enabled=False),
        clock=clock,
    )
    cars = range(1, devices + 1, 2)
    # A DCM cap that every car's full current fits under (the default, 21.6 kW, would
    # leave most of 100 cars below the 6 A minimum): the same share charges at any size.
    cap = Signal(DEFAULT_SIGNAL_NAME, len(cars) * _CAR_CURRENT_A, "A", True)
    sim.site(_POWERFLEX_SITE).signals[DEFAULT_SIGNAL_NAME] = cap
    for station in cars:
        sim.plug_in(_POWERFLEX_SITE, station, max_current_a=_CAR_CURRENT_A)
    return _Served(sim, lambda: sim.port, lambda: sim.requests.total, sim.requests.reset)


# kind → (simulator factory, simulators for `devices` devices)
SIMULATOR_KINDS: dict[str, tuple[Callable[[int, ModelClock, int], _Served], bool]] = {
    "fems_rest": (_fems_rest, True),
    "fems_modbus": (_fems_modbus, True),
    "sonnen": (_sonnen, True),
    # One development client serves every battery; one backend every edge or station.
    "flexconnect": (_flexconnect, False),
    "fems_cloud": (_fems_cloud, False),
    "powerflex": (_powerflex, False),
}


async def _serve_fleets(spec: Sequence[tuple[str, int]], conn: Connection) -> None:
    """Child process: per (kind, devices), its simulators behind counting proxies."""
    clock = ModelClock()
    fleets: list[list[_Served]] = []
    for kind, devices in spec:
        factory, one_per_device = SIMULATOR_KINDS[kind]
        count = devices if one_per_device else 1
        fleets.append([factory(index, clock, devices) for index in range(count)])
    served = [item for fleet in fleets for item in fleet]

    def counts(item: _Served) -> tuple[int, dict[str, int]]:
        assert item.proxy is not None
        return item.requests(), asdict(item.proxy.counts())

    def reset(item: _Served) -> None:
        assert item.proxy is not None
        item.reset()
        item.proxy.reset()

    def proxy_port(item: _Served) -> int:
        assert item.proxy is not None
        return item.proxy.port

    await serve(
        conn,
        served,
        port=proxy_port,
        counts=counts,
        reset=reset,
        commands={"advance": clock.advance},
    )


class Fleets:
    """The simulator process of a run: per fleet, its proxy ports and what it counted."""

    def __init__(self, spec: Sequence[tuple[str, int]]) -> None:
        self.spec = list(spec)
        self._process = SimulatorProcess(_fleet_child(self.spec), 0)
        self.ports: list[list[int]] = []
        self.model_time = _EPOCH  # the child's `ModelClock`, as of the last `advance`

    def __enter__(self) -> Fleets:
        self._process.__enter__()
        flat = iter(self._process.ports)
        for kind, devices in self.spec:
            count = devices if SIMULATOR_KINDS[kind][1] else 1
            self.ports.append([next(flat) for _ in range(count)])
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.__exit__(None, None, None)

    def advance(self, seconds: float = POLL_INTERVAL_S) -> None:
        self.model_time = self._process.call("advance", seconds)

    def reset(self) -> None:
        self._process.reset()

    def counts(self) -> list[tuple[int, WireCounts]]:
        """Per fleet: requests and wire counts since the last reset."""
        flat = iter(self._process.counts())
        result: list[tuple[int, WireCounts]] = []
        for ports in self.ports:
            requests, wire = 0, WireCounts()
            for _ in ports:
                fleet_requests, counts = next(flat)
                requests += fleet_requests
                wire += WireCounts(**counts)
            result.append((requests, wire))
        return result


class _FleetChild:
    """A picklable `serve_async` for `SimulatorProcess` that serves `spec`."""

    def __init__(self, spec: Sequence[tuple[str, int]]) -> None:
        self.spec = list(spec)

    async def __call__(self, _count: int, conn: Connection) -> None:
        await _serve_fleets(self.spec, conn)


def _fleet_child(spec: Sequence[tuple[str, int]]) -> Any:
    return _FleetChild(spec)


# --- Home Assistant -----------------------------------------------------------------------


def _provide_missing_core_requirements() -> list[str]:
    """Stand-ins for core `rest`/`modbus` requirements this venv lacks; raise if ever used.

    Core `rest` imports xmltodict (XML answers) and jsonpath (`json_attributes_path`) at
    module level; core `modbus` imports modbus-connection / tmodbus for units shared with
    config-entry integrations. None of that code runs for a JSON resource or a YAML TCP hub
    (which use aiohttp and pymodbus), so empty stand-ins let the real integrations load.
    Returns the names that had to be stood in for (reported with the results).
    """

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise RuntimeError("a stand-in for a missing requirement was used")

    class Refused:
        def __init__(self, *_args: object, **_kwargs: object) -> None:
            refuse()

    stand_ins = {
        "xmltodict": {"parse": refuse},
        "jsonpath": {
            "search": refuse,
            "ExprSyntaxError": type("ExprSyntaxError", (Exception,), {}),
            "JSONPathTypeError": type("JSONPathTypeError", (Exception,), {}),
        },
        "modbus_connection": {
            name: type(name, (Refused,), {})
            for name in (
                "ModbusSerialParams",
                "ModbusTcpParams",
                "ModbusTlsParams",
                "ModbusUdpParams",
                "ModbusUnit",
            )
        },
        "modbus_connection.tmodbus": {"ModbusConnection": type("ModbusConnection", (Refused,), {})},
    }
    missing: list[str] = []
    for name, attributes in stand_ins.items():
        try:
            __import__(name)
        except ImportError:
            module = types.ModuleType(name)
            module.__dict__.update(attributes)
            sys.modules[name] = module
            missing.append(name)
    return missing


# What every Home Assistant has loaded anyway: not counted as any configuration's memory.
_PRELOADED = (
    "homeassistant.components.binary_sensor",
    "homeassistant.components.button",
    "homeassistant.components.number",
    "homeassistant.components.select",
    "homeassistant.components.sensor",
    "homeassistant.helpers.aiohttp_client",
    "homeassistant.helpers.update_coordinator",
    "pytest_homeassistant_custom_component.common",
    # Only the package: Home Assistant's loader must find our `custom_components` first
    # (the test plugin ships its own), but the integration itself loads when used.
    "custom_components",
)


def _preload_home_assistant() -> None:
    for name in _PRELOADED:
        importlib.import_module(name)
    from homeassistant.util import slugify  # noqa: PLC0415

    # Its first call loads text_unidecode's 3 MB table; Home Assistant's start does that.
    slugify("Ä")


@contextlib.asynccontextmanager
async def home_assistant() -> AsyncIterator[Any]:
    """A running Home Assistant (as the test plugin starts one) with custom integrations."""
    import aiohttp  # noqa: PLC0415
    from homeassistant import loader  # noqa: PLC0415
    from homeassistant.helpers import frame  # noqa: PLC0415
    from homeassistant.helpers.aiohttp_client import (  # noqa: PLC0415
        DATA_RESOLVER,
        async_get_clientsession,
    )
    from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
        async_test_home_assistant,
    )

    with tempfile.TemporaryDirectory(prefix="energy-flex-bench-") as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
            frame.async_setup(hass)  # as Home Assistant's bootstrap does
            # The shared session resolves through zeroconf (multicast); every host here is
            # 127.0.0.1, so a plain resolver keeps it all on loopback.
            resolver = aiohttp.ThreadedResolver()
            resolver.real_close = resolver.close  # type: ignore[attr-defined]
            hass.data[DATA_RESOLVER] = resolver
            async_get_clientsession(hass)
            try:
                yield hass
            finally:
                await hass.async_stop(force=True)


def _platform_entities(hass: Any, integration: str, domain: str = "sensor") -> dict[str, Any]:
    from homeassistant.helpers.entity_platform import async_get_platforms  # noqa: PLC0415

    entities: dict[str, Any] = {}
    for platform in async_get_platforms(hass, integration):
        if platform.domain == domain:
            entities.update(platform.entities)
    return entities


# --- the configurations -------------------------------------------------------------------


@dataclass(slots=True)
class Device:
    """One configured device: how the benchmark polls it and the entities it shows."""

    poll: Poll
    entity_ids: list[str]


class Configuration:
    """One way to show a FEMS in Home Assistant; `key` names it on the command line."""

    key: str
    label: str
    transport: str  # simulator kind; "" for Home Assistant alone (no simulator)
    is_energy_flex = False

    def yaml(self, ports: Sequence[int], tag: str) -> dict[str, list[Any]]:
        """Configuration.yaml fragments per domain, for every device."""
        return {}

    async def async_add(self, hass: Any, ports: Sequence[int], tag: str, devices: int) -> None:
        """Anything set up after the YAML domains (config entries)."""

    def devices(self, hass: Any, ports: Sequence[int], tag: str) -> list[Device]:
        raise NotImplementedError


def _sensor_options(value: Value) -> dict[str, Any]:
    options = {
        "unit_of_measurement": value.unit,
        "device_class": value.device_class,
        "state_class": value.state_class,
    }
    return {key: option for key, option in options.items() if option is not None}


def _core_entity_ids(tag: str, device: int, keys: Sequence[str]) -> list[str]:
    return [f"sensor.{tag}{device}_{key}" for key in keys]


def _rest_auth() -> dict[str, Any]:
    return {"authentication": "basic", "username": "x", "password": "user"}


class NaiveRest(Configuration):
    key = "rest_naive"
    label = "core `rest`, one resource per channel"
    transport = "fems_rest"

    def yaml(self, ports: Sequence[int], tag: str) -> dict[str, list[Any]]:
        return {
            "sensor": [
                {
                    "platform": "rest",
                    "resource": f"http://{HOST}:{port}/rest/channel/{value.channel}",
                    "name": f"{tag}{device} {value.key}",
                    "unique_id": f"{tag}{device}_{value.key}",
                    "value_template": "{{ value_json.value }}",
                    "scan_interval": int(POLL_INTERVAL_S),
                    **_rest_auth(),
                    **_sensor_options(value),
                }
                for device, port in enumerate(ports)
                for value in VALUES
            ]
        }

    def devices(self, hass: Any, ports: Sequence[int], tag: str) -> list[Device]:
        from homeassistant.helpers.entity_platform import async_get_platforms  # noqa: PLC0415

        # Every `platform: rest` block with the same scan interval shares one entity
        # platform, whose timer updates each of its entities at once; the benchmark stops
        # that timer and does the same per device (what `_async_update_entity_states` does).
        for platform in async_get_platforms(hass, "rest"):
            if platform.domain == "sensor":
                platform.async_unsub_polling()
        entities = _platform_entities(hass, "rest")
        devices = []
        for device in range(len(ports)):
            ids = _core_entity_ids(tag, device, [value.key for value in VALUES])
            missing = [entity_id for entity_id in ids if entity_id not in entities]
            if missing:
                raise RuntimeError(f"rest sensors not set up: {missing}")
            updates = [_forced_update(entities[entity_id]) for entity_id in ids]
            devices.append(Device(_gather(updates), ids))
        return devices


def _forced_update(entity: Any) -> Poll:
    async def poll() -> None:
        await entity.async_update_ha_state(True)

    return poll


_REST_REGEX_COMPONENTS = "(_sum|ess0)"


class PowerRest(Configuration):
    key = "rest_power"
    label = "core `rest`, one regex resource + value templates"
    transport = "fems_rest"

    def yaml(self, ports: Sequence[int], tag: str) -> dict[str, list[Any]]:
        channels = "|".join(value.channel.split("/")[1] for value in VALUES)
        path = f"/rest/channel/{_REST_REGEX_COMPONENTS}/({channels})"
        return {
            "rest": [
                {
                    "resource": f"http://{HOST}:{port}{path}",
                    "scan_interval": int(POLL_INTERVAL_S),
                    **_rest_auth(),
                    "sensor": [
                        {
                            "name": f"{tag}{device} {value.key}",
                            "unique_id": f"{tag}{device}_{value.key}",
                            "value_template": (
                                "{{ (value_json | selectattr('address', 'eq', "
                                f"'{value.channel}') | first).value }}}}"
                            ),
                            **_sensor_options(value),
                        }
                        for value in VALUES
                    ],
                }
                for device, port in enumerate(ports)
            ]
        }

    def devices(self, hass: Any, ports: Sequence[int], tag: str) -> list[Device]:
        entities = _platform_entities(hass, "rest")
        devices = []
        for device in range(len(ports)):
            ids = _core_entity_ids(tag, device, [value.key for value in VALUES])
            coordinator = entities[ids[0]]._coordinator
            assert coordinator is not None
            devices.append(Device(coordinator.async_refresh, ids))
        return devices


def _modbus_hub(tag: str, device: int, port: int, sensors: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": f"{tag}{device}",
        "type": "tcp",
        "host": HOST,
        "port": port,
        "timeout": 5,
        "sensors": sensors,
    }


def _modbus_sensor(name: str, unique_id: str, address: int, **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "unique_id": unique_id,
        "device_address": 1,
        "address": address,
        "input_type": "holding",
        "scan_interval": int(POLL_INTERVAL_S),
        **options,
    }


class _ModbusPolled(Configuration):
    def _polled_ids(self, tag: str, device: int) -> list[str]:
        raise NotImplementedError

    def _shown_keys(self) -> list[str]:
        return [value.key for value in VALUES]

    def devices(self, hass: Any, ports: Sequence[int], tag: str) -> list[Device]:
        entities = _platform_entities(hass, "modbus")
        devices = []
        for device in range(len(ports)):
            polled = [entities[entity_id] for entity_id in self._polled_ids(tag, device)]
            shown = _core_entity_ids(tag, device, self._shown_keys())
            devices.append(Device(_gather(entity.async_update for entity in polled), shown))
        return devices


class NaiveModbus(_ModbusPolled):
    key = "modbus_naive"
    label = "core `modbus`, one sensor per register"
    transport = "fems_modbus"

    def yaml(self, ports: Sequence[int], tag: str) -> dict[str, list[Any]]:
        return {
            "modbus": [
                _modbus_hub(
                    tag,
                    device,
                    port,
                    [
                        _modbus_sensor(
                            f"{tag}{device} {value.key}",
                            f"{tag}{device}_{value.key}",
                            value.register,
                            data_type=value.kind,
                            **_sensor_options(value),
                        )
                        for value in VALUES
                    ],
                )
                for device, port in enumerate(ports)
            ]
        }

    def _polled_ids(self, tag: str, device: int) -> list[str]:
        return _core_entity_ids(tag, device, [value.key for value in VALUES])


def _struct_read(values: Sequence[Value]) -> tuple[int, int, str, list[Value]]:
    """One `custom` read covering `values`: start, count, struct format, values in order."""
    ordered = sorted(values, key=lambda value: value.register)
    start = ordered[0].register
    fmt, position = ">", start
    for value in ordered:
        code, words = _STRUCT[value.kind]
        if value.register > position:
            fmt += f"{2 * (value.register - position)}x"
        fmt += code
        position = value.register + words
    count = position - start
    assert struct.calcsize(fmt) == 2 * count
    return start, count, fmt, ordered


class PowerModbus(_ModbusPolled):
    key = "modbus_power"
    label = "core `modbus`, 3 `custom` struct reads + template sensors"
    transport = "fems_modbus"

    # The fewest reads: `_sum/State` (222) is 80 registers before the `_sum` values (one read
    # of 302–421 holds those), and the ESS limits are at 702–705.
    @staticmethod
    def _blocks() -> list[tuple[str, list[Value]]]:
        return [
            ("sum_block", [v for v in VALUES if 300 <= v.register < 500]),
            ("ess_block", [v for v in VALUES if v.register >= 700]),
        ]

    def yaml(self, ports: Sequence[int], tag: str) -> dict[str, list[Any]]:
        state = next(value for value in VALUES if value.register == 222)
        hubs, templates = [], []
        for device, port in enumerate(ports):
            sensors = [
                _modbus_sensor(
                    f"{tag}{device} {state.key}",
                    f"{tag}{device}_{state.key}",
                    state.register,
                    data_type=state.kind,
                )
            ]
            for block, values in self._blocks():
                start, count, fmt, ordered = _struct_read(values)
                sensors.append(
                    _modbus_sensor(
                        f"{tag}{device} {block}",
                        f"{tag}{device}_{block}",
                        start,
                        data_type="custom",
                        count=count,
                        structure=fmt,
                    )
                )
                source = f"sensor.{tag}{device}_{block}"
                for index, value in enumerate(ordered):
                    cast = "int" if value.kind == "uint16" else "float"
                    templates.append(
                        {
                            "name": f"{tag}{device} {value.key}",
                            "unique_id": f"{tag}{device}_{value.key}",
                            "state": f"{{{{ states('{source}').split(',')[{index}] | {cast} }}}}",
                            "availability": f"{{{{ has_value('{source}') }}}}",
                            **_sensor_options(value),
                        }
                    )
            hubs.append(_modbus_hub(tag, device, port, sensors))
        return {"modbus": hubs, "template": [{"sensor": templates}]}

    def _polled_ids(self, tag: str, device: int) -> list[str]:
        keys = ["system_state", *(block for block, _ in self._blocks())]
        return _core_entity_ids(tag, device, keys)


def _fems_cloud_entry(port: int, edges: int, tag: str) -> tuple[str, dict[str, Any]]:
    """One account showing `edges` edges, through the proxy at `port`."""
    username, password = _CLOUD_LOGIN
    data = {
        "connection": "fems_cloud",
        "url": f"http://{HOST}:{port}{_FEMS_CLOUD_PATH}",
        "username": username,
        "password": password,
        "edge_ids": [_edge_id(index) for index in range(edges)],
    }
    return f"{tag}{HOST}/{username}", data


def _powerflex_entry(port: int, tag: str) -> tuple[str, dict[str, Any]]:
    """The simulated site (all its stations), through the proxy at `port`."""
    username, password = _CLOUD_LOGIN
    data = {
        "connection": "powerflex",
        "url": f"http://{HOST}:{port}",
        "username": username,
        "password": password,
        "site_id": _POWERFLEX_SITE,
    }
    return f"{tag}{HOST}_{_POWERFLEX_SITE}", data


# Options that differ from an entry's defaults. FEMS cloud: no history backfill, so no
# statistics import can land in the measured polls (without a recorder, as here, the
# importer stays idle anyway; 0 keeps it so if one is ever loaded).
_ENTRY_OPTIONS: dict[str, dict[str, Any]] = {"fems_cloud": {"history_days": 0}}


class EnergyFlex(Configuration):
    """Energy Flex entries, one per device (or, for FlexConnect, one for all batteries)."""

    is_energy_flex = True

    def __init__(self, connection: str) -> None:
        self.connection = connection
        self.key = f"energy_flex_{connection}"
        self.label = "Energy Flex"
        self.transport = connection

    def _entries(
        self, ports: Sequence[int], devices: int, tag: str
    ) -> list[tuple[str, dict[str, Any]]]:
        connection = self.connection
        base = {"connection": connection, "host": HOST}
        if connection == "fems_rest":
            return [
                (f"{tag}fems{i:05d}", {**base, "port": port, "password": "user", "write_port": 80})
                for i, port in enumerate(ports)
            ]
        if connection == "fems_modbus":
            return [
                (f"{tag}EMS{i:07d}", {**base, "port": port, "read_write": False})
                for i, port in enumerate(ports)
            ]
        if connection == "sonnen":
            return [(f"{tag}sonnen{i:05d}", {**base, "port": port}) for i, port in enumerate(ports)]
        if connection == "flexconnect":
            skis = [_ski(i) for i in range(devices)]
            data = {
                "connection": connection,
                "url": f"http://{HOST}:{ports[0]}",
                "device_ids": skis,
            }
            return [(tag + ",".join(sorted(skis)), data)]
        if connection == "fems_cloud":
            return [_fems_cloud_entry(ports[0], devices, tag)]
        if connection == "powerflex":
            return [_powerflex_entry(ports[0], tag)]
        raise ValueError(connection)

    async def async_add(self, hass: Any, ports: Sequence[int], tag: str, devices: int) -> None:
        from pytest_homeassistant_custom_component.common import (  # noqa: PLC0415
            MockConfigEntry,
        )

        self._entry_ids: list[str] = []
        for unique_id, data in self._entries(ports, devices, tag):
            entry = MockConfigEntry(
                domain="energy_flex",
                unique_id=unique_id,
                title=f"{tag} {unique_id}",
                data=data,
                options=_ENTRY_OPTIONS.get(self.connection, {}),
            )
            entry.add_to_hass(hass)
            if not await hass.config_entries.async_setup(entry.entry_id):
                raise RuntimeError(f"Energy Flex {self.connection} entry did not set up")
            self._entry_ids.append(entry.entry_id)

    def devices(self, hass: Any, ports: Sequence[int], tag: str) -> list[Device]:
        from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

        registry = er.async_get(hass)
        devices = []
        for entry_id in self._entry_ids:
            entry = hass.config_entries.async_get_entry(entry_id)
            ids = [
                e.entity_id
                for e in er.async_entries_for_config_entry(registry, entry_id)
                if e.disabled_by is None
            ]
            devices.append(Device(entry.runtime_data.coordinator.async_refresh, ids))
        return devices


class HomeAssistantFloor(Configuration):
    """Home Assistant alone: 19 sensors per device on a coordinator, no I/O (`ha_floor`)."""

    key = "ha_floor"
    label = "Home Assistant alone: 19 sensors of a device, no I/O (floor)"
    transport = ""

    async def async_add(self, hass: Any, ports: Sequence[int], tag: str, devices: int) -> None:
        from benchmarks import ha_floor  # noqa: PLC0415 (imports Home Assistant)

        self._entries = await ha_floor.async_add_devices(hass, devices, tag)

    def devices(self, hass: Any, ports: Sequence[int], tag: str) -> list[Device]:
        from benchmarks import ha_floor  # noqa: PLC0415

        ids = ha_floor.entity_ids(hass, self._entries)
        return [
            Device(ha_floor.refresh_of(entry), entity_ids)
            for entry, entity_ids in zip(self._entries, ids, strict=True)
        ]


@contextlib.contextmanager
def _on_model_time(connection: str, model_time: Callable[[], float]) -> Iterator[None]:
    """Entries of `connection` read the simulators' model clock as their wall clock.

    PowerFlex asks for the last minute of reports by the wall clock (and times its token
    by it), while the simulated site reports on the model clock, which moves 10 s per
    cycle. The other connections never send the wall clock; they are left alone (and do
    not load the PowerFlex modules, which would count in their memory).
    """
    if connection != "powerflex":
        yield
        return
    from custom_components.energy_flex.vendors.powerflex import setup  # noqa: PLC0415

    wall_clock = setup._wall_clock
    setup._wall_clock = model_time
    try:
        yield
    finally:
        setup._wall_clock = wall_clock


def _gather(polls: Iterator[Poll] | Sequence[Poll] | Any) -> Poll:
    """One poll that runs `polls` concurrently, as their timers would start them."""
    polls = list(polls)

    async def poll() -> None:
        await asyncio.gather(*(p() for p in polls))

    return poll


COMPARED: tuple[Configuration, ...] = (
    EnergyFlex("fems_rest"),
    NaiveRest(),
    PowerRest(),
    EnergyFlex("fems_modbus"),
    NaiveModbus(),
    PowerModbus(),
    HomeAssistantFloor(),
)
# Energy Flex alone, at scale: connection → device counts (each with a simulator kind of
# the same name in SIMULATOR_KINDS). The cloud connections count what one entry shows:
# a FENECON cloud account's edges, a PowerFlex site's charging stations.
SCALE_CONNECTIONS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("fems_rest", (1, 20, 100)),
    ("fems_modbus", (1, 20, 100)),
    ("sonnen", (1, 20, 100)),
    ("flexconnect", (1, 20, 100)),
    ("fems_cloud", (1, 20, 100)),
    ("powerflex", (2, 20, 200)),
)
CONFIGURATIONS: dict[str, Configuration] = {c.key: c for c in COMPARED} | {
    f"energy_flex_{name}": EnergyFlex(name) for name, _ in SCALE_CONNECTIONS
}


async def _set_up(
    hass: Any, plan: Sequence[tuple[Configuration, Sequence[int], str, int]]
) -> list[list[Device]]:
    """YAML domains first (each can be set up once), then config entries."""
    from homeassistant.setup import async_setup_component  # noqa: PLC0415

    merged: dict[str, list[Any]] = {}
    for configuration, ports, tag, _ in plan:
        for domain, items in configuration.yaml(ports, tag).items():
            merged.setdefault(domain, []).extend(items)
    # One configuration for all, as configuration.yaml is: a domain set up as another's
    # dependency (`rest` for `sensor: - platform: rest`) must find its own key in it.
    for domain in ("rest", "sensor", "modbus", "template"):
        if domain in merged and not await async_setup_component(hass, domain, merged):
            raise RuntimeError(f"core {domain} did not set up")
    for configuration, ports, tag, devices in plan:
        await configuration.async_add(hass, ports, tag, devices)
    await hass.async_block_till_done()
    await asyncio.sleep(_SETTLE_S)
    await hass.async_block_till_done()
    return [configuration.devices(hass, ports, tag) for configuration, ports, tag, _ in plan]


# --- the side-by-side run -----------------------------------------------------------------


@dataclass(slots=True)
class Measured:
    """One configuration in one run; figures are per poll and device."""

    key: str
    label: str
    transport: str
    devices: int
    cycles: int
    cpu_ms: list[float] = field(default_factory=list)  # one per cycle (loop CPU / devices)
    requests: int = 0
    wire: WireCounts = field(default_factory=WireCounts)
    state_changes: int = 0
    entities: int = 0
    unavailable: int = 0
    entries: int = 0  # Energy Flex entries polled (the scale run); 0: not counted

    @property
    def requests_per_entry(self) -> float | None:
        """Requests per poll of one entry, all its devices together (a cloud account's)."""
        return self.requests / (self.cycles * self.entries) if self.entries else None

    @property
    def polls(self) -> int:
        return self.devices * self.cycles

    def per_poll(self, total: float) -> float:
        return total / self.polls

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms)

    def summary(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "transport": self.transport,
            "devices": self.devices,
            "cycles": self.cycles,
            "entities_per_device": self.entities / self.devices,
            "unavailable_entities": self.unavailable,
            "requests": self.per_poll(self.requests),
            "requests_per_entry": self.requests_per_entry,
            "payload_up": self.per_poll(self.wire.payload_up),
            "payload_down": self.per_poll(self.wire.payload_down),
            "payload": self.per_poll(self.wire.payload),
            "wire": self.per_poll(self.wire.on_wire),
            "segments": self.per_poll(self.wire.segments),
            "state_changes": self.per_poll(self.state_changes),
            "cpu_median_ms": self.cpu_median,
            "cpu_p95_ms": p95(self.cpu_ms) if len(self.cpu_ms) > 1 else self.cpu_median,
        }


async def _measure_cycles(
    hass: Any,
    fleets: Fleets,
    groups: Sequence[tuple[Measured, list[Device]]],
    *,
    warmup: int,
    cycles: int,
    seed: int,
    pause: float,
) -> None:
    """Advance the model 10 s, then poll each group in turn (shuffled), measuring each.

    Before each cycle the links idle for `pause` seconds, as between real 10 s polls:
    delayed ACKs go out (Linux holds them up to 200 ms) and caches cool down.
    """
    from homeassistant.const import EVENT_STATE_CHANGED  # noqa: PLC0415

    owner = {eid: m for m, devices in groups for d in devices for eid in d.entity_ids}
    counting = False

    def on_state_changed(event: Any) -> None:
        if counting and (measured := owner.get(event.data["entity_id"])) is not None:
            measured.state_changes += 1

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed)
    order = list(range(len(groups)))
    rng = random.Random(seed)  # noqa: S311 (an order, not a secret)
    try:
        for cycle in range(warmup + cycles):
            if cycle == warmup:
                fleets.reset()
                counting = True
            fleets.advance()
            await asyncio.sleep(pause)
            rng.shuffle(order)
            for index in order:
                measured, devices = groups[index]
                poll = _gather(device.poll for device in devices)
                start = time.thread_time()
                await poll()
                await hass.async_block_till_done()
                cpu_ms = (time.thread_time() - start) * 1000 / len(devices)
                if counting:
                    measured.cpu_ms.append(cpu_ms)
    finally:
        unsubscribe()
    counts = iter(fleets.counts())  # one per configuration with simulators, in order
    for measured, devices in groups:
        if measured.transport:
            measured.requests, measured.wire = next(counts)
        ids = [eid for device in devices for eid in device.entity_ids]
        measured.entities = len(ids)
        measured.unavailable = sum(
            1
            for eid in ids
            if (state := hass.states.get(eid)) is None or state.state == "unavailable"
        )


def _fleet_spec(configurations: Sequence[Configuration], devices: int) -> list[tuple[str, int]]:
    """The simulators of the configurations that have any."""
    return [(c.transport, devices) for c in configurations if c.transport]


async def compare_run(
    devices: int, *, warmup: int, cycles: int, seed: int, pause: float
) -> list[Measured]:
    """Every configuration of `COMPARED` side by side in one Home Assistant."""
    with Fleets(_fleet_spec(COMPARED, devices)) as fleets:
        async with home_assistant() as hass:
            ports = iter(fleets.ports)
            plan = [
                (configuration, next(ports) if configuration.transport else [], f"c{i}d", devices)
                for i, configuration in enumerate(COMPARED)
            ]
            configured = await _set_up(hass, plan)
            groups = [
                (
                    Measured(c.key, c.label, c.transport, devices, cycles),
                    device_list,
                )
                for c, device_list in zip(COMPARED, configured, strict=True)
            ]
            await _measure_cycles(
                hass, fleets, groups, warmup=warmup, cycles=cycles, seed=seed, pause=pause
            )
            return [measured for measured, _ in groups]


async def scale_run(
    connection: str, devices: int, *, warmup: int, cycles: int, pause: float
) -> Measured:
    """Energy Flex alone: `devices` devices of one connection, all polled each cycle."""
    configuration = CONFIGURATIONS[f"energy_flex_{connection}"]
    with (
        Fleets([(connection, devices)]) as fleets,
        _on_model_time(connection, lambda: fleets.model_time),
    ):
        async with home_assistant() as hass:
            (device_list,) = await _set_up(hass, [(configuration, fleets.ports[0], "s", devices)])
            # All of them at once: one cycle is one poll of every device.
            polled = [Device(_gather(d.poll for d in device_list), [])]
            polled[0].entity_ids = [eid for d in device_list for eid in d.entity_ids]
            measured = Measured(configuration.key, "Energy Flex", connection, devices, cycles)
            await _measure_cycles(
                hass,
                fleets,
                [(measured, polled)],
                warmup=warmup,
                cycles=cycles,
                seed=0,
                pause=pause,
            )
            # _measure_cycles divided by one "device"; it was all of them.
            measured.cpu_ms = [cpu / devices for cpu in measured.cpu_ms]
            measured.entities = len(polled[0].entity_ids)
            measured.entries = len(device_list)  # Energy Flex polls one coordinator per entry
            return measured


# --- memory (a fresh process per measurement) ---------------------------------------------


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@dataclass(frozen=True, slots=True)
class _ProbePlan:
    """What a memory probe sets up: `devices` devices of configuration `key` at `ports`."""

    key: str
    ports: list[int]
    devices: int
    warmup: int  # polls before the measurement
    model_time: float  # the simulators' clock, which stands still while the probe polls


async def _probe(plan: _ProbePlan) -> dict[str, Any]:
    _preload_home_assistant()
    configuration = CONFIGURATIONS[plan.key]
    # For PowerFlex this loads its modules before tracing starts: only the per-device
    # slope is reported for it.
    with _on_model_time(configuration.transport, lambda: plan.model_time):
        return await _probe_traced(configuration, plan.ports, plan.devices, plan.warmup)


async def _probe_traced(
    configuration: Configuration, ports: list[int], devices: int, warmup: int
) -> dict[str, Any]:
    async with home_assistant() as hass:
        tracemalloc.start(1)
        baseline = _traced()
        started = time.perf_counter()
        configured = await _set_up(hass, [(configuration, ports, "m", devices)])
        polls = [device.poll for device in configured[0]]
        for _ in range(warmup):
            await _gather(polls)()
            await hass.async_block_till_done()
        used = _traced() - baseline
        top: list[tuple[str, int]] = []
        if os.environ.get("BENCH_MEMORY_DETAIL"):
            # Where it went, by file (for finding what to trim; not part of the report).
            snapshot = tracemalloc.take_snapshot()
            top = [
                (str(stat.traceback[0].filename), stat.size)
                for stat in snapshot.statistics("filename")[:40]
            ]
        tracemalloc.stop()
        return {"bytes": used, "seconds": time.perf_counter() - started, "top": top}


def _probe_main(plan: _ProbePlan, conn: Connection) -> None:
    missing = _provide_missing_core_requirements()
    result = asyncio.run(_probe(plan))
    result["stand_ins"] = missing
    conn.send(result)
    conn.close()


def measure_memory(key: str, devices: int, *, warmup: int = 3) -> dict[str, Any]:
    """Traced memory of `devices` devices of configuration `key`, in a fresh process."""
    configuration = CONFIGURATIONS[key]
    context = multiprocessing.get_context("spawn")
    with Fleets(_fleet_spec([configuration], devices)) as fleets:
        ports = fleets.ports[0] if configuration.transport else []
        parent, child = context.Pipe()
        process = context.Process(
            target=_probe_main,
            args=(_ProbePlan(key, ports, devices, warmup, fleets.model_time), child),
            daemon=True,
        )
        process.start()
        child.close()
        try:
            if not parent.poll(_PROBE_TIMEOUT_S):
                raise TimeoutError(f"memory probe {key} × {devices} did not finish")
            result: dict[str, Any] = parent.recv()
        finally:
            process.join(30)
            if process.is_alive():
                process.terminate()
            parent.close()
    return result


def memory_figures(key: str, first: int, more: int) -> dict[str, Any]:
    """Per device (slope from `first` to `more` devices) and the first device's fixed cost."""
    small = measure_memory(key, first)
    large = measure_memory(key, more)
    per_device = (large["bytes"] - small["bytes"]) / (more - first)
    return {
        "key": key,
        "first": first,
        "more": more,
        "bytes_first": small["bytes"],
        "bytes_more": large["bytes"],
        "per_device": per_device,
        "fixed": small["bytes"] - first * per_device,
        "stand_ins": small["stand_ins"],
    }


# --- report -------------------------------------------------------------------------------


def _median_range(values: Sequence[float], fmt: str) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return format(median, fmt)
    return f"{median:{fmt}} ({min(values):{fmt}}–{max(values):{fmt}})"


def _kib(value: float) -> str:
    return f"{value / 1024:.0f}"


_TRANSPORT_NAMES = {"fems_rest": "FEMS REST", "fems_modbus": "FEMS Modbus", "": "–"}


def compare_table(runs: Sequence[Sequence[dict[str, Any]]], memory: Mapping[str, Any]) -> str:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for summary in run:
            by_key.setdefault(summary["key"], []).append(summary)
    rows = []
    for key, summaries in by_key.items():
        first = summaries[0]
        mem = memory.get(key)
        rows.append(
            (
                _TRANSPORT_NAMES[first["transport"]],
                first["label"],
                f"{first['entities_per_device']:.0f}",
                _median_range([s["requests"] for s in summaries], ".2f"),
                _median_range([s["payload"] for s in summaries], ".0f"),
                _median_range([s["wire"] for s in summaries], ".0f"),
                _median_range([s["segments"] for s in summaries], ".1f"),
                _median_range([s["cpu_median_ms"] for s in summaries], ".2f"),
                _median_range([s["state_changes"] for s in summaries], ".1f"),
                _kib(mem["per_device"]) if mem else "–",
                _kib(mem["fixed"]) if mem else "–",
            )
        )
    return markdown_table(
        "FEMS over | Configuration | Entities | Requests/poll | Payload bytes/poll | "
        "Bytes on the wire/poll | TCP segments/poll | Loop CPU/poll (ms) | "
        "State changes/poll | Memory/device (KiB) | First device fixed (KiB)",
        "llrrrrrrrrr",
        rows,
    )


_RATIO_FIGURES = (
    ("requests", "Requests"),
    ("payload", "Payload bytes"),
    ("wire", "Bytes on the wire"),
    ("cpu_median_ms", "Loop CPU"),
)


def ratio_table(runs: Sequence[Sequence[dict[str, Any]]], memory: Mapping[str, Any]) -> str:
    """Core ÷ Energy Flex per figure, computed within each run; median (range) over runs."""
    rows = []
    for transport in ("fems_rest", "fems_modbus"):
        ours_key = f"energy_flex_{transport}"
        core_keys = [
            s["key"] for s in runs[0] if s["transport"] == transport and s["key"] != ours_key
        ]
        for core_key in core_keys:
            cells: list[str] = []
            label = ""
            for figure, _ in _RATIO_FIGURES:
                ratios = []
                for run in runs:
                    by_key = {s["key"]: s for s in run}
                    label = by_key[core_key]["label"]
                    ratios.append(by_key[core_key][figure] / by_key[ours_key][figure])
                cells.append(_median_range(ratios, ".2f") + "×")
            ours_mem, core_mem = memory.get(ours_key), memory.get(core_key)
            if ours_mem and core_mem:
                cells.append(f"{core_mem['per_device'] / ours_mem['per_device']:.2f}×")
                cells.append(f"{core_mem['fixed'] / ours_mem['fixed']:.2f}×")
            else:
                cells.extend(["–", "–"])
            rows.append((_TRANSPORT_NAMES[transport], label, *cells))
    return markdown_table(
        "FEMS over | Core configuration | "
        + " | ".join(f"{name}: core ÷ ours" for _, name in _RATIO_FIGURES)
        + " | Memory/device: core ÷ ours | Fixed: core ÷ ours",
        "llrrrrrr",
        rows,
    )


def floor_table(runs: Sequence[Sequence[dict[str, Any]]], memory: Mapping[str, Any]) -> str:
    """Each configuration against Home Assistant alone: what it adds to the floor."""
    floor_key = HomeAssistantFloor.key
    rows = []
    for summary in runs[0]:
        key = summary["key"]
        if key == floor_key:
            continue
        added = [
            by_key[key]["cpu_median_ms"] - by_key[floor_key]["cpu_median_ms"]
            for by_key in ({s["key"]: s for s in run} for run in runs)
        ]
        mem, floor_mem = memory.get(key), memory.get(floor_key)
        rows.append(
            (
                _TRANSPORT_NAMES[summary["transport"]],
                summary["label"],
                _median_range(added, ".2f"),
                _kib(mem["per_device"] - floor_mem["per_device"]) if mem and floor_mem else "–",
            )
        )
    return markdown_table(
        "FEMS over | Configuration | Loop CPU/poll above the floor (ms) | "
        "Memory/device above the floor (KiB)",
        "llrr",
        rows,
    )


def _requests(per_poll: float) -> str:
    """Two decimals; two significant digits below 0.1 (a cloud entry's 3 / 200 stations)."""
    return f"{per_poll:.2f}" if per_poll >= 0.1 else f"{per_poll:.2g}"


def scale_table(results: Sequence[dict[str, Any]], memory: Mapping[str, Any]) -> str:
    rows = []
    for s in results:
        mem = memory.get(f"{s['key']}@{s['devices']}")
        rows.append(
            (
                s["transport"],
                s["devices"],
                f"{s['entities_per_device']:.0f}",
                _requests(s["requests"]),
                _requests(s["requests_per_entry"]),
                f"{s['payload']:.0f}",
                f"{s['wire']:.0f}",
                f"{s['cpu_median_ms']:.3f}",
                f"{s['cpu_p95_ms']:.3f}",
                f"{s['state_changes']:.1f}",
                _kib(mem["per_device"]) if mem else "–",
            )
        )
    return markdown_table(
        "Connection | Devices | Entities/device | Requests/poll/device | Requests/poll/entry | "
        "Payload bytes/poll | Bytes on the wire/poll | Loop CPU/poll/device median (ms) | "
        "p95 (ms) | State changes/poll | Memory/device (KiB)",
        "lrrrrrrrrrr",
        rows,
    )


def environment() -> str:
    import platform  # noqa: PLC0415

    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    return (
        f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, "
        f"Home Assistant {ha_version}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )


def _load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- main ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="side-by-side runs (fresh HA each)")
    parser.add_argument("--devices", type=int, default=1, help="devices per configuration")
    parser.add_argument(
        "--cycles", type=int, default=360, help="measured polls per device (360 = 1 h of 10 s)"
    )
    parser.add_argument("--warmup", type=int, default=10, help="polls per device, not measured")
    parser.add_argument(
        "--pause", type=float, default=0.3, help="idle seconds before each cycle (see docs)"
    )
    parser.add_argument("--memory-devices", type=int, default=20, help="N of the 1 + N run")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--scale-cycles", type=int, default=60)
    parser.add_argument(
        "--scale-memory",
        action="store_true",
        help="also tracemalloc at every device count of SCALE_CONNECTIONS (slow)",
    )
    parser.add_argument(
        "--connections",
        nargs="*",
        choices=[name for name, _ in SCALE_CONNECTIONS],
        default=[name for name, _ in SCALE_CONNECTIONS],
        help="connections of the Energy Flex alone runs (default: all)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    return parser


def _run_compare(args: argparse.Namespace, report: dict[str, Any]) -> None:
    for run in range(args.runs):
        load = _load()
        measured = asyncio.run(
            compare_run(
                args.devices, warmup=args.warmup, cycles=args.cycles, seed=run, pause=args.pause
            )
        )
        report["runs"].append([m.summary() for m in measured])
        report["load"].append(f"side by side, run {run + 1}: {load} → {_load()}")
    if not args.no_memory:
        load = _load()
        for configuration in COMPARED:
            report["memory"][configuration.key] = memory_figures(
                configuration.key, 1, 1 + args.memory_devices
            )
        report["load"].append(f"memory: {load} → {_load()}")


def _run_scale(args: argparse.Namespace, report: dict[str, Any]) -> None:
    for name, sizes in SCALE_CONNECTIONS:
        if name not in args.connections:
            continue
        load = _load()
        for size in sizes:
            measured = asyncio.run(
                scale_run(
                    name, size, warmup=args.warmup, cycles=args.scale_cycles, pause=args.pause
                )
            )
            report["scale"].append(measured.summary())
        if args.scale_memory:
            small = measure_memory(f"energy_flex_{name}", sizes[0])
            for size in sizes[1:]:
                large = measure_memory(f"energy_flex_{name}", size)
                report["memory"][f"energy_flex_{name}@{size}"] = {
                    "per_device": (large["bytes"] - small["bytes"]) / (size - sizes[0])
                }
        report["load"].append(f"Energy Flex alone, {name}: {load} → {_load()}")


def _print_report(report: dict[str, Any]) -> None:
    print(report["environment"])
    print("Load average (1 / 5 / 15 min) before → after:")
    for line in report["load"]:
        print(f"- {line}")
    if report["stand_ins"]:
        print(
            f"Stand-ins for requirements missing in this venv (never used): {report['stand_ins']}"
        )
    if report["runs"]:
        print()
        print(compare_table(report["runs"], report["memory"]))
        print()
        print(ratio_table(report["runs"], report["memory"]))
        print()
        print(floor_table(report["runs"], report["memory"]))
    if report["scale"]:
        print()
        print(scale_table(report["scale"], report["memory"]))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    report: dict[str, Any] = {
        "stand_ins": _provide_missing_core_requirements(),
        "runs": [],
        "scale": [],
        "memory": {},
        "load": [],
        "environment": environment(),
    }
    if not args.no_compare:
        _run_compare(args, report)
    if not args.no_scale:
        _run_scale(args, report)
    _print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    summaries = [summary for run in report["runs"] for summary in run] + report["scale"]
    broken = [summary for summary in summaries if summary["unavailable_entities"]]
    for summary in broken:
        print(
            f"\nBROKEN: {summary['label']} ({summary['transport']}): "
            f"{summary['unavailable_entities']} entities unavailable"
        )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
