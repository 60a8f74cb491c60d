"""FlexHome FlexConnect development-client simulator (flexconnect-api-notes.md).

The local HTTP surface of the development client (`/`, `/version`, `/doc`, `/ui`,
`POST /app/v1/<Name>Request`) over one `BatteryModel` per SKI. Answers are ProtoJSON as
a ProtoJSON printer writes them: default values omitted, int64 values as strings (both
switchable in `style`). A modify request changes the desired instructions at once and
the current ones only after a command latency (default: random, up to a minute), from
an injectable clock, so tests can move time. What the vendor does not document (the
error envelope, the status codes of an unknown or offline battery) is the simulator's
choice: 404 for an unknown SKI, 504 after `timeoutMs` for an offline battery.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from aiohttp import web

from ..battery import BatteryModel
from ..cli import RunningSimulator, SimulatorCli
from ..faults import FaultInjector, fault_middleware
from ..jsontypes import JsonValue
from ..lifecycle import SimulatorLifecycle
from ..stats import RequestCounter, counting_middleware
from .battery import (
    ControlMode,
    ProtoJsonStyle,
    SimulatedBattery,
    decode_scaled,
)
from .doc import REQUESTS, listing_page, openapi_document, ui_page

DEFAULT_SKIS: Final = (
    "90D2A30FA3D2AD48525CD255F469C167ECF8292C",  # the First Steps guide's example
    "5C3A81E0B7D94F26A1C0E4D2B8F7A6390C1D2E3F",
)
DEFAULT_VERSION: Final = "1.4.0-sim"
DEFAULT_TIMEOUT_MS: Final = 10_000
_SKI = re.compile(r"[0-9A-F]{40}")
_MAX_BODY_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class ModifyRecord:
    """One accepted `BatteryControlModifyRequest`; `setpoint_w` in FlexConnect's sign."""

    timestamp: float
    ski: str
    control_mode: int
    setpoint_w: Decimal
    req_id: int
    latency_s: float


class RequestError(Exception):
    """Ends a request with an error answer."""

    def __init__(self, status: int, code: str, message: str, req_id: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.req_id = req_id


class FlexConnectSimulator(SimulatorLifecycle):
    """The development client and the batteries behind it."""

    def __init__(
        self,
        *,
        skis: Iterable[str] = DEFAULT_SKIS,
        battery_factory: Callable[[Callable[[], float]], BatteryModel] | None = None,
        clock: Callable[[], float] = time.time,
        command_latency_s: tuple[float, float] = (0.0, 60.0),
        max_wait_s: float | None = None,
        version: str = DEFAULT_VERSION,
        seed: int = 0,
    ) -> None:
        """Batteries for `skis`; `clock` is wall-clock seconds (timestamps are ms of it)."""
        factory = battery_factory or (lambda clock: BatteryModel(clock=clock))
        self.batteries: dict[str, SimulatedBattery] = {
            ski: SimulatedBattery(ski, factory(clock), clock) for ski in skis
        }
        self.clock = clock
        # Latency of each command, drawn uniformly from this range (seconds).
        self.command_latency_s = command_latency_s
        # How long an offline battery holds a request: its timeoutMs, or at most this.
        self.max_wait_s = max_wait_s
        self.version = version
        self.style = ProtoJsonStyle()
        self.faults = FaultInjector()
        self.requests = RequestCounter()
        self.calls: Counter[str] = Counter()
        self.modifies: list[ModifyRecord] = []
        # The latest request bodies as received: (request name, body).
        self.received: deque[tuple[str, dict[str, JsonValue]]] = deque(maxlen=100)
        # Fault: echo a reqId that is not the request's.
        self.wrong_req_id = False
        # Request name → the body to answer instead (the header is added unless given).
        self.answer_overrides: dict[str, dict[str, JsonValue]] = {}
        self.host = "127.0.0.1"
        self.port = 0
        self._rng = random.Random(seed)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def battery(self, ski: str) -> SimulatedBattery:
        return self.batteries[ski]

    def tick(self) -> None:
        """Apply every command whose latency has passed."""
        for battery in self.batteries.values():
            battery.settle()

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(
            middlewares=[counting_middleware(self.requests), fault_middleware(self.faults)],
            client_max_size=_MAX_BODY_BYTES,
        )
        app.router.add_get("/", self._index)
        app.router.add_get("/version", self._version)
        app.router.add_get("/doc", self._doc)
        app.router.add_get("/ui", self._ui)
        app.router.add_post("/app/v1/{name}", self._app_request)
        await self._serve(app, lambda runner: web.TCPSite(runner, host, port))
        self.host, self.port = host, self._bound_port()  # the bound port when asked for 0
        # Commands apply on time even when nobody asks (requests settle lazily too).
        self._start_ticker(self.tick, lambda: 1.0)

    # --- pages ------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=listing_page(), content_type="text/html")

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": self.version})

    async def _doc(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document(self.version))

    async def _ui(self, request: web.Request) -> web.Response:
        facts: dict[str, dict[str, str]] = {}
        for ski, battery in self.batteries.items():
            battery.settle()
            battery.model.step()
            facts[ski] = {
                "SoC": f"{battery.model.soc:.1f} %",
                "current": _describe(battery.current.control_mode, battery.current.setpoint_w),
                "desired": _describe(battery.desired.control_mode, battery.desired.setpoint_w),
                "online": "yes" if battery.online else "no",
            }
        return web.Response(text=ui_page(self.version, facts), content_type="text/html")

    # --- /app/v1/<Name>Request --------------------------------------------------------

    async def _app_request(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.calls[name] += 1
        req_id: int | None = None
        try:
            body = _json_object(await request.read())
            self.received.append((name, body))
            req_id, timeout_ms = _header(body)
            if name not in REQUESTS:
                raise RequestError(404, "UNKNOWN_REQUEST", f"no request {name}", req_id)
            battery = self._battery(body, req_id)
            if not battery.online:
                await self._wait_out(timeout_ms)
                raise RequestError(504, "TIMEOUT", "the device did not answer in time", req_id)
            answer = self.answer_overrides.get(name)
            if answer is None:
                answer = self._answer(name, battery, body, req_id)
        except RequestError as err:
            return self._error(err)
        return web.json_response({"header": self._echo(req_id), **answer})

    def _answer(
        self, name: str, battery: SimulatedBattery, body: dict[str, JsonValue], req_id: int
    ) -> dict[str, JsonValue]:
        if name == "BatteryStateRequest":
            return battery.state_json(self.style)
        if name == "BatteryControlRequest":
            return battery.control_json(self.style)
        mode = _control_mode(body.get("controlMode"), req_id)
        setpoint = decode_scaled(body.get("setpointPower", {}))
        if setpoint is None:
            raise RequestError(400, "BAD_REQUEST", "setpointPower is not a scaled number", req_id)
        latency = self._rng.uniform(*self.command_latency_s)
        battery.modify(mode, setpoint, latency)
        self.modifies.append(
            ModifyRecord(self.clock(), battery.ski, mode, setpoint, req_id, latency)
        )
        return {}  # "An empty response represents a successful operation."

    def _battery(self, body: dict[str, JsonValue], req_id: int) -> SimulatedBattery:
        device = body.get("deviceId")
        if not isinstance(device, dict):
            raise RequestError(400, "BAD_REQUEST", "deviceId is required", req_id)
        kind = device.get("type")
        ski = device.get("stringValue")
        if not isinstance(kind, dict) or kind.get("id") != 2:
            raise RequestError(400, "BAD_REQUEST", "deviceId.type.id must be 2 (SKI)", req_id)
        if not isinstance(ski, str) or not _SKI.fullmatch(ski):
            raise RequestError(400, "BAD_REQUEST", "an SKI is 40 upper-case hex digits", req_id)
        battery = self.batteries.get(ski)
        if battery is None:
            raise RequestError(404, "DEVICE_NOT_FOUND", "unknown device", req_id)
        return battery

    async def _wait_out(self, timeout_ms: int) -> None:
        wait = timeout_ms / 1000
        if self.max_wait_s is not None:
            wait = min(wait, self.max_wait_s)
        if wait > 0:
            await asyncio.sleep(wait)

    def _echo(self, req_id: int | None) -> dict[str, JsonValue]:
        if req_id is None:
            return {}
        return {"reqId": req_id + 1 if self.wrong_req_id else req_id}

    def _error(self, err: RequestError) -> web.Response:
        return web.json_response(
            {"header": self._echo(err.req_id), "error": {"code": err.code, "message": str(err)}},
            status=err.status,
        )


# --- helpers --------------------------------------------------------------------------


def _json_object(raw: bytes) -> dict[str, JsonValue]:
    try:
        body = json.loads(raw)
    except ValueError, UnicodeDecodeError:
        raise RequestError(400, "BAD_REQUEST", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise RequestError(400, "BAD_REQUEST", "the body is not a JSON object")
    return body


def _header(body: dict[str, JsonValue]) -> tuple[int, int]:
    header = body.get("header")
    if not isinstance(header, dict):
        raise RequestError(400, "BAD_REQUEST", "header is required")
    req_id, timeout_ms = header.get("reqId"), header.get("timeoutMs", 0)
    if isinstance(req_id, bool) or not isinstance(req_id, int) or req_id <= 0:
        raise RequestError(400, "BAD_REQUEST", "header.reqId must be a positive integer")
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms < 0:
        raise RequestError(400, "BAD_REQUEST", "header.timeoutMs must be an integer", req_id)
    return req_id, timeout_ms or DEFAULT_TIMEOUT_MS


def _control_mode(raw: JsonValue, req_id: int) -> int:
    if isinstance(raw, str) and raw in ControlMode.__members__:
        return ControlMode[raw]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in set(ControlMode):
        return raw
    raise RequestError(400, "BAD_REQUEST", "controlMode must be 1, 2 or 3", req_id)


def _describe(mode: int, setpoint_w: Decimal) -> str:
    try:
        name = ControlMode(mode).name
    except ValueError:
        name = str(mode)
    return f"{name} {setpoint_w:+} W"


# --- command line -------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("flexconnect (FlexHome FlexConnect development client)")
    group.add_argument(
        "--flexconnect-port", type=int, default=8090, metavar="PORT", help="HTTP port"
    )
    group.add_argument(
        "--flexconnect-ski",
        action="append",
        metavar="SKI",
        help="battery SKI (40 hex digits; repeat for more; default: two example batteries)",
    )
    group.add_argument(
        "--flexconnect-latency",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="longest command latency (each command takes a random time up to it)",
    )


async def _launch(args: argparse.Namespace) -> RunningSimulator:
    skis = [ski.upper() for ski in args.flexconnect_ski or DEFAULT_SKIS]
    simulator = FlexConnectSimulator(
        skis=skis, command_latency_s=(0.0, max(args.flexconnect_latency, 0.0))
    )
    await simulator.start(args.host, args.flexconnect_port)
    summary = (
        f"flexconnect (client {simulator.version}): {simulator.url}/ui"
        f"  batteries: {' '.join(simulator.batteries)}"
        f"  command latency up to {args.flexconnect_latency:g} s"
    )
    return RunningSimulator(summary=summary, stop=simulator.stop)


CLI: Final = SimulatorCli(name="flexconnect", add_arguments=_add_arguments, launch=_launch)
