"""FENECON FEMS cloud (OpenEMS backend, B2B REST) JSON-RPC simulator (notes §3).

One aiohttp app answers `POST /fems/rest/jsonrpc` (and the plain B2B path `/jsonrpc`):

- HTTP Basic with a portal login on every request; a failed login gets Jetty's HTTP 500
  error page, not JSON-RPC. Other paths answer an empty 200, as the B2B handler does.
- `getEdgesStatus`, `getEdgesChannelsValues` and `edgeRpc`, with roles checked per edge
  (guest < owner < installer < admin). Inside `edgeRpc` the backend itself answers the
  history queries and `getEdgeConfig` (also for offline edges); everything else goes to
  the edge, which must be online and applies its own role guards.
- Errors in the shape of `error_shape`: HTTP 400 with code 1 and the message text (what
  the notes describe for the cloud REST transport), HTTP 200 with the named code (newer
  B2B code), or edge errors inside `result.payload.error`.
- `faults` (latency, HTTP errors, drops, malformed bodies), a request counter, a per-method
  call counter, a request log (method and params, never headers) and a write log.
- `cycle_offline`: edges that drop off the backend and come back on a period of the
  simulator's clock (a flaky internet connection), decided at each request.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from aiohttp import web

from ..cli import RunningSimulator, SimulatorCli
from ..faults import FaultInjector, RejectedWrite, WriteLog, WriteRecord, fault_middleware
from ..fems.bodies import parse_object
from ..fems.errors import (
    GENERIC,
    ZERO_UUID,
    FemsError,
    generic_error,
    jetty_error_page,
    json_response,
    jsonrpc_error_response,
    role_denied,
)
from ..jsontypes import JsonScalar, JsonValue
from ..lifecycle import SimulatorLifecycle
from ..stats import RequestCounter, counting_middleware
from . import history
from .accounts import CloudUser, Role, by_username, default_users
from .edge import COMPONENT_MANAGER, SimulatedEdge, parse_properties
from .errors import (
    AUTHENTICATION_FAILED_TEXT,
    Deferred,
    edge_not_connected,
    error_object,
    invalid_channel,
    invalid_message,
    no_member,
    role_undefined,
    too_many_requests,
    unhandled_method,
)

JSONRPC_PATH: Final = "/fems/rest/jsonrpc"
_JSONRPC_PATHS: Final = frozenset({JSONRPC_PATH, "/jsonrpc"})
_MAX_BODY_BYTES: Final = 1024 * 1024
_RATE_WINDOW_S: Final = 60.0

type EdgeQuery = Callable[[history.EdgeHistory, Mapping[str, JsonValue]], JsonValue]

# Answered by the backend from its own time-series data (notes §3.5).
_HISTORY_METHODS: Final[Mapping[str, EdgeQuery]] = {
    "queryHistoricTimeseriesData": history.timeseries_data,
    "queryHistoricTimeseriesEnergy": history.timeseries_energy,
    "queryHistoricTimeseriesEnergyPerPeriod": history.timeseries_energy_per_period,
    "queryHistoricTimeseriesExportXlxs": history.export_xlsx,
}
_WRITE_METHODS: Final = frozenset(
    {"updateComponentConfig", "createComponentConfig", "deleteComponentConfig", "setChannelValue"}
)


class ErrorShape(StrEnum):
    """How errors travel back to the client."""

    # Cloud REST per the notes: HTTP 400, code 1, the (class-prefixed) text as message.
    HTTP400 = "http400"
    # Newer B2B REST code: HTTP 200 with the named code for failures while completing.
    NAMED200 = "named200"
    # Edge-side errors inside `result.payload.error` of the edgeRpc (others as HTTP400).
    EDGE_PAYLOAD = "edge_payload"


@dataclass(frozen=True, slots=True)
class RequestLogEntry:
    """One request as the simulator saw it; headers (credentials) are never kept."""

    timestamp: float
    username: str | None
    http_status: int
    # The envelope as sent (`None` where the client left it out).
    jsonrpc: JsonValue = None
    request_id: JsonValue = None
    method: str | None = None
    params: JsonValue = None
    edge_id: str | None = None
    inner_method: str | None = None


@dataclass(slots=True)
class _Exchange:
    """What is known about a request so far, for its log entry."""

    username: str | None = None
    jsonrpc: JsonValue = None
    request_id: JsonValue = None
    method: str | None = None
    params: JsonValue = None
    edge_id: str | None = None
    inner_method: str | None = None


def default_edges(
    count: int = 2,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[SimulatedEdge]:
    """`fems1001`, `fems1002`, …; the first, third, … have a FixActivePower controller."""
    return [
        SimulatedEdge(
            f"fems{1001 + index}",
            fix_active_power=index % 2 == 0,
            clock=clock,
            wall_clock=wall_clock,
        )
        for index in range(count)
    ]


@dataclass(frozen=True, slots=True)
class OfflineCycle:
    """Edges that are offline for `period_s`, then online for `period_s`, and so on."""

    edge_ids: frozenset[str]
    period_s: float
    started_s: float

    def online_at(self, now: float) -> bool:
        """Offline in the first period from `started_s`, online in the second, ..."""
        return int((now - self.started_s) // self.period_s) % 2 == 1


class FemsCloudSimulator(SimulatorLifecycle):
    """The FEMS cloud's JSON-RPC API over simulated edges and accounts."""

    def __init__(
        self,
        *,
        edges: Iterable[SimulatedEdge] | None = None,
        users: Iterable[CloudUser] | None = None,
        error_shape: ErrorShape = ErrorShape.HTTP400,
        requests_per_minute: int | None = None,
        null_values_when_offline: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        edge_list = (
            list(edges) if edges is not None else default_edges(clock=clock, wall_clock=wall_clock)
        )
        self.edges: dict[str, SimulatedEdge] = {edge.edge_id: edge for edge in edge_list}
        self.users: dict[str, CloudUser] = by_username(
            users if users is not None else default_users(self.edges)
        )
        self.error_shape = error_shape
        # Per login; beyond it the backend answers 4005 "Too Many Requests".
        self.requests_per_minute = requests_per_minute
        # Some backends answer null instead of the stale cache for an offline edge.
        self.null_values_when_offline = null_values_when_offline
        self.faults = FaultInjector()
        self.requests = RequestCounter()
        self.calls: Counter[str] = Counter()
        self.request_log: list[RequestLogEntry] = []
        self.writes = WriteLog()
        # edgeRpc methods answered with this error instead (e.g. a rate limit on history).
        self.inner_faults: dict[str, FemsError] = {}
        self.host = "127.0.0.1"
        self.port = 0
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._offline_cycle: OfflineCycle | None = None

    # --- public state -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint, as a client configures it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{JSONRPC_PATH}"

    def set_online(self, edge_id: str, online: bool) -> None:
        """Connect or disconnect an edge; its cached values freeze while it is offline.

        An edge in the offline cycle follows the cycle again at the next request.
        """
        self.edges[edge_id].online = online

    def cycle_offline(self, edge_ids: Iterable[str], period_s: float) -> None:
        """Take the edges offline now; they come back after `period_s`, drop off again
        after another `period_s`, and so on (on the simulator's clock)."""
        ids = frozenset(edge_ids)
        if unknown := ids - self.edges.keys():
            raise ValueError(f"unknown edge ids {sorted(unknown)}")
        if not period_s > 0:
            raise ValueError("the period must be positive")
        self._offline_cycle = OfflineCycle(ids, period_s, self._clock())
        self._follow_offline_cycle()

    def _follow_offline_cycle(self) -> None:
        cycle = self._offline_cycle
        if cycle is None:
            return
        online = cycle.online_at(self._clock())
        for edge_id in cycle.edge_ids:
            edge = self.edges[edge_id]
            if edge.online != online:
                edge.online = online

    def reset_counters(self) -> None:
        """Forget requests, calls and the request log (not the write log)."""
        self.requests.reset()
        self.calls.clear()
        self.request_log.clear()

    # --- lifecycle --------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `port` (0 = pick a free one); see `url`."""
        app = web.Application(
            middlewares=[counting_middleware(self.requests), fault_middleware(self.faults)],
            client_max_size=_MAX_BODY_BYTES,
        )
        app.router.add_route("*", "/{tail:.*}", self._handle)
        await self._serve(app, lambda runner: web.TCPSite(runner, host, port))
        self.host, self.port = host, self._bound_port()

    # --- HTTP -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self._follow_offline_cycle()
        exchange = _Exchange()
        user = self._authenticate(request)
        if user is None:
            response = jetty_error_page(request, 500, AUTHENTICATION_FAILED_TEXT)
        elif request.path not in _JSONRPC_PATHS:
            exchange.username = user.username
            response = web.Response(status=200)  # what the B2B handler does
        else:
            exchange.username = user.username
            response = self._jsonrpc(user, request.method, body, exchange)
        self.request_log.append(
            RequestLogEntry(
                timestamp=self._clock(),
                username=exchange.username,
                http_status=response.status,
                jsonrpc=exchange.jsonrpc,
                request_id=exchange.request_id,
                method=exchange.method,
                params=exchange.params,
                edge_id=exchange.edge_id,
                inner_method=exchange.inner_method,
            )
        )
        return response

    def _authenticate(self, request: web.Request) -> CloudUser | None:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except binascii.Error, UnicodeDecodeError:
            return None
        username, sep, password = decoded.partition(":")
        user = self.users.get(username.strip())
        if not sep or user is None:
            return None
        # The backend trims both parts before it checks them.
        if not hmac.compare_digest(user.password.encode(), password.strip().encode()):
            return None
        return user

    def _jsonrpc(
        self, user: CloudUser, http_method: str, body: bytes, exchange: _Exchange
    ) -> web.Response:
        request_id = ZERO_UUID
        try:
            if http_method != "POST":
                raise generic_error(
                    f"Method [{http_method}] is not supported for JSON-RPC endpoint"
                )
            message = parse_object(body)
            exchange.jsonrpc, exchange.request_id = message.get("jsonrpc"), message.get("id")
            method, params = message.get("method"), message.get("params")
            exchange.method = method if isinstance(method, str) else None
            exchange.params = params
            request_id = _request_id(message)
            if not isinstance(method, str) or not isinstance(params, dict):
                raise invalid_message("method and params are required")
            self._check_rate(user)
            self.calls[method] += 1
            result = self._dispatch(user, method, params, exchange)
        except Deferred as failure:
            return self._completion_error(request_id, failure.error)
        except FemsError as err:
            return self._synchronous_error(err)
        return json_response({"jsonrpc": "2.0", "id": request_id, "result": result})

    def _synchronous_error(self, err: FemsError) -> web.Response:
        """Failed before work began: wrapped once more, dummy id, code 1 (notes §3.15)."""
        text = f"Unable to get Response: {err.message}"
        status = 200 if self.error_shape is ErrorShape.NAMED200 else 400
        return jsonrpc_error_response(status, ZERO_UUID, GENERIC, text, [text])

    def _completion_error(self, request_id: str, err: FemsError) -> web.Response:
        """Failed while completing: the request's id; the named code or the exception text."""
        if self.error_shape is ErrorShape.NAMED200:
            body: dict[str, JsonValue] = {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": error_object(err),
            }
            return json_response(body)
        text = str(err)  # ExecutionException.getMessage(): "<class>: <message>"
        return jsonrpc_error_response(400, request_id, GENERIC, text, [text])

    def _check_rate(self, user: CloudUser) -> None:
        if self.requests_per_minute is None:
            return
        now = self._clock()
        recent = self._recent.setdefault(user.username, deque())
        while recent and now - recent[0] >= _RATE_WINDOW_S:
            recent.popleft()
        if len(recent) >= self.requests_per_minute:
            raise too_many_requests()
        recent.append(now)

    # --- backend methods --------------------------------------------------------------

    def _dispatch(
        self, user: CloudUser, method: str, params: dict[str, JsonValue], exchange: _Exchange
    ) -> JsonValue:
        if method == "getEdgesStatus":
            return self._edges_status(user, params)
        if method == "getEdgesChannelsValues":
            return self._channels_values(user, params)
        if method == "edgeRpc":
            return self._edge_rpc(user, params, exchange)
        raise unhandled_method(method)

    def _edge_role(self, user: CloudUser, edge_id: str) -> Role:
        """The user's role on the edge; every role is at least GUEST, which the backend asks."""
        role = user.role_for(edge_id)
        if role is None:
            raise role_undefined(edge_id, user.username)
        return role

    def _edges_status(self, user: CloudUser, params: Mapping[str, JsonValue]) -> JsonValue:
        edge_ids = _strings(params, "edgeIds")
        # One id without a role fails the whole request.
        for edge_id in edge_ids:
            self._edge_role(user, edge_id)
        # An id that passes but has no metadata is left out.
        return {
            edge_id: {"online": self.edges[edge_id].online}
            for edge_id in edge_ids
            if edge_id in self.edges
        }

    def _channels_values(self, user: CloudUser, params: Mapping[str, JsonValue]) -> JsonValue:
        edge_ids = _strings(params, "ids")
        channels = _strings(params, "channels")
        for channel in channels:
            component, sep, channel_id = channel.partition("/")
            if not sep or not component or not channel_id or "/" in channel_id:
                raise invalid_channel(channel)
        for edge_id in edge_ids:
            self._edge_role(user, edge_id)
        result: dict[str, JsonValue] = {}
        for edge_id in edge_ids:
            edge = self.edges.get(edge_id)
            if edge is None:
                result[edge_id] = None
                continue
            edge.refresh()
            stale_as_null = not edge.online and self.null_values_when_offline
            result[edge_id] = {
                channel: None if stale_as_null else edge.cached_value(channel)
                for channel in sorted(channels)
            }
        return result

    def _edge_rpc(
        self, user: CloudUser, params: Mapping[str, JsonValue], exchange: _Exchange
    ) -> JsonValue:
        edge_id = _string(params, "edgeId")
        payload = params.get("payload")
        if not isinstance(payload, dict):
            raise no_member("payload", "params")
        exchange.edge_id = edge_id
        role = self._edge_role(user, edge_id)
        method, inner_params = payload.get("method"), payload.get("params")
        inner_id = payload.get("id", str(uuid.uuid4()))
        if not isinstance(method, str) or not isinstance(inner_params, dict):
            raise invalid_message("payload needs method and params")
        exchange.inner_method = method
        self.calls[f"edgeRpc/{method}"] += 1
        if (fault := self.inner_faults.get(method)) is not None:
            raise fault
        try:
            result = self._edge_request(edge_id, role, method, inner_params)
        except Deferred as failure:
            if failure.from_edge and self.error_shape is ErrorShape.EDGE_PAYLOAD:
                error = error_object(failure.error)
                return {"payload": {"jsonrpc": "2.0", "id": inner_id, "error": error}}
            raise
        return {"payload": {"jsonrpc": "2.0", "id": inner_id, "result": result}}

    def _edge_request(
        self, edge_id: str, role: Role, method: str, params: dict[str, JsonValue]
    ) -> JsonValue:
        edge = self.edges.get(edge_id)
        backend_answer = method in _HISTORY_METHODS or method == "getEdgeConfig"
        if backend_answer:
            if edge is None:
                raise Deferred(generic_error(f"Unable to find Edge [{edge_id}]"))
            try:
                if method == "getEdgeConfig":
                    return edge.config_json()
                return _HISTORY_METHODS[method](edge.history, params)
            except FemsError as err:
                raise Deferred(err) from None
        targets = _write_targets(edge_id, method, params)
        try:
            if edge is None or not edge.online:
                raise Deferred(edge_not_connected(edge_id))
            try:
                result = self._on_edge(edge, role, method, params)
            except FemsError as err:
                raise Deferred(err, from_edge=True) from None
        except Deferred as failure:
            for target, value in targets:
                rejected = RejectedWrite(
                    self._clock(), target, value, role.name.lower(), str(failure.error)
                )
                self.writes.reject(rejected)
            raise
        for target, value in targets:
            self.writes.record(WriteRecord(self._clock(), target, value, role.name.lower()))
        return result

    def _on_edge(
        self, edge: SimulatedEdge, role: Role, method: str, params: dict[str, JsonValue]
    ) -> JsonValue:
        """The edge's own handling, with its role guards (notes §1.8, §3.5)."""
        minimum = {
            "updateComponentConfig": Role.OWNER,
            "createComponentConfig": Role.INSTALLER,
            "deleteComponentConfig": Role.INSTALLER,
            "setChannelValue": Role.ADMIN,
        }.get(method)
        if minimum is not None and role > minimum:
            raise role_denied(method, role.name)
        if method == "updateComponentConfig":
            edge.update_component(_string(params, "componentId"), parse_properties(params))
            return {}
        if method == "createComponentConfig":
            edge.create_component(_string(params, "factoryPid"), parse_properties(params))
            return {}
        if method == "deleteComponentConfig":
            edge.delete_component(_string(params, "componentId"))
            return {}
        if method == "setChannelValue":
            component_id, channel_id = _string(params, "componentId"), _string(params, "channelId")
            edge.set_channel_value(component_id, channel_id, params.get("value"))
            return {}
        if method == "componentJsonApi":
            return _component_json_api(edge, params)
        raise unhandled_method(method)


def _component_json_api(edge: SimulatedEdge, params: Mapping[str, JsonValue]) -> JsonValue:
    component_id = _string(params, "componentId")
    payload = params.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("method"), str):
        raise no_member("payload", "params")
    method = payload["method"]
    inner = payload.get("params")
    inner_params = inner if isinstance(inner, dict) else {}
    if component_id != COMPONENT_MANAGER and component_id not in edge.components:
        raise generic_error(f"Component with id '{component_id}' was not found")
    if component_id == COMPONENT_MANAGER and method == "getChannelsOfComponent":
        return {"channels": edge.channels_of_component(_string(inner_params, "componentId"))}
    raise generic_error(f'Endpoint with method "{method}" is not defined!')


def _write_targets(
    edge_id: str, method: str, params: Mapping[str, JsonValue]
) -> list[tuple[str, JsonScalar]]:
    """What a write request tries to change, for the write log (best effort)."""
    if method not in _WRITE_METHODS:
        return []
    component = params.get("componentId")
    if method == "setChannelValue":
        value = params.get("value")
        scalar = value if not isinstance(value, list | dict) else None
        return [(f"{edge_id}/{component}/{params.get('channelId')}", scalar)]
    if method == "deleteComponentConfig":
        return [(f"{edge_id}/{component}", None)]
    properties = params.get("properties")
    items = properties if isinstance(properties, list) else []
    if method == "createComponentConfig":
        return [
            (f"{edge_id}/{params.get('factoryPid')}", _scalar_or_none(params.get("factoryPid")))
        ]
    return [
        (f"{edge_id}/{component}/{item.get('name')}", _scalar_or_none(item.get("value")))
        for item in items
        if isinstance(item, dict)
    ]


def _scalar_or_none(value: JsonValue) -> JsonScalar:
    return None if isinstance(value, list | dict) else value


def _request_id(message: Mapping[str, JsonValue]) -> str:
    """The request's id, filled in when missing; a given id must be a UUID."""
    if "id" not in message:
        return str(uuid.uuid4())
    raw = message["id"]
    if isinstance(raw, str):
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            pass
    raise invalid_message("id must be a UUID")


def _string(params: Mapping[str, JsonValue], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise no_member(name, "params")
    return value


def _strings(params: Mapping[str, JsonValue], name: str) -> list[str]:
    value = params.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise no_member(name, "params")
    return [item for item in value if isinstance(item, str)]


# --- command line -------------------------------------------------------------------


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fems-cloud-port",
        type=int,
        default=8094,
        metavar="PORT",
        help="port of the FEMS cloud JSON-RPC simulator (default: %(default)s)",
    )
    parser.add_argument(
        "--fems-cloud-edges",
        type=_positive,
        default=2,
        metavar="N",
        help="number of simulated edges fems1001, fems1002, …; the first, third, … have a "
        "FixActivePower controller (default: %(default)s)",
    )
    parser.add_argument(
        "--fems-cloud-offline",
        metavar="IDS",
        help="comma-separated edge ids that start offline (default: none)",
    )
    parser.add_argument(
        "--fems-cloud-offline-cycle",
        type=_non_negative,
        default=0.0,
        metavar="SECONDS",
        help="the --fems-cloud-offline edges come back online after SECONDS, drop off again "
        "after another SECONDS, and so on; 0: they stay offline (default: %(default)s)",
    )
    parser.add_argument(
        "--fems-cloud-error-shape",
        choices=[shape.value for shape in ErrorShape],
        default=ErrorShape.HTTP400.value,
        help="how errors are answered: http400 (code 1 and text), named200 (named codes) or "
        "edge_payload (edge errors in result.payload.error) (default: %(default)s)",
    )


async def _launch(args: argparse.Namespace) -> RunningSimulator:
    edges = default_edges(args.fems_cloud_edges)
    listed = args.fems_cloud_offline or ""
    offline = {edge_id.strip() for edge_id in listed.split(",") if edge_id.strip()}
    unknown = offline - {edge.edge_id for edge in edges}
    if unknown:
        raise SystemExit(f"--fems-cloud-offline: unknown edge ids {sorted(unknown)}")
    cycle_s: float = args.fems_cloud_offline_cycle
    if cycle_s and not offline:
        raise SystemExit("--fems-cloud-offline-cycle needs edges in --fems-cloud-offline")
    for edge in edges:
        edge.online = edge.edge_id not in offline
    simulator = FemsCloudSimulator(edges=edges, error_shape=ErrorShape(args.fems_cloud_error_shape))
    if cycle_s:
        simulator.cycle_offline(offline, cycle_s)
    await simulator.start(args.host, args.fems_cloud_port)
    offline_text = f" offline ({cycle_s:g} s off, {cycle_s:g} s on, ...)" if cycle_s else " offline"
    edge_text = ", ".join(
        f"{edge.edge_id}{' (FixActivePower)' if edge.fix_active_power_id else ''}"
        f"{'' if edge.online else offline_text}"
        for edge in simulator.edges.values()
    )
    logins = " ".join(f"{user.username}:{user.password}" for user in simulator.users.values())
    summary = f"fems_cloud: POST {simulator.url}  edges {edge_text}  logins {logins}"
    return RunningSimulator(summary=summary, stop=simulator.stop)


CLI: Final = SimulatorCli(name="fems_cloud", add_arguments=_add_arguments, launch=_launch)
