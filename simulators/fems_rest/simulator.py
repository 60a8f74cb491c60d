"""FENECON FEMS / OpenEMS local REST/JSON API simulator (fems-openems-api-notes.md §1).

One aiohttp app on two sockets (FEMS serves Jetty on 8084 and the same API through nginx
on 80). Reads come from a process image refreshed once per controller cycle (`cycle_s`,
from the injected clock; 0 refreshes on every request); writes go to an `ApiWorker` whose
shared `apiTimeout` is evaluated from the same clock on every request and by a background
task. With a fake clock, move it forward to see new values and timeouts.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import random
import re
import time
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Final

from aiohttp import web

from ..battery import BatteryModel
from ..cli import RunningSimulator, SimulatorCli
from ..connections import ConnectionGate, GatedTCPSite
from ..faults import FaultInjector, RejectedWrite, WriteLog, WriteRecord, fault_middleware
from ..fems.api_worker import ApiWorker, ApiWorkerView
from ..fems.bodies import jsonrpc_response, loose_value, parse_value
from ..fems.channels import (
    ESS,
    GRID_MODE_CHANNELS,
    GRID_MODE_UNDEFINED,
    HOST,
    META,
    REST_CONTROLLER,
    SET_ACTIVE_POWER_EQUALS,
    SET_ACTIVE_POWER_GREATER_OR_EQUALS,
    SET_ACTIVE_POWER_LESS_OR_EQUALS,
    SUM,
    AccessMode,
    ChannelSpec,
    ChannelType,
    DeviceStatus,
    ProcessImage,
    build_catalogue,
)
from ..fems.errors import (
    ILLEGAL_ARGUMENT,
    NO_COMPONENT_WITH_ID,
    PATTERN_SYNTAX,
    FemsError,
    authentication_failed,
    empty_response,
    error_response,
    generic_error,
    jetty_error_page,
    json_response,
    named_error,
    role_denied,
    runtime_error,
)
from ..fems.firmware import JETTY12, WO_CHANNELS_READABLE, parse_version
from ..jsontypes import JsonScalar, JsonValue
from ..lifecycle import SimulatorLifecycle
from ..stats import RequestCounter, counting_middleware
from .paths import compile_java_regex, split_path


class Role(IntEnum):
    """OpenEMS roles; a lower value is more privileged."""

    ADMIN = 0
    INSTALLER = 1
    OWNER = 2
    GUEST = 3


DEFAULT_PASSWORDS: Final[Mapping[str, str]] = {
    "admin": "admin",
    "installer": "installer",
    "owner": "owner",
    "guest": "user",
}
# Component order of the simulated edge; regex results follow it (never alphabetical).
_COMPONENT_ORDER: Final = (ESS, SUM, REST_CONTROLLER, HOST, META)
_FACTORIES: Final = {
    ESS: "Fenecon.Home.Ess",
    SUM: "Core.Sum",
    REST_CONTROLLER: "Controller.Api.Rest.ReadWrite",
    HOST: "Core.Host",
    META: "Core.Meta",
}
# Idle keep-alive connections hold one of the few slots for this long (Jetty's default).
_IDLE_TIMEOUT_S: Final = 30.0
_MAX_BODY_BYTES: Final = 64 * 1024


class FemsRestSimulator(ApiWorkerView, SimulatorLifecycle):
    """A FEMS REST/JSON controller (RW app by default) over a `BatteryModel`."""

    def __init__(
        self,
        *,
        battery: BatteryModel | None = None,
        firmware: str = "2026.5.0",
        read_write: bool = True,
        passwords: Mapping[str, str] | None = None,
        hostname: str = "fems12345",
        api_timeout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        cycle_s: float = 1.0,
        max_connections: int = 5,
        seed: int = 0,
    ) -> None:
        self.battery = battery if battery is not None else BatteryModel(clock=clock)
        self._firmware = firmware
        self.read_write = read_write
        self.passwords: dict[str, str] = dict(DEFAULT_PASSWORDS if passwords is None else passwords)
        unknown = set(self.passwords) - {role.name.lower() for role in Role}
        if unknown:
            raise ValueError(f"passwords for unknown roles: {sorted(unknown)}")
        self.hostname = hostname
        self.cycle_s = cycle_s
        self.faults = FaultInjector()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        # Test knobs that apply at once: forced nulls, forced raw values, GridMode -1, and
        # channels this FEMS does not have at all (an older firmware, no ess0).
        self.undefined: set[str] = set()
        self.absent: set[str] = set()
        self.all_undefined = False  # every channel value undefined at once
        self.overrides: dict[str, JsonScalar] = {}
        self.grid_mode_undefined = False
        # Components switched off (or absent on older firmware): GETs do not find them.
        self.disabled_components: set[str] = set()
        # A 500 storm: every request fails with this runtime exception, before
        # authentication, until cleared (firmware restart, overload; errors.restarting()).
        self.storm: FemsError | None = None
        # How many requests the storm lasts; None = until `storm` is cleared.
        self.storm_requests: int | None = None
        # Device status, reported from the next controller cycle on.
        self.state = 0
        self.has_ignored_component_states = False
        self.host = "127.0.0.1"
        self.read_port = 0
        self.write_port = 0

        version = parse_version(firmware)
        self._jetty12 = version >= JETTY12
        self._wo_readable = version >= WO_CHANNELS_READABLE
        self._clock = clock
        self._worker = ApiWorker(timeout_s=api_timeout_s, clock=clock)
        catalogue = build_catalogue(version)
        self._by_address = {spec.address: spec for spec in catalogue}
        self._order = _shuffled(catalogue, random.Random(seed))
        self._image_builder = ProcessImage()
        self._image: dict[str, JsonScalar] | None = None
        self._image_at = 0.0
        self._gate = ConnectionGate(max_connections)

    # --- public state -----------------------------------------------------------------

    @property
    def firmware(self) -> str:
        """The firmware version (`_meta/Version`); it fixes the error generation and units."""
        return self._firmware

    @property
    def read_url(self) -> str:
        return _url(self.host, self.read_port)

    @property
    def write_url(self) -> str:
        return _url(self.host, self.write_port)

    @property
    def connections(self) -> tuple[int, int]:
        """(served, waiting) connections against the limit."""
        return self._gate.active, self._gate.waiting

    def tick(self) -> None:
        """Run what the controller does over time: the timeout, then a due cycle."""
        if self._worker.expire_if_due():
            self._apply_writes()
        now = self._clock()
        if self._image is None or now - self._image_at >= self.cycle_s:
            self._apply_writes()  # re-asserted every cycle
            self.battery.step()
            status = DeviceStatus(
                firmware=self.firmware,
                hostname=self.hostname,
                state=self.state,
                has_ignored_component_states=self.has_ignored_component_states,
                api_worker_log=self._worker.log_line(),
            )
            self._image = self._image_builder.build(self.battery, status)
            self._image_at = now

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", read_port: int = 0, write_port: int = 0) -> None:
        """Listen on both ports (0 = pick a free one); see `read_port` / `write_port`."""
        app = web.Application(
            middlewares=[counting_middleware(self.requests), fault_middleware(self.faults)],
            client_max_size=_MAX_BODY_BYTES,
        )
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_response_prepare.append(self._stamp_server_header)
        read_site, write_site = await self._serve(
            app,
            lambda runner: GatedTCPSite(runner, self._gate, host, read_port),
            lambda runner: GatedTCPSite(runner, self._gate, host, write_port),
            keepalive_timeout=_IDLE_TIMEOUT_S,
        )
        self.host, self.read_port, self.write_port = host, read_site.port, write_site.port
        # Timeouts fire even when nobody asks (lazy evaluation covers fake clocks).
        self._start_ticker(self.tick, lambda: self.cycle_s if self.cycle_s > 0 else 1.0)

    async def stop(self) -> None:
        await self._stop_ticker()
        if self._runner is not None:
            self._gate.close_waiting()
        await self._stop_runner()

    async def _stamp_server_header(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        transport = request.transport
        sockname: tuple[str, int] | None = None
        if transport is not None:
            sockname = transport.get_extra_info("sockname")
        on_write_port = sockname is not None and sockname[1] == self.write_port
        # FEMS answers port 80 through nginx and 8084 straight from Jetty.
        response.headers["Server"] = "nginx/1.14.2" if on_write_port else "Jetty(12)"

    # --- dispatch (RestHandler) -------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.tick()
        body = await request.read() if request.method == "POST" else b""
        role: Role | None = None
        if self.storm is not None:
            storm = self.storm
            if self.storm_requests is not None:
                self.storm_requests -= 1
                if self.storm_requests <= 0:
                    self.storm, self.storm_requests = None, None
            # A runtime exception is a Jetty 500 page in both generations; a named one
            # (e.g. authentication_failed()) is answered the way its generation does.
            return error_response(storm, request, jetty12=self._jetty12)
        try:
            # Jetty 12 answers the favicon before authentication.
            if self._jetty12 and request.path == "/favicon.ico":
                return empty_response(404)
            role = self._authenticate(request)
            return self._dispatch(request, role, body)
        except FemsError as err:
            if request.method == "POST":
                self._reject(_write_target(request.path), loose_value(body), role, err)
            return error_response(err, request, jetty12=self._jetty12)

    def _dispatch(self, request: web.Request, role: Role, body: bytes) -> web.Response:
        segments = split_path(request.path)
        if segments[0] == "rest":
            target = segments[1] if len(segments) > 1 else ""
            if target != "channel":
                raise generic_error(f"Unhandled REST target [{target}]")
            args = segments[2:]
            if len(args) != 2:
                raise generic_error("Missing arguments to handle Channel")
            if request.method == "GET":
                return self._get_channels(request, args[0], args[1])
            if request.method == "POST":
                return self._post_channel(role, args[0], args[1], body)
            raise generic_error(f"Unhandled REST Channel request method [{request.method}]")
        if segments == ["jsonrpc"]:
            return self._jsonrpc(request, role, body)
        raise generic_error(f"Unknown REST endpoint: {request.path}")

    def _authenticate(self, request: web.Request) -> Role:
        """HTTP Basic; the password alone picks the role (the user name only breaks ties)."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise authentication_failed()
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except binascii.Error, UnicodeDecodeError:
            raise authentication_failed() from None
        username, sep, password = decoded.partition(":")
        username, password = username.strip(), password.strip()
        if not sep or not password:
            raise authentication_failed()
        if self.passwords.get(username) == password:
            return Role[username.upper()]
        for role in Role:  # admin → installer → owner → guest: first match wins
            if self.passwords.get(role.name.lower()) == password:
                return role
        raise authentication_failed()

    # --- GET ----------------------------------------------------------------------------

    def _get_channels(
        self, request: web.Request, component_rx: str, channel_rx: str
    ) -> web.Response:
        try:
            component_pattern = compile_java_regex(component_rx)
            channel_pattern = compile_java_regex(channel_rx)
        except re.error as err:
            if self._jetty12:
                return empty_response(400)
            raise runtime_error(PATTERN_SYNTAX, str(err)) from None
        matches = [
            spec
            for spec in self._order
            if spec.component not in self.disabled_components
            and component_pattern.fullmatch(spec.component)
            and channel_pattern.fullmatch(spec.channel)
            and spec.address not in self.absent
        ]
        if not matches:
            if self._jetty12:
                return empty_response(404)
            return jetty_error_page(request, 404, "Not Found")
        if not self._wo_readable and any(spec.access is AccessMode.WO for spec in matches):
            # Before 2023.1 reading a write-only channel threw (OpenEMS issue #2025).
            raise runtime_error("java.lang.NullPointerException", "write-only channel has no value")
        objects = [spec.to_json(self._value(spec.address)) for spec in matches]
        if len(objects) == 1:
            return json_response(objects[0])
        return json_response(_not_alphabetical(objects))

    def _value(self, address: str) -> JsonScalar:
        if self.all_undefined or address in self.undefined:
            return None
        if address in self.overrides:
            return self.overrides[address]
        if self.grid_mode_undefined and address in GRID_MODE_CHANNELS:
            return GRID_MODE_UNDEFINED  # set explicitly to UNDEFINED: -1, not null
        assert self._image is not None
        return self._image.get(address)

    # --- POST (ApiWorker) ---------------------------------------------------------------

    def _post_channel(self, role: Role, component: str, channel: str, body: bytes) -> web.Response:
        if not self.read_write:
            raise generic_error("REST-Api is in Read-Only mode")
        if role > Role.OWNER:
            raise role_denied("HTTP POST", role.name)
        value = parse_value(body)
        spec = self._write_channel(component, channel)
        self._accept_write(spec, value, role)
        return json_response({})

    def _write_channel(self, component: str, channel: str) -> ChannelSpec:
        if component not in _COMPONENT_ORDER:
            message = f"Unable to find OpenEMS Component with ID [{component}]"
            raise named_error(NO_COMPONENT_WITH_ID, message, [component])
        spec = self._by_address.get(f"{component}/{channel}")
        if spec is None:
            raise runtime_error(
                ILLEGAL_ARGUMENT, f"Channel [{channel}] is not defined for ID [{component}]."
            )
        if not spec.writable:
            raise generic_error(f"[Channel {spec.address}] is not a Write Channel")
        return spec

    def _accept_write(self, spec: ChannelSpec, value: JsonScalar, role: Role) -> None:
        if value == "" and spec.type is not ChannelType.STRING:
            value = None  # "" releases like null on non-STRING channels
        self._worker.write(spec.address, value)
        self._apply_writes()
        applied = value is None or self._worker.int_value(spec.address) is not None
        record = WriteRecord(self._clock(), spec.address, value, role.name.lower(), applied)
        self.writes.record(record)

    def _apply_writes(self) -> None:
        """Mirror the pending writes onto the battery; absent or invalid means released."""
        battery, worker = self.battery, self._worker
        setpoint = worker.int_value(SET_ACTIVE_POWER_EQUALS)
        upper = worker.int_value(SET_ACTIVE_POWER_LESS_OR_EQUALS)
        lower = worker.int_value(SET_ACTIVE_POWER_GREATER_OR_EQUALS)
        if battery.setpoint_w != setpoint:
            battery.setpoint_w = setpoint
        if battery.discharge_limit_w != upper:
            battery.discharge_limit_w = upper
        if battery.charge_limit_w != lower:
            battery.charge_limit_w = lower

    def _reject(self, channel: str, value: JsonScalar, role: Role | None, err: FemsError) -> None:
        role_name = role.name.lower() if role is not None else None
        self.writes.reject(RejectedWrite(self._clock(), channel, value, role_name, str(err)))

    # --- /jsonrpc -----------------------------------------------------------------------

    def _jsonrpc(self, request: web.Request, role: Role, body: bytes) -> web.Response:
        if not self.read_write:
            raise generic_error("REST-Api is in Read-Only mode")
        if role > Role.OWNER:
            raise role_denied("HTTP POST", role.name)
        if request.method != "POST":
            raise generic_error(f"Method [{request.method}] is not supported for JSON-RPC endpoint")
        return jsonrpc_response(
            body, lambda method, params: self._jsonrpc_call(role, method, params)
        )

    def _jsonrpc_call(self, role: Role, method: str, params: dict[str, JsonValue]) -> JsonValue:
        if method == "getEdgeConfig":
            components: dict[str, JsonValue] = {
                component: {
                    "alias": component,
                    "factoryId": _FACTORIES[component],
                    "properties": {},
                }
                for component in _COMPONENT_ORDER
            }
            return {"components": components, "factories": {}}
        if method == "setChannelValue":
            component, channel = params.get("componentId"), params.get("channelId")
            value = params.get("value")
            address = f"{component}/{channel}"
            scalar = value if not isinstance(value, (list, dict)) else None
            try:
                if role > Role.ADMIN:
                    raise role_denied("setChannelValue", role.name)
                if not isinstance(component, str) or not isinstance(channel, str):
                    raise generic_error("componentId and channelId are required")
                if isinstance(value, (list, dict)):
                    raise generic_error(f"Unable to parse value [{value}]")
                self._accept_write(self._write_channel(component, channel), scalar, role)
            except FemsError as err:
                self._reject(address, scalar, role, err)
                raise
            return {}
        raise named_error(1, f'Endpoint with method "{method}" is not defined!', [method])


# --- helpers --------------------------------------------------------------------------


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _shuffled(catalogue: tuple[ChannelSpec, ...], rng: random.Random) -> list[ChannelSpec]:
    """Component order, then a seeded shuffle: like a ConcurrentHashMap, stable but unsorted."""
    ordered: list[ChannelSpec] = []
    for component in _COMPONENT_ORDER:
        channels = [spec for spec in catalogue if spec.component == component]
        rng.shuffle(channels)
        ordered.extend(channels)
    return ordered


def _not_alphabetical(objects: list[dict[str, JsonValue]]) -> list[JsonValue]:
    # A small result can come out sorted by chance; clients must never rely on order.
    addresses = [str(obj["address"]) for obj in objects]
    if addresses == sorted(addresses):
        objects = objects[::-1]
    return list(objects)


def _write_target(path: str) -> str:
    return path.removeprefix("/rest/channel/")


# --- command line -------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fems_rest (FEMS local REST/JSON)")
    group.add_argument(
        "--fems-rest-read-port", type=int, default=8084, metavar="PORT", help="read API port"
    )
    group.add_argument(
        "--fems-rest-write-port", type=int, default=8085, metavar="PORT", help="write API port"
    )
    group.add_argument(
        "--fems-rest-firmware",
        default="2026.5.0",
        metavar="VERSION",
        help="firmware version (decides the error generation)",
    )


async def _launch(args: argparse.Namespace) -> RunningSimulator:
    simulator = FemsRestSimulator(firmware=args.fems_rest_firmware)
    await simulator.start(args.host, args.fems_rest_read_port, args.fems_rest_write_port)
    passwords = " ".join(f"{role}={password}" for role, password in simulator.passwords.items())
    summary = (
        f"fems_rest (firmware {simulator.firmware}): read {simulator.read_url}/rest/channel/_sum/.*"
        f"  write {simulator.write_url}/rest/channel/ess0/SetActivePowerEquals"
        f"  passwords (any user name): {passwords}"
    )
    return RunningSimulator(summary=summary, stop=simulator.stop)


CLI: Final = SimulatorCli(name="fems_rest", add_arguments=_add_arguments, launch=_launch)
