"""FENECON FEMS cloud client: the OpenEMS backend's JSON-RPC over HTTPS.

`fems-openems-api-notes.md` §3 is the reference; where the vendor document (§2.1 of the
external interfaces) disagrees, the notes win. In short:

- One `POST` per JSON-RPC request, HTTP Basic with the portal login on every request
  (the backend keeps no session and never challenges).
- `getEdgesStatus` needs `edgeIds`; there is no "list my edges". An id the account may not
  see fails the whole request (1002/1005).
- `edgeRpc` wraps the inner response in `result.payload`; unwrap it and check its `error`.
- Errors come in three shapes: HTTP 400 with code 1 and the original text in `message`
  (the cloud REST transport loses the named code), HTTP 200 with the named code, and
  `result.payload.error` of an `edgeRpc`. All three map to the same exceptions here.
  An unauthenticated request gets a Jetty HTTP 500 page instead of JSON-RPC.
- The cloud is shared: after a 429, a 5xx or a rate-limit error the client sends nothing
  for a growing back-off window and fails fast instead.

Exception texts are fixed strings and stable reason ids, never backend text (which can
echo request data) and never credentials.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
import uuid
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final, TypedDict

import aiohttp
from yarl import URL

from .errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiDeviceError,
    ApiResponseError,
    EnergyFlexApiError,
)
from .fems import ESS_ID, FemsSnapshot, as_text, snapshot_from_channels
from .http import async_request
from .values import as_number, parse_json

_LOGGER = logging.getLogger(__name__)

DEFAULT_URL: Final = "https://fenecon.de/fems/rest/jsonrpc"

FIX_ACTIVE_POWER_FACTORY: Final = "Controller.Ess.FixActivePower"
MODE_MANUAL_ON: Final = "MANUAL_ON"
MODE_MANUAL_OFF: Final = "MANUAL_OFF"

# Every channel one poll needs. Unknown channels come back as null, so asking for
# `ess0/...` on an edge whose ESS has another id costs nothing.
POLL_CHANNELS: Final = (
    "_sum/State",
    "_sum/EssSoc",
    "_sum/EssDischargePower",
    "_sum/EssCapacity",
    "_sum/GridActivePower",
    "_sum/GridMode",
    "_sum/ProductionActivePower",
    "_sum/ConsumptionActivePower",
    "_sum/EssDcChargeEnergy",
    "_sum/EssDcDischargeEnergy",
    "_sum/GridBuyActiveEnergy",
    "_sum/GridSellActiveEnergy",
    "_sum/ProductionActiveEnergy",
    "_sum/ConsumptionActiveEnergy",
    "_meta/Version",
    "_host/Hostname",
    f"{ESS_ID}/AllowedChargePower",
    f"{ESS_ID}/AllowedDischargePower",
    "_sum/EssMaxApparentPower",
)

# The backend's dummy id for errors raised before the request was read (notes §3.15).
ZERO_UUID: Final = "00000000-0000-0000-0000-000000000000"

_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)
# History and exports are computed by the backend and can take a while.
_HISTORY_TIMEOUT: Final = aiohttp.ClientTimeout(total=120)
# A poll answer is a few KB per edge; history of months at fine resolution and a
# base64 XLSX are far larger, but still bounded.
_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
_MAX_HISTORY_BODY_BYTES: Final = 32 * 1024 * 1024

BACKOFF_INITIAL_S: Final = 10.0
BACKOFF_MAX_S: Final = 600.0


class FemsCloudErrorReason(StrEnum):
    """Stable ids of `ApiDeviceError.reason` raised by this client (translation keys)."""

    EDGE_NOT_CONNECTED = "edge_not_connected"
    ROLE_DENIED = "role_denied"
    UNKNOWN_COMPONENT = "unknown_component"
    RATE_LIMITED = "rate_limited"
    CONFIG_REJECTED = "config_rejected"
    INVALID_CHANNEL = "invalid_channel"
    UNKNOWN_METHOD = "unknown_method"
    NO_DATA = "no_data"
    INVALID_REQUEST = "invalid_request"
    BACKEND_ERROR = "backend_error"


# `ApiAuthError` carries this id as its text.
AUTH_FAILED: Final = "auth_failed"


class ResolutionUnit(StrEnum):
    """Java `ChronoUnit` names the backend accepts for a history resolution."""

    MINUTES = "MINUTES"
    HOURS = "HOURS"
    DAYS = "DAYS"
    MONTHS = "MONTHS"


@dataclass(frozen=True, slots=True)
class FemsCloudResolution:
    """A history resolution, e.g. 15 MINUTES; always sent (the automatic one has quirks)."""

    value: int
    unit: ResolutionUnit

    def __post_init__(self) -> None:
        """Refuse resolutions the backend would misread."""
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 1:
            raise ValueError("resolution value must be a positive integer")

    def to_json(self) -> dict[str, Any]:
        """The wire form `{"value": 15, "unit": "MINUTES"}`."""
        return {"value": self.value, "unit": self.unit.value}


class ComponentProperty(TypedDict):
    """One `{"name", "value"}` entry of a component configuration change."""

    name: str
    value: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class FemsCloudEdgeState:
    """One edge in one poll. An offline edge's snapshot is the backend's stale cache."""

    edge_id: str
    online: bool
    snapshot: FemsSnapshot


@dataclass(frozen=True, slots=True)
class FemsCloudValidation:
    """Which edges the account can see (with their online flag) and which it cannot."""

    online_by_edge: Mapping[str, bool]
    not_visible: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FemsCloudTimeseries:
    """Aligned history series: one value (or `None` for a gap) per timestamp and channel."""

    timestamps: tuple[datetime, ...]
    data: Mapping[str, tuple[float | None, ...]]


@dataclass(frozen=True, slots=True)
class FemsComponent:
    """One component of an edge configuration (`getEdgeConfig`)."""

    component_id: str
    alias: str
    factory_id: str
    properties: Mapping[str, Any]

    @property
    def enabled(self) -> bool:
        """OpenEMS components are enabled unless the property says otherwise."""
        return self.properties.get("enabled", True) is not False


@dataclass(frozen=True, slots=True)
class FemsFactory:
    """One factory (component type) listed in an edge configuration."""

    factory_id: str
    name: str
    nature_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FemsEdgeConfig:
    """An edge configuration; `raw` is the backend's result as it came (for actions)."""

    components: Mapping[str, FemsComponent]
    factories: Mapping[str, FemsFactory]
    raw: Mapping[str, Any] = field(repr=False)

    def components_of_factory(self, factory_id: str) -> list[FemsComponent]:
        """Components made by `factory_id`, ordered by component id."""
        return sorted(
            (c for c in self.components.values() if c.factory_id == factory_id),
            key=lambda component: component.component_id,
        )


@dataclass(frozen=True, slots=True)
class FixActivePowerController:
    """A `Controller.Ess.FixActivePower`: the cloud's way to hold a static setpoint."""

    component_id: str
    ess_id: str | None
    enabled: bool
    mode: str | None
    power: float | None

    @property
    def active(self) -> bool:
        """Whether the controller currently holds its `power` (mode MANUAL_ON)."""
        return self.enabled and self.mode == MODE_MANUAL_ON


def find_fix_active_power(config: FemsEdgeConfig) -> FixActivePowerController | None:
    """The edge's fix-active-power controller, an enabled one first; `None` if it has none."""
    candidates = config.components_of_factory(FIX_ACTIVE_POWER_FACTORY)
    if not candidates:
        return None
    component = next((c for c in candidates if c.enabled), candidates[0])
    properties = component.properties
    return FixActivePowerController(
        component_id=component.component_id,
        ess_id=as_text(properties.get("ess.id")),
        enabled=component.enabled,
        mode=as_text(properties.get("mode")),
        power=as_number(properties.get("power")),
    )


@dataclass(slots=True)
class _Backoff:
    """Refuse to send for a window after an overload answer; the window doubles each time.

    While the window is open, `check` raises a fresh error of the kind that opened it.
    """

    clock: Callable[[], float]
    initial_s: float
    max_s: float
    failures: int = 0
    until: float = 0.0
    make_error: Callable[[], EnergyFlexApiError] | None = None

    def remaining_s(self) -> float:
        return max(self.until - self.clock(), 0.0)

    def check(self) -> None:
        if self.make_error is not None and self.clock() < self.until:
            raise self.make_error()

    def open(self, make_error: Callable[[], EnergyFlexApiError]) -> None:
        window = min(self.initial_s * 2**self.failures, self.max_s)
        self.failures += 1
        self.until = self.clock() + window
        self.make_error = make_error

    def reset(self) -> None:
        self.failures = 0
        self.until = 0.0
        self.make_error = None


class FemsCloudClient:
    """One FENECON cloud account: polls and controls the edges it can see."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        username: str,
        password: str,
        *,
        url: str = DEFAULT_URL,
        clock: Callable[[], float] = time.monotonic,
        backoff_initial_s: float = BACKOFF_INITIAL_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ) -> None:
        """Use the caller's session (never closed here) and a monotonic `clock`.

        Credentials go in a header on every request, so a plain-HTTP URL is refused
        unless it points at this machine (the simulators).
        """
        parsed = URL(url)
        if parsed.scheme != "https" and not (
            parsed.scheme == "http" and parsed.host in {"127.0.0.1", "::1", "localhost"}
        ):
            raise ValueError("the FEMS cloud URL must use https")
        if parsed.user is not None or parsed.password is not None:
            raise ValueError("credentials do not belong in the URL")
        self._session = session
        self._url = parsed
        # The backend decodes the credentials as UTF-8 and trims them itself.
        self._auth = aiohttp.encode_basic_auth(username, password, encoding="utf-8")
        self._backoff = _Backoff(clock, backoff_initial_s, backoff_max_s)

    def __repr__(self) -> str:
        """Show where the client talks to, never its credentials."""
        return f"FemsCloudClient(url={str(self._url)!r})"

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint."""
        return str(self._url)

    @property
    def backoff_remaining_s(self) -> float:
        """Seconds until the client sends again after an overload answer (0 = now)."""
        return self._backoff.remaining_s()

    # --- polling ----------------------------------------------------------------------

    async def async_fetch(self, edge_ids: Sequence[str]) -> dict[str, FemsCloudEdgeState]:
        """Poll every edge with exactly two requests: status, then channel values."""
        ids = _unique_ids(edge_ids)
        if not ids:
            return {}
        online = await self.get_edges_status(ids)
        values = await self.get_edges_channels_values(ids, POLL_CHANNELS)
        return {
            edge_id: FemsCloudEdgeState(
                edge_id=edge_id,
                # An edge without metadata is left out of the status answer.
                online=online.get(edge_id, False),
                snapshot=snapshot_from_channels(values.get(edge_id, {})),
            )
            for edge_id in ids
        }

    async def async_validate(self, edge_ids: Sequence[str]) -> FemsCloudValidation:
        """Check the login and which edge ids the account can see (for a config flow).

        Raises `ApiAuthError` for bad credentials. An id without a role fails the whole
        `getEdgesStatus` (1002/1005), so the failing ids are found by halving the list:
        a few requests, not one per id.
        """
        ids = _unique_ids(edge_ids)
        if not ids:
            raise ValueError("no edge ids")
        online, denied = await self._status_splitting_denials(ids)
        # An id that passes the role check but has no metadata is simply left out.
        not_visible = tuple(
            edge_id for edge_id in ids if edge_id in denied or edge_id not in online
        )
        return FemsCloudValidation(
            online_by_edge={edge_id: online[edge_id] for edge_id in ids if edge_id in online},
            not_visible=not_visible,
        )

    async def _status_splitting_denials(self, ids: list[str]) -> tuple[dict[str, bool], set[str]]:
        try:
            return await self.get_edges_status(ids), set()
        except ApiDeviceError as err:
            if err.reason != FemsCloudErrorReason.ROLE_DENIED:
                raise
            if len(ids) == 1:
                return {}, set(ids)
        middle = len(ids) // 2
        online_a, denied_a = await self._status_splitting_denials(ids[:middle])
        online_b, denied_b = await self._status_splitting_denials(ids[middle:])
        return online_a | online_b, denied_a | denied_b

    # --- backend methods --------------------------------------------------------------

    async def get_edges_status(self, edge_ids: Sequence[str]) -> dict[str, bool]:
        """`getEdgesStatus`: edge id → online, for the ids that have metadata."""
        result = await self._call("getEdgesStatus", {"edgeIds": _unique_ids(edge_ids)})
        if not isinstance(result, dict):
            raise ApiResponseError("edge status is not an object")
        online: dict[str, bool] = {}
        for edge_id, status in result.items():
            if not isinstance(status, dict) or not isinstance(status.get("online"), bool):
                raise ApiResponseError("edge status without online flag")
            online[edge_id] = status["online"]
        return online

    async def get_edges_channels_values(
        self, edge_ids: Sequence[str], channels: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """`getEdgesChannelsValues` for all edges in one request: edge → channel → value.

        Values are raw (number, string or `None`); an edge the backend answers with null
        (unknown, or offline on some backends) gets `None` for every channel.
        """
        for channel in channels:
            _check_channel_address(channel)
        params = {"ids": _unique_ids(edge_ids), "channels": list(channels)}
        result = await self._call("getEdgesChannelsValues", params)
        if not isinstance(result, dict):
            raise ApiResponseError("channel values are not an object")
        values: dict[str, dict[str, Any]] = {}
        for edge_id, edge_values in result.items():
            if edge_values is None:
                values[edge_id] = dict.fromkeys(channels)
            elif isinstance(edge_values, dict):
                values[edge_id] = {channel: edge_values.get(channel) for channel in channels}
            else:
                raise ApiResponseError("channel values of an edge are not an object")
        return values

    async def edge_rpc(
        self,
        edge_id: str,
        inner_request: Mapping[str, Any],
        *,
        timeout: aiohttp.ClientTimeout = _TIMEOUT,  # noqa: ASYNC109 - per request, like aiohttp
        max_body_bytes: int = _MAX_BODY_BYTES,
    ) -> Any:
        """`edgeRpc`: send `inner_request` (`method`, `params`) to one edge; its result.

        The backend wraps the edge's whole JSON-RPC response in `result.payload`.
        """
        method = inner_request.get("method")
        if not isinstance(method, str) or not isinstance(inner_request.get("params"), dict):
            raise ValueError("an edge request needs a method and params")
        inner_id = str(uuid.uuid4())
        payload = {"jsonrpc": "2.0", "id": inner_id, **inner_request}
        payload["id"] = inner_id  # our own id, so the echo can be checked
        result = await self._call(
            "edgeRpc",
            {"edgeId": edge_id, "payload": payload},
            timeout=timeout,
            max_body_bytes=max_body_bytes,
            detail=method,
        )
        inner = result.get("payload") if isinstance(result, dict) else None
        if not isinstance(inner, dict):
            raise ApiResponseError("edge answer without payload")
        if "id" in inner and inner["id"] != inner_id:
            raise ApiResponseError("edge answer id does not match the request")
        if "error" in inner:
            raise self._error(inner["error"])
        if "result" not in inner:
            raise ApiResponseError("edge answer without result")
        return inner["result"]

    async def query_historic_timeseries_data(
        self,
        edge_id: str,
        from_date: date,
        to_date: date,
        *,
        channels: Sequence[str],
        resolution: FemsCloudResolution,
        timezone: str,
    ) -> FemsCloudTimeseries:
        """Channel values per period from `from_date` 00:00 to the end of `to_date`."""
        params = _history_params(from_date, to_date, timezone, channels)
        params["resolution"] = resolution.to_json()
        result = await self._history("queryHistoricTimeseriesData", edge_id, params)
        return _timeseries(result, channels)

    async def query_historic_timeseries_energy(
        self,
        edge_id: str,
        from_date: date,
        to_date: date,
        *,
        channels: Sequence[str],
        timezone: str,
    ) -> dict[str, float | None]:
        """Energy over the whole range per cumulative channel (Wh; `None` = unknown)."""
        params = _history_params(from_date, to_date, timezone, channels)
        result = await self._history("queryHistoricTimeseriesEnergy", edge_id, params)
        data = result.get("data") if isinstance(result, dict) else None
        if not isinstance(data, dict):
            raise ApiResponseError("energy answer without data")
        return {channel: as_number(data.get(channel)) for channel in channels}

    async def query_historic_timeseries_energy_per_period(
        self,
        edge_id: str,
        from_date: date,
        to_date: date,
        *,
        channels: Sequence[str],
        resolution: FemsCloudResolution,
        timezone: str,
    ) -> FemsCloudTimeseries:
        """Energy (Wh) per period of `resolution` for each cumulative channel."""
        params = _history_params(from_date, to_date, timezone, channels)
        params["resolution"] = resolution.to_json()
        result = await self._history("queryHistoricTimeseriesEnergyPerPeriod", edge_id, params)
        return _timeseries(result, channels)

    async def query_historic_timeseries_export_xlsx(
        self, edge_id: str, from_date: date, to_date: date, timezone: str
    ) -> bytes:
        """The backend's Excel export of the range (a fixed channel set), as XLSX bytes."""
        params = _history_params(from_date, to_date, timezone, None)
        # The method name really is spelled "Xlxs" (notes §3.9).
        result = await self._history("queryHistoricTimeseriesExportXlxs", edge_id, params)
        encoded = result.get("payload") if isinstance(result, dict) else None
        if not isinstance(encoded, str):
            raise ApiResponseError("export answer without payload")
        try:
            content = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ApiResponseError("export is not base64") from None
        if not content.startswith(b"PK\x03\x04"):  # an XLSX file is a zip archive
            raise ApiResponseError("export is not an XLSX file")
        return content

    async def get_edge_config(self, edge_id: str) -> FemsEdgeConfig:
        """`getEdgeConfig`: the edge's components (keyed by id) and their factories."""
        result = await self.edge_rpc(edge_id, {"method": "getEdgeConfig", "params": {}})
        return _edge_config(result)

    async def create_component_config(
        self, edge_id: str, factory_pid: str, properties: Sequence[ComponentProperty]
    ) -> None:
        """`createComponentConfig` (the edge requires INSTALLER or more)."""
        params = {"factoryPid": factory_pid, "properties": _properties(properties)}
        await self.edge_rpc(edge_id, {"method": "createComponentConfig", "params": params})

    async def update_component_config(
        self, edge_id: str, component_id: str, properties: Sequence[ComponentProperty]
    ) -> None:
        """`updateComponentConfig` (OWNER or more); a `None` value removes a property."""
        params = {"componentId": component_id, "properties": _properties(properties)}
        await self.edge_rpc(edge_id, {"method": "updateComponentConfig", "params": params})

    async def delete_component_config(self, edge_id: str, component_id: str) -> None:
        """`deleteComponentConfig` (INSTALLER or more)."""
        params = {"componentId": component_id}
        await self.edge_rpc(edge_id, {"method": "deleteComponentConfig", "params": params})

    async def set_channel_value(
        self, edge_id: str, component_id: str, channel_id: str, value: Any
    ) -> None:
        """`setChannelValue` (ADMIN on the edge; customer accounts get `role_denied`)."""
        params = {"componentId": component_id, "channelId": channel_id, "value": value}
        await self.edge_rpc(edge_id, {"method": "setChannelValue", "params": params})

    async def component_json_api(
        self,
        edge_id: str,
        component_id: str,
        method: str,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """`componentJsonApi`: call `method` on one component of the edge; its result."""
        payload: dict[str, Any] = {"method": method, "params": dict(params or {})}
        request = {"componentId": component_id, "payload": payload}
        return await self.edge_rpc(edge_id, {"method": "componentJsonApi", "params": request})

    # --- control ----------------------------------------------------------------------

    async def async_find_fix_active_power(self, edge_id: str) -> FixActivePowerController | None:
        """The edge's `Controller.Ess.FixActivePower`, or `None` (then it cannot be controlled)."""
        return find_fix_active_power(await self.get_edge_config(edge_id))

    async def async_set_fix_active_power(
        self, edge_id: str, component_id: str, power_w: float
    ) -> None:
        """Hold `power_w` (W, + discharge / − charge, as in Home Assistant) until released.

        The setting is persistent on the edge: it has no timeout, release it explicitly.
        """
        if isinstance(power_w, bool) or not math.isfinite(power_w):
            raise ValueError("power must be a finite number")
        properties: list[ComponentProperty] = [
            {"name": "mode", "value": MODE_MANUAL_ON},
            {"name": "power", "value": round(power_w)},
        ]
        await self.update_component_config(edge_id, component_id, properties)

    async def async_release_fix_active_power(self, edge_id: str, component_id: str) -> None:
        """Hand the battery back to the edge's own logic (mode MANUAL_OFF)."""
        properties: list[ComponentProperty] = [{"name": "mode", "value": MODE_MANUAL_OFF}]
        await self.update_component_config(edge_id, component_id, properties)

    # --- transport --------------------------------------------------------------------

    async def _history(self, method: str, edge_id: str, params: dict[str, Any]) -> Any:
        return await self.edge_rpc(
            edge_id,
            {"method": method, "params": params},
            timeout=_HISTORY_TIMEOUT,
            max_body_bytes=_MAX_HISTORY_BODY_BYTES,
        )

    async def _call(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        timeout: aiohttp.ClientTimeout = _TIMEOUT,  # noqa: ASYNC109 - per request, like aiohttp
        max_body_bytes: int = _MAX_BODY_BYTES,
        detail: str | None = None,
    ) -> Any:
        """Send one JSON-RPC request and return its `result`, or raise a mapped error."""
        self._backoff.check()
        request_id = str(uuid.uuid4())
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        _LOGGER.debug("FEMS cloud request %s%s", method, f" ({detail})" if detail else "")
        answer = await async_request(
            self._session,
            "POST",
            self._url,
            json=body,
            timeout=timeout,
            headers={"Authorization": self._auth},
            max_body_bytes=max_body_bytes,
        )
        status = answer.status
        if status == 429:
            raise self._back_off(_rate_limited)
        if status in (401, 403) or (
            status == 500 and b"authentication failed" in answer.body.lower()
        ):
            # Jetty answers a failed login with an error page (notes §3.15).
            raise self._back_off(_auth_failed)
        if status >= 500:
            raise self._back_off(lambda: ApiConnectionError(f"cloud answered HTTP {status}"))
        if status not in (200, 400):
            raise ApiConnectionError(f"cloud answered HTTP {status}")
        # The backend read the request: whatever it says, it is not overloaded.
        self._backoff.reset()
        message = _parse_json(answer.body)
        if not isinstance(message, dict):
            raise ApiResponseError("answer is not a JSON-RPC message")
        answer_id = message.get("id")
        if "error" in message:
            # Errors raised before the request was read carry the dummy id.
            if answer_id not in (request_id, ZERO_UUID):
                raise ApiResponseError("answer id does not match the request")
            raise self._error(message["error"])
        if status != 200 or "result" not in message:
            raise ApiResponseError("answer is not a JSON-RPC response")
        if answer_id != request_id:
            raise ApiResponseError("answer id does not match the request")
        return message["result"]

    def _back_off(self, make_error: Callable[[], EnergyFlexApiError]) -> EnergyFlexApiError:
        self._backoff.open(make_error)
        _LOGGER.debug("FEMS cloud: backing off for %.0f s", self._backoff.remaining_s())
        return make_error()

    def _error(self, error: object) -> EnergyFlexApiError:
        """Map a JSON-RPC error object; overload errors open the back-off window."""
        mapped, overload = _map_error(error)
        if overload:
            return self._back_off(lambda: _map_error(error)[0])
        return mapped


# --- error mapping --------------------------------------------------------------------

_Reason = FemsCloudErrorReason

# Named OpenEMS codes (notes §3.14) → reason. Code 1 (GENERIC) is read from its text.
_REASON_BY_CODE: Final[Mapping[int, FemsCloudErrorReason]] = {
    1000: _Reason.INVALID_CHANNEL,
    1002: _Reason.ROLE_DENIED,
    1005: _Reason.ROLE_DENIED,
    2000: _Reason.UNKNOWN_COMPONENT,
    2002: _Reason.CONFIG_REJECTED,
    2003: _Reason.CONFIG_REJECTED,
    2004: _Reason.CONFIG_REJECTED,
    2005: _Reason.INVALID_REQUEST,
    3000: _Reason.EDGE_NOT_CONNECTED,
    4001: _Reason.UNKNOWN_METHOD,
    4005: _Reason.RATE_LIMITED,
}
_AUTH_CODES: Final = frozenset({1001, 1003, 1004})
_SERVICE_UNAVAILABLE: Final = 1006
_GENERIC: Final = 1

# Over the cloud REST transport every error arrives as code 1 with the original text;
# these (lower-case) fragments of the OpenEMS templates recover what it was.
_TEXT_MARKERS: Final[tuple[tuple[str, int], ...]] = (
    ("authentication failed", 1003),
    ("user is not authenticated", 1001),
    ("is not connected", 3000),
    ("role for user", 1005),  # "… is denied. Role for User [%s] is not defined"
    ("access to this resource", 1002),
    ("too many requests", 4005),
    ("currently not available", _SERVICE_UNAVAILABLE),
    ("is not a valid channel address", 1000),
    # Before the component markers: these texts can quote a component's error.
    ("unable to apply configuration", 2002),
    ("unable to create configuration", 2003),
    ("unable to delete configuration", 2004),
    ("unable to find openems component", 2000),
    ("component with id", 2000),  # "Component with id 'x' was not found" (componentJsonApi)
    ("unhandled json-rpc method", 4001),
    ("is not defined!", 4001),  # 'Endpoint with method "x" is not defined!' (edge side)
    ("is not a member of", 5000),
    ("not a valid request", 4002),
)
_NO_DATA_MARKERS: Final = ("none of the requested channels",)


def _map_error(error: object) -> tuple[EnergyFlexApiError, bool]:
    """The exception for a JSON-RPC error object, and whether it means "slow down"."""
    if not isinstance(error, dict) or isinstance(code := error.get("code"), bool):
        return ApiResponseError("malformed JSON-RPC error"), False
    if not isinstance(code, int):
        return ApiResponseError("malformed JSON-RPC error"), False
    message = error.get("message")
    text = message.lower() if isinstance(message, str) else ""
    if code == _GENERIC:
        if any(marker in text for marker in _NO_DATA_MARKERS):
            return ApiDeviceError(_Reason.NO_DATA, _GENERIC), False
        code = next((named for marker, named in _TEXT_MARKERS if marker in text), _GENERIC)
    if code in _AUTH_CODES:
        return ApiAuthError(AUTH_FAILED), False
    if code == _SERVICE_UNAVAILABLE:
        return ApiConnectionError("service_unavailable"), True
    reason = _REASON_BY_CODE.get(code)
    if reason is None:
        reason = _Reason.INVALID_REQUEST if 4000 <= code < 6000 else _Reason.BACKEND_ERROR
    return ApiDeviceError(reason, code), reason is _Reason.RATE_LIMITED


def _rate_limited() -> EnergyFlexApiError:
    return ApiDeviceError(_Reason.RATE_LIMITED)


def _auth_failed() -> EnergyFlexApiError:
    return ApiAuthError(AUTH_FAILED)


# --- parsing --------------------------------------------------------------------------


def _parse_json(body: bytes) -> Any:
    # NaN and Infinity spoil one channel value (rejected per value), not the whole answer.
    try:
        return parse_json(body)
    except ValueError, UnicodeDecodeError:
        # The body may echo request data; keep it out of the exception chain.
        raise ApiResponseError("answer is not JSON") from None


def _unique_ids(edge_ids: Sequence[str]) -> list[str]:
    """Edge ids once each, in order; a bare string is refused (it is not a list of ids)."""
    if isinstance(edge_ids, str):
        raise TypeError("edge_ids must be a sequence of edge ids")
    ids: list[str] = []
    for edge_id in edge_ids:
        if not isinstance(edge_id, str) or not edge_id.strip():
            raise ValueError("an edge id must be a non-empty string")
        if edge_id.strip() not in ids:
            ids.append(edge_id.strip())
    return ids


def _check_channel_address(channel: str) -> None:
    component, sep, channel_id = channel.partition("/")
    if not sep or not component or not channel_id or "/" in channel_id:
        raise ValueError("a channel address is component/channel")


def _history_params(
    from_date: date, to_date: date, timezone: str, channels: Sequence[str] | None
) -> dict[str, Any]:
    """Common history params.

    The time zone is checked here because the backend silently turns an unknown one into GMT.
    """
    if isinstance(from_date, datetime) or isinstance(to_date, datetime):
        raise TypeError("history ranges are calendar dates")
    if to_date < from_date:
        raise ValueError("to_date is before from_date")
    try:
        zoneinfo.ZoneInfo(timezone)
    except zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError:
        raise ValueError("timezone must be an IANA time zone id") from None
    params: dict[str, Any] = {
        "timezone": timezone,
        "fromDate": from_date.isoformat(),
        "toDate": to_date.isoformat(),
    }
    if channels is not None:
        for channel in channels:
            _check_channel_address(channel)
        params["channels"] = list(channels)
    return params


def _timeseries(result: Any, channels: Sequence[str]) -> FemsCloudTimeseries:
    if not isinstance(result, dict):
        raise ApiResponseError("history answer is not an object")
    raw_timestamps, data = result.get("timestamps"), result.get("data")
    if not isinstance(raw_timestamps, list) or not isinstance(data, dict):
        raise ApiResponseError("history answer without timestamps or data")
    timestamps = tuple(_parse_instant(raw) for raw in raw_timestamps)
    series: dict[str, tuple[float | None, ...]] = {}
    for channel in channels:
        values = data.get(channel)
        if values is None:
            series[channel] = (None,) * len(timestamps)
            continue
        if not isinstance(values, list) or len(values) != len(timestamps):
            raise ApiResponseError("history series is not aligned with its timestamps")
        series[channel] = tuple(as_number(value) for value in values)
    return FemsCloudTimeseries(timestamps=timestamps, data=series)


def _parse_instant(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise ApiResponseError("history timestamp is not a string")
    try:
        instant = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiResponseError("history timestamp is not ISO 8601") from None
    if instant.tzinfo is None:
        raise ApiResponseError("history timestamp has no time zone")
    return instant.astimezone(UTC)


def _edge_config(result: Any) -> FemsEdgeConfig:
    if not isinstance(result, dict):
        raise ApiResponseError("edge config is not an object")
    raw_components, raw_factories = result.get("components"), result.get("factories", {})
    if not isinstance(raw_components, dict) or not isinstance(raw_factories, dict):
        raise ApiResponseError("edge config without components")
    components: dict[str, FemsComponent] = {}
    for component_id, raw in raw_components.items():
        if not isinstance(raw, dict) or not isinstance(raw.get("factoryId"), str):
            raise ApiResponseError("edge component without factory")
        properties = raw.get("properties")
        alias = raw.get("alias")
        components[component_id] = FemsComponent(
            component_id=component_id,
            alias=alias if isinstance(alias, str) else component_id,
            factory_id=raw["factoryId"],
            properties=properties if isinstance(properties, dict) else {},
        )
    factories: dict[str, FemsFactory] = {}
    for factory_id, raw in raw_factories.items():
        raw_factory = raw if isinstance(raw, dict) else {}
        natures, name = raw_factory.get("natureIds"), raw_factory.get("name")
        factories[factory_id] = FemsFactory(
            factory_id=factory_id,
            name=name if isinstance(name, str) else "",
            nature_ids=tuple(n for n in natures if isinstance(n, str))
            if isinstance(natures, list)
            else (),
        )
    return FemsEdgeConfig(components=components, factories=factories, raw=result)


def _properties(properties: Sequence[ComponentProperty]) -> list[dict[str, Any]]:
    checked: list[dict[str, Any]] = []
    for prop in properties:
        name = prop.get("name") if isinstance(prop, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ValueError("every property needs a name")
        checked.append({"name": name, "value": prop.get("value")})
    return checked


__all__ = [
    "AUTH_FAILED",
    "DEFAULT_URL",
    "FIX_ACTIVE_POWER_FACTORY",
    "MODE_MANUAL_OFF",
    "MODE_MANUAL_ON",
    "POLL_CHANNELS",
    "ComponentProperty",
    "FemsCloudClient",
    "FemsCloudEdgeState",
    "FemsCloudErrorReason",
    "FemsCloudResolution",
    "FemsCloudTimeseries",
    "FemsCloudValidation",
    "FemsComponent",
    "FemsEdgeConfig",
    "FemsFactory",
    "FixActivePowerController",
    "ResolutionUnit",
    "find_fix_active_power",
]
