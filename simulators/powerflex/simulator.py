"""PowerFlex EV-charging cloud simulator (powerflex-api.txt, powerflex-api-notes.md).

One aiohttp app, plain http (the client accepts http only on loopback):

- `POST /login` → an HS256 JWT with a real `exp`; every other call needs
  `Authorization: Bearer <token>` and answers 401 for a missing, foreign or expired one;
- `POST /get_measurement_data` with `time_filter` → InfluxDB 1.x JSON over every site of
  the account (zero-padded ids), from the rows the stations reported every report interval;
- `POST /get_external_signal/<int>` in either answer shape, `POST /set_external_signal/<int>`,
  `POST /set_real_time_load/<int>`, `GET /get_target_peak_power_kW/<int>`,
  `POST /set_target_peak_power_kW/<int>`.

What the vendor leaves open is the simulator's choice: error bodies are Flask-JWT-Extended
style `{"msg": ...}`, `/03` in a URL is a 404 (the converter wants an integer),
`set_real_time_load` answers `{}`, a request without `name` to `set_external_signal`
is refused with 400.

Time is epoch seconds from the injected clock plus what `advance()` added; the model is
brought up to date on every request and by a ticker.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from aiohttp import web

from ..cli import RunningSimulator, SimulatorCli
from ..faults import FaultInjector, fault_middleware
from ..jsontypes import JsonValue
from ..lifecycle import SimulatorLifecycle
from ..stats import RequestCounter, counting_middleware
from .influx import MEASUREMENTS, PowerUnit, answer, station_rows
from .model import (
    DEFAULT_SIGNAL_NAME,
    MONTHS,
    Arrivals,
    LoadUnit,
    PowerFlexModel,
    Signal,
    Site,
    Station,
)
from .tokens import TokenIssuer, TokenProblem

DEFAULT_PORT: Final = 8095
DEFAULT_USERNAME: Final = "demo"
DEFAULT_PASSWORD: Final = "demo-password"
DEFAULT_SITES: Final[Mapping[int, int]] = {3: 4, 7: 2}
TOKEN_LIFETIME_S: Final = 24 * 3600
REDACTED: Final = "<redacted>"

# "by_request": a bare signal when `name` is sent, all signals by name otherwise (the
# document's two examples); "keyed" and "bare" always answer that one shape.
type SignalShape = Literal["by_request", "keyed", "bare"]

_SITE_PATH = re.compile(r"/([a-zA-Z_]+)/(0|[1-9][0-9]*)")
_SITE_ENDPOINTS: Final = frozenset(
    {
        "get_external_signal",
        "set_external_signal",
        "set_real_time_load",
        "get_target_peak_power_kW",
        "set_target_peak_power_kW",
    }
)
_MAX_BODY_BYTES: Final = 1024 * 1024
_LOG_LENGTH: Final = 2000


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as received; the bearer token and the login password are redacted."""

    timestamp: float
    method: str
    path: str
    body: JsonValue
    # "Bearer <redacted>" when a token was sent, `None` without one.
    authorization: str | None


class _RefusedError(Exception):
    """Ends a request with an error answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class PowerFlexSimulator(SimulatorLifecycle):
    """The PowerFlex API for one account with several sites."""

    def __init__(
        self,
        *,
        sites: Mapping[int, int] = DEFAULT_SITES,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        power_unit: PowerUnit = "mW",
        signal_shape: SignalShape = "by_request",
        token_lifetime_s: float = TOKEN_LIFETIME_S,
        report_interval_s: float = 10.0,
        history_s: float = 2 * 3600.0,
        voltage_v: float = 240.0,
        arrivals: Arrivals | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`sites` maps each `acc_id` to its number of stations (acs_id 1..n)."""
        self.username = username
        self.password = password
        self.power_unit: PowerUnit = power_unit
        self.signal_shape: SignalShape = signal_shape
        self.token_lifetime_s = token_lifetime_s
        self.history_s = history_s
        self._clock = clock
        self._offset_s = 0.0
        self.model = PowerFlexModel(
            (_site(acc_id, count, voltage_v) for acc_id, count in sites.items()),
            now=self.now(),
            report_interval_s=report_interval_s,
            arrivals=arrivals,
            seed=seed,
        )
        self.tokens = TokenIssuer()
        self.faults = FaultInjector()
        self.requests = RequestCounter()
        self.log: deque[RequestRecord] = deque(maxlen=_LOG_LENGTH)
        self.login_count = 0  # every POST /login, accepted or not
        self.failed_logins = 0
        self.token_refusals = 0  # 401s for a missing, foreign, expired or rejected token
        # Test knobs.
        self.reject_tokens = False  # 401 for every token, even one issued just now
        self.endpoint_errors: dict[str, int] = {}  # endpoint name → status to answer
        # Measurement → the `data` to answer instead of the rows (empty, error, ...).
        self.measurement_answers: dict[str, JsonValue] = {}
        # Windows longer than this come back `partial`, holding only their first part.
        self.partial_window_s: float | None = None
        # (measurement, acc_id, acs_id) → raw values forced into that station's rows.
        self.row_overrides: dict[tuple[str, int, int], dict[str, JsonValue]] = {}
        self._rows: dict[str, deque[dict[str, JsonValue]]] = {m: deque() for m in MEASUREMENTS}
        self.host = "127.0.0.1"
        self.port = 0
        self._record_rows(self.model.time)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def now(self) -> float:
        """The simulator's time: epoch seconds."""
        return self._clock() + self._offset_s

    # --- model --------------------------------------------------------------------------

    def sync(self) -> None:
        """Run the model up to now, recording the stations' reports on the way."""
        self.model.run_until(self.now(), self._record_rows)

    def advance(self, seconds: float) -> None:
        """Move time forward (deterministically: reports every report interval)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset_s += seconds
        self.sync()

    def site(self, acc_id: int) -> Site:
        return self.model.site(acc_id)

    def station(self, acc_id: int, acs_id: int) -> Station:
        return self.model.station(acc_id, acs_id)

    def add_station(
        self,
        acc_id: int,
        acs_id: int | None = None,
        *,
        acg_id: int = 1,
        max_current_a: float = 32.0,
        evse_type: str = "AeroVironment",
    ) -> Station:
        """A new station (the next free acs_id unless given); it reports from now on."""
        site = self.model.site(acc_id)
        number = acs_id if acs_id is not None else max(site.stations, default=0) + 1
        if number in site.stations:
            raise ValueError("station exists")
        station = Station(number, acg_id, max_current_a, evse_type)
        site.stations[number] = station
        return station

    def remove_station(self, acc_id: int, acs_id: int) -> None:
        """The station stops reporting; its old rows age out of the history."""
        site = self.model.site(acc_id)
        del site.stations[acs_id]
        site.allocate()

    def plug_in(
        self,
        acc_id: int,
        acs_id: int,
        *,
        max_current_a: float = 32.0,
        energy_needed_wh: float = 30_000.0,
        stay_s: float = 4 * 3600.0,
    ) -> None:
        """A car arrives at a station; it charges from the next report step on."""
        self.model.plug_in(
            acc_id,
            acs_id,
            max_current_a=max_current_a,
            energy_needed_wh=energy_needed_wh,
            stay_s=stay_s,
        )

    def unplug(self, acc_id: int, acs_id: int) -> None:
        self.model.unplug(acc_id, acs_id)

    def revoke_tokens(self) -> None:
        """Every token issued so far is refused with 401 (as after a key rotation)."""
        self.tokens.rotate()

    def requests_to(self, endpoint: str) -> list[RequestRecord]:
        """Logged requests whose path starts with `/<endpoint>`."""
        return [record for record in self.log if record.path.startswith(f"/{endpoint}")]

    def _record_rows(self, now: float) -> None:
        for site in self.model.sites.values():
            for station in site.stations.values():
                rows = station_rows(
                    site,
                    station,
                    now,
                    power_unit=self.power_unit,
                    report_interval_s=self.model.report_interval_s,
                )
                for measurement, row in rows.items():
                    self._rows[measurement].append(row)
        oldest = now - self.history_s
        for kept in self._rows.values():
            while kept and _row_time(kept[0]) < oldest:
                kept.popleft()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `port` (0 = pick a free one)."""
        app = web.Application(
            middlewares=[counting_middleware(self.requests), fault_middleware(self.faults)],
            client_max_size=_MAX_BODY_BYTES,
        )
        app.router.add_route("*", "/{tail:.*}", self._handle)
        await self._serve(app, lambda runner: web.TCPSite(runner, host, port))
        self.host, self.port = host, self._bound_port()
        self._start_ticker(self.sync, lambda: self.model.report_interval_s)

    # --- dispatch -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        body = await self._logged_body(request)
        self.sync()
        try:
            if request.path == "/login":
                return self._login(request, body)
            self._authorize(request)
            return self._route(request, body)
        except _RefusedError as refusal:
            return web.json_response({"msg": str(refusal)}, status=refusal.status)

    async def _logged_body(self, request: web.Request) -> JsonValue:
        raw = await request.read()
        body: JsonValue
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError, UnicodeDecodeError:
            body = raw[:200].decode("utf-8", "replace")
        logged = body
        if request.path == "/login" and isinstance(body, dict) and "password" in body:
            logged = {**body, "password": REDACTED}
        authorization = request.headers.get("Authorization")
        if authorization is not None:
            scheme = authorization.split(" ", 1)[0]
            authorization = f"{scheme} {REDACTED}"
        self.log.append(
            RequestRecord(self.now(), request.method, request.path, logged, authorization)
        )
        return body

    def _login(self, request: web.Request, body: JsonValue) -> web.Response:
        if request.method != "POST":
            raise _RefusedError(405, "Method Not Allowed")
        self.login_count += 1
        if (
            not isinstance(body, dict)
            or body.get("username") != self.username
            or body.get("password") != self.password
        ):
            self.failed_logins += 1
            raise _RefusedError(401, "Bad username or password")
        token = self.tokens.issue(self.username, self.now(), self.token_lifetime_s)
        return web.json_response({"access_token": token})

    def _authorize(self, request: web.Request) -> None:
        try:
            self._check_token(request)
        except _RefusedError:
            self.token_refusals += 1
            raise

    def _check_token(self, request: web.Request) -> None:
        header = request.headers.get("Authorization")
        if header is None:
            raise _RefusedError(401, "Missing Authorization Header")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise _RefusedError(401, "Bad Authorization header. Expected 'Bearer <JWT>'")
        problem = self.tokens.check(token, self.now())
        if problem is not None:
            raise _RefusedError(
                401, "Token has expired" if problem is TokenProblem.EXPIRED else "Invalid token"
            )
        if self.reject_tokens:
            raise _RefusedError(401, "Token has been revoked")

    def _route(self, request: web.Request, body: JsonValue) -> web.Response:
        if request.path == "/get_measurement_data":
            self._check_endpoint("get_measurement_data", request, "POST")
            return self._measurement_data(body)
        match = _SITE_PATH.fullmatch(request.path)
        if match is None or match[1] not in _SITE_ENDPOINTS:
            raise _RefusedError(404, "Not Found")
        endpoint, site = match[1], self.model.sites.get(int(match[2]))
        method = "GET" if endpoint == "get_target_peak_power_kW" else "POST"
        self._check_endpoint(endpoint, request, method)
        if site is None:
            raise _RefusedError(404, "unknown site")
        if endpoint == "get_external_signal":
            return web.json_response(self._get_signal(site, body))
        if endpoint == "set_external_signal":
            return web.json_response(self._set_signal(site, body))
        if endpoint == "set_real_time_load":
            return web.json_response(self._set_real_time_load(site, body))
        if endpoint == "get_target_peak_power_kW":
            return web.json_response(dict(site.target_peak_kw))
        return web.json_response(self._set_targets(site, body))

    def _check_endpoint(self, endpoint: str, request: web.Request, method: str) -> None:
        if request.method != method:
            raise _RefusedError(405, "Method Not Allowed")
        if (status := self.endpoint_errors.get(endpoint)) is not None:
            raise _RefusedError(status, "simulated error")

    # --- endpoints ----------------------------------------------------------------------

    def _measurement_data(self, body: JsonValue) -> web.Response:
        if not isinstance(body, dict) or body.get("measurement") not in MEASUREMENTS:
            raise _RefusedError(
                400, "measurement must be ct_response, evse_request or evse_response"
            )
        measurement = str(body["measurement"])
        window = body.get("time_filter")
        bounds = [_number(bound) for bound in window] if isinstance(window, list) else []
        if len(bounds) != 2 or bounds[0] is None or bounds[1] is None:
            raise _RefusedError(400, "time_filter must be [start, stop] in epoch seconds")
        start, stop = bounds[0], bounds[1]
        if measurement in self.measurement_answers:
            return web.json_response({"data": self.measurement_answers[measurement]})
        partial = self.partial_window_s is not None and stop - start > self.partial_window_s
        if partial and self.partial_window_s is not None:
            stop = start + self.partial_window_s
        rows = [
            self._overridden(measurement, row)
            for row in self._rows[measurement]
            if start <= _row_time(row) < stop
        ]
        return web.json_response(answer(measurement, rows, partial=partial))

    def _overridden(self, measurement: str, row: dict[str, JsonValue]) -> dict[str, JsonValue]:
        key = (measurement, int(str(row["acc_id"])), int(str(row["acs_id"])))
        overrides = self.row_overrides.get(key)
        return {**row, **overrides} if overrides else row

    def _get_signal(self, site: Site, body: JsonValue) -> JsonValue:
        name = body.get("name") if isinstance(body, dict) else None
        if name is not None and not isinstance(name, str):
            raise _RefusedError(400, "name must be a string")
        signals = {
            key: _signal_json(signal)
            for key, signal in site.signals.items()
            if name is None or key == name
        }
        if name is not None and not signals:
            raise _RefusedError(404, "no such external signal")
        bare = self.signal_shape == "bare" or (
            self.signal_shape == "by_request" and name is not None
        )
        if bare and signals:
            return next(iter(signals.values()))
        return dict(signals)

    def _set_signal(self, site: Site, body: JsonValue) -> JsonValue:
        if not isinstance(body, dict):
            raise _RefusedError(400, "the body must be a JSON object")
        name, max_load = body.get("name"), body.get("max_load")
        unit, enabled = body.get("max_load_unit"), body.get("is_enabled")
        if not isinstance(name, str) or not name:
            raise _RefusedError(400, "name is required")
        load = _number(max_load)
        if load is None or load < 0:
            raise _RefusedError(400, "max_load must be a number >= 0")
        load_unit: LoadUnit | None = "kW" if unit == "kW" else "A" if unit == "A" else None
        if load_unit is None or not isinstance(enabled, bool):
            raise _RefusedError(400, "max_load_unit must be kW or A and is_enabled a boolean")
        signal = Signal(name, load, load_unit, enabled)
        site.signals[name] = signal
        site.allocate()
        return _signal_json(signal)

    def _set_real_time_load(self, site: Site, body: JsonValue) -> JsonValue:
        value = body.get("real_time_load_kW") if isinstance(body, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _RefusedError(400, "real_time_load_kW must be an integer")
        site.real_time_load_kw = value
        return {}

    def _set_targets(self, site: Site, body: JsonValue) -> JsonValue:
        targets = body.get("target_peak_power") if isinstance(body, dict) else None
        if not isinstance(targets, dict) or not targets:
            raise _RefusedError(400, "target_peak_power must be an object of months")
        for month, value in targets.items():
            if month not in MONTHS or isinstance(value, bool) or not isinstance(value, int):
                raise _RefusedError(400, "months are Jan..Dec with integer kW")
        for month, value in targets.items():
            assert isinstance(value, int)
            site.target_peak_kw[month] = value
        return dict(site.target_peak_kw)


# --- helpers --------------------------------------------------------------------------------


def _site(acc_id: int, stations: int, voltage_v: float) -> Site:
    site = Site(acc_id, voltage_v=voltage_v)
    site.stations = {acs_id: Station(acs_id) for acs_id in range(1, stations + 1)}
    # The document's example signal: 21.616 kW, enabled.
    site.signals[DEFAULT_SIGNAL_NAME] = Signal(DEFAULT_SIGNAL_NAME, 21.616, "kW", True)
    return site


def _signal_json(signal: Signal) -> dict[str, JsonValue]:
    return {
        "is_enabled": signal.is_enabled,
        "max_load": signal.max_load,
        "max_load_unit": signal.max_load_unit,
        "name": signal.name,
    }


def _number(value: object) -> float | None:
    """A JSON number (not a bool) as float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _row_time(row: dict[str, JsonValue]) -> float:
    stamp = row["time"]
    assert isinstance(stamp, int | float)
    return float(stamp)


# --- command line ---------------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("powerflex (PowerFlex EV-charging cloud)")
    group.add_argument(
        "--powerflex-port",
        type=int,
        default=DEFAULT_PORT,
        metavar="PORT",
        help="PowerFlex simulator port, plain http (the real service is https on 9443; "
        "default: %(default)s)",
    )
    group.add_argument(
        "--powerflex-site",
        type=int,
        default=3,
        metavar="ACC_ID",
        help="the site (acc_id) to simulate; a second site acc_id+1 with 2 stations is added "
        "so that clients must filter (default: %(default)s)",
    )
    group.add_argument(
        "--powerflex-stations",
        type=int,
        default=4,
        metavar="N",
        help="charging stations at the site (default: %(default)s)",
    )
    group.add_argument(
        "--powerflex-power-unit",
        choices=("mW", "kW", "W"),
        default="mW",
        help="unit of ct_response.power (the document says kW, live clients see mW; "
        "default: %(default)s)",
    )
    group.add_argument(
        "--powerflex-username",
        default=DEFAULT_USERNAME,
        help="login user name (default: %(default)s)",
    )
    group.add_argument(
        "--powerflex-password",
        default=DEFAULT_PASSWORD,
        help="login password (default: %(default)s)",
    )
    group.add_argument(
        "--powerflex-signal-shape",
        choices=("by_request", "keyed", "bare"),
        default="by_request",
        help="get_external_signal answer: bare when a name is sent, keyed by name otherwise "
        "(by_request), or always one shape (default: %(default)s)",
    )
    group.add_argument(
        "--powerflex-token-lifetime",
        type=float,
        default=TOKEN_LIFETIME_S,
        metavar="SECONDS",
        help="lifetime of a login token (default: %(default)s, one day as the service)",
    )


async def _launch(args: argparse.Namespace) -> RunningSimulator:
    site = args.powerflex_site
    simulator = PowerFlexSimulator(
        sites={site: max(args.powerflex_stations, 0), site + 1: 2},
        username=args.powerflex_username,
        password=args.powerflex_password,
        power_unit=args.powerflex_power_unit,
        signal_shape=args.powerflex_signal_shape,
        token_lifetime_s=args.powerflex_token_lifetime,
    )
    await simulator.start(args.host, args.powerflex_port)
    summary = (
        f"powerflex: {simulator.url}  login {simulator.username} / {simulator.password}"
        f"  site {site} ({args.powerflex_stations} stations) and site {site + 1}"
        f"  power in {simulator.power_unit}"
    )
    return RunningSimulator(summary=summary, stop=simulator.stop)


CLI: Final = SimulatorCli(name="powerflex", add_arguments=_add_arguments, launch=_launch)
