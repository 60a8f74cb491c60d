"""sonnenBatterie local JSON API v1 simulator (sonnenbatterie-api-v1.txt, sonnen-api-notes.md).

One aiohttp app on one socket (port 8080 on a real unit):

- `GET /api/v1/status` in the chosen profile's keys and types (`sonnen_profiles.py`);
- `PUT` (or `GET`) `/api/v1/setpoint/{charge,discharge}/<W>`, acting in manual mode and
  overridden after about 20 s otherwise (`sonnen_device.py`);
- `GET /api/configuration/<name>` and `GET /api/setting?<name>=<value>`, where offered;
- return codes in JSON bodies, an "API disabled" HTML 404 mode, restarts, off grid, and a
  unit that goes down in the middle of a command sequence (`answers_before_down`).

Time comes from the injected clock; the state is evaluated on every request.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from typing import Final, Literal

from aiohttp import web

from ..battery import BatteryModel
from ..cli import RunningSimulator, SimulatorCli
from ..faults import (
    ConnectionDropped,
    FaultInjector,
    RejectedWrite,
    WriteLog,
    WriteRecord,
    fault_middleware,
)
from ..jsontypes import JsonScalar, JsonValue
from ..lifecycle import SimulatorLifecycle
from ..stats import RequestCounter, counting_middleware
from .device import KNOWN_MODES, SonnenDevice
from .profiles import PROFILES, status_body

RC_INVALID_PATH: Final = 5
RC_INVALID_SETTING: Final = 11
RC_RESTARTING: Final = 14
RC_INVALID_METHOD: Final = 16

_SETPOINT = re.compile(r"/api/v1/setpoint/(charge|discharge)/([^/]*)")
_CONFIGURATION = re.compile(r"/api/configuration/([A-Za-z0-9_]+)")
_SETTING_PATHS: Final = ("/api/setting", "/api/setting/")
# What the unit's web server answers when the JSON API is switched off (node-red issue #2).
_DISABLED_PAGE: Final = (
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    "<body><h1>Not Found</h1><p>The requested URL was not found on this server.</p>"
    "</body></html>"
)

type PutRefusal = Literal["http_405", "code_16"] | None
# Where an injected return code applies.
type Endpoint = Literal["status", "setpoint", "configuration", "setting"]


class SonnenSimulator(SimulatorLifecycle):
    """A sonnenBatterie's local API v1 over a `BatteryModel`."""

    def __init__(
        self,
        *,
        profile: str = "eu_current",
        battery: BatteryModel | None = None,
        clock: Callable[[], float] = time.monotonic,
        override_after_s: float = 20.0,
        settings_api: bool = True,
        put_refusal: PutRefusal = None,
    ) -> None:
        self.profile = PROFILES[profile]
        self.battery = battery if battery is not None else BatteryModel(clock=clock)
        self.device = SonnenDevice(
            self.battery,
            self.profile.configuration,
            clock=clock,
            override_after_s=override_after_s,
        )
        # Test knobs, all applied at once.
        self.settings_api = settings_api  # serves /api/setting and /api/configuration
        self.put_refusal: PutRefusal = put_refusal
        self.api_disabled = False
        self.vpp_priority = False
        self.return_codes: dict[Endpoint, int] = {}
        # The unit answers this many more requests, then drops every connection (it went
        # down, e.g. between the mode switch and the setpoints) until this is None again.
        self.answers_before_down: int | None = None
        self.overrides: dict[str, JsonValue] = {}  # raw status values (strings, nulls)
        self.removed: set[str] = set()  # status keys left out
        self.faults = FaultInjector()
        self.writes = WriteLog()
        self.requests = RequestCounter()
        self.host = "127.0.0.1"
        self.port = 0
        self._clock = clock

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def restart(self, duration_s: float) -> None:
        """The unit reboots: return code 14 for `duration_s`, then as before."""
        self.device.restart(duration_s)

    def status(self) -> dict[str, JsonValue]:
        """The status body the unit sends now (profile, then test overrides)."""
        self.battery.step()
        body = status_body(
            self.profile,
            self.battery,
            operating_mode=self.device.operating_mode,
            backup_buffer=self.device.backup_buffer,
            timestamp=time.strftime("%Y-%m-%d %H:%M:%S"),
        )
        body.update(self.overrides)
        for key in self.removed:
            body.pop(key, None)
        return body

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `port` (0 = pick a free one)."""
        app = web.Application(
            middlewares=[counting_middleware(self.requests), fault_middleware(self.faults)]
        )
        app.router.add_route("*", "/{tail:.*}", self._handle)
        await self._serve(app, lambda runner: web.TCPSite(runner, host, port))
        # The bound port, when asked for 0.
        self.host, self.port = host, self._bound_port()

    # --- dispatch -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.answers_before_down is not None:
            if self.answers_before_down <= 0:
                # Down: the connection closes without a status line.
                if request.transport is not None:
                    request.transport.close()
                raise ConnectionDropped
            self.answers_before_down -= 1
        self.device.apply()
        if self.api_disabled:
            return web.Response(status=404, text=_DISABLED_PAGE, content_type="text/html")
        if self.device.restarting:
            return _code(RC_RESTARTING, status=503)
        return self._route(request)

    def _route(self, request: web.Request) -> web.Response:
        path = request.path
        if path in ("/api/v1/status", "/api/v1/status/"):
            return self._get_status(request)
        if match := _SETPOINT.fullmatch(path):
            return self._setpoint(request, match[1], match[2])
        if match := _CONFIGURATION.fullmatch(path):
            return self._configuration(request, match[1])
        if path in _SETTING_PATHS:
            return self._setting(request)
        return _code(RC_INVALID_PATH, status=404)

    def _get_status(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            return _code(RC_INVALID_METHOD, status=405)
        if code := self.return_codes.get("status"):
            return _code(code)
        return web.json_response(self.status())

    def _setpoint(self, request: web.Request, direction: str, raw: str) -> web.Response:
        channel = f"setpoint/{direction}"
        value: JsonScalar = int(raw) if raw.isdigit() else raw
        if refusal := self._setpoint_refusal(request, channel, value):
            return refusal
        assert isinstance(value, int)
        applied = self.device.write_setpoint(direction, value)
        self.writes.record(WriteRecord(self._clock(), channel, value, request.method, applied))
        return web.Response(
            body=self.profile.setpoint_body,
            headers={"Content-Type": f"{self.profile.setpoint_content_type}; charset=UTF-8"},
        )

    def _setpoint_refusal(
        self, request: web.Request, channel: str, value: JsonScalar
    ) -> web.Response | None:
        """Why the unit does not take this setpoint, as its answer; None if it does."""
        method = request.method
        if method not in ("PUT", "GET"):
            return _code(RC_INVALID_METHOD, status=405)
        if method == "PUT" and self.put_refusal == "http_405":
            return web.Response(status=405, text="405 Method Not Allowed")
        if method == "PUT" and self.put_refusal == "code_16":
            return _code(RC_INVALID_METHOD)
        reason: str | None = None
        answer: web.Response | None = None
        limit = self.device.inverter_max_power_w
        if self.vpp_priority:
            reason, answer = "vpp priority", web.Response(status=403, text="Forbidden")
        elif code := self.return_codes.get("setpoint"):
            reason, answer = f"return code {code}", _code(code)
        elif not isinstance(value, int) or (limit is not None and value > limit):
            reason, answer = "invalid setting", _code(RC_INVALID_SETTING, status=400)
        if reason is not None:
            self._reject(channel, value, method, reason)
        return answer

    def _configuration(self, request: web.Request, name: str) -> web.Response:
        if not self.settings_api:
            return _code(RC_INVALID_PATH, status=404)
        if request.method != "GET":
            return _code(RC_INVALID_METHOD, status=405)
        if code := self.return_codes.get("configuration"):
            return _code(code)
        if name not in self.device.configuration:
            return _code(RC_INVALID_PATH, status=404)
        return web.json_response({name: self.device.configuration[name]})

    def _setting(self, request: web.Request) -> web.Response:
        if not self.settings_api:
            return _code(RC_INVALID_PATH, status=404)
        if request.method != "GET":
            return _code(RC_INVALID_METHOD, status=405)
        if code := self.return_codes.get("setting"):
            for name, raw in request.query.items():
                self._reject(name, raw, request.method, f"return code {code}")
            return _code(code)
        echo: dict[str, JsonValue] = {}
        for name, raw in request.query.items():
            number = int(raw) if raw.strip().isdigit() else None
            if name == "EM_OperatingMode" and number in KNOWN_MODES:
                assert number is not None
                self.device.operating_mode = number
            elif name == "EM_USOC" and number is not None and number <= 100:
                self.device.backup_buffer = number
            else:
                self._reject(name, raw, request.method, "invalid setting")
                return _code(RC_INVALID_SETTING, status=400)
            self.writes.record(WriteRecord(self._clock(), name, number, request.method))
            echo[name] = raw
        return web.json_response(echo)

    def _reject(self, channel: str, value: JsonScalar, method: str, reason: str) -> None:
        self.writes.reject(RejectedWrite(self._clock(), channel, value, method, reason))


def _code(code: int, *, status: int = 200) -> web.Response:
    """A v1 return code in a JSON body (how the unit carries it is undocumented)."""
    return web.Response(
        status=status, text=json.dumps({"ReturnCode": code}), content_type="application/json"
    )


# --- command line -------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    # A real unit listens on 8080; the default stays off that commonly taken port.
    group = parser.add_argument_group("sonnen (sonnenBatterie API v1)")
    group.add_argument("--sonnen-port", type=int, default=8088, metavar="PORT", help="HTTP port")
    group.add_argument(
        "--sonnen-profile",
        choices=sorted(PROFILES),
        default="eu_current",
        help="firmware generation and market the unit behaves like",
    )


async def _launch(args: argparse.Namespace) -> RunningSimulator:
    simulator = SonnenSimulator(profile=args.sonnen_profile)
    await simulator.start(args.host, args.sonnen_port)
    summary = (
        f"sonnen ({simulator.profile.description}): {simulator.url}/api/v1/status"
        f"  setpoints PUT {simulator.url}/api/v1/setpoint/{{charge,discharge}}/<W>"
        f"  mode {simulator.device.operating_mode}"
    )
    return RunningSimulator(summary=summary, stop=simulator.stop)


CLI: Final = SimulatorCli(name="sonnen", add_arguments=_add_arguments, launch=_launch)
