"""PowerFlex EV-charging cloud client (`powerflex-api.txt`, `powerflex-api-notes.md`).

`POST /login` gives a JWT that is sent as `Authorization: Bearer` on every call. The token
is cached and renewed before its `exp` claim (decoded without verification, 23 h when it
cannot be read); a 401/403 triggers one new login and one retry. Failed logins back off
exponentially, so rejected credentials or rejected tokens never become a login storm.

Reads are POSTs too (`get_measurement_data` answers InfluxDB 1.x JSON for every site of
the account); only `get_target_peak_power_kW` is a GET. `acc_id` is an integer in URLs and
a zero-padded string in rows, so ids are compared as integers.

The unit of `ct_response.power` is unresolved (kW per the document, mW in live clients):
every row is cross-checked against `mamps_actual × voltage` and a power that cannot be
placed is `None`, never a number off by 10^3 or 10^6.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Literal

import aiohttp
from yarl import URL

from .errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiDeviceError,
    ApiResponseError,
)
from .http import HttpAnswer, async_request
from .values import as_number, parse_json

_LOGGER = logging.getLogger(__name__)

type PowerUnit = Literal["kW", "mW", "W", "unknown"]
type KnownPowerUnit = Literal["kW", "mW", "W"]
type LoadUnit = Literal["kW", "A"]

DEFAULT_PORT: Final = 9443
DEFAULT_SIGNAL_NAME: Final = "DCM_EVSE_Allocation"
# Live clients poll windows of 10-20 s; twice a 30 s poll interval leaves room for late rows.
DEFAULT_WINDOW_S: Final = 60
# The notes: "larger requests may fail"; back-fills go in windows of at most 12 h.
MAX_WINDOW_S: Final = 12 * 3600
MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Tokens are valid one day; without a readable `exp`, renew after 23 h (notes §1).
_FALLBACK_LIFETIME_S: Final = 23 * 3600
# Renew this much before expiry: a tenth of the lifetime, at most an hour (24 h → 23 h).
_MAX_RENEW_MARGIN_S: Final = 3600.0
# A claimed lifetime beyond this is not believable; use the fallback instead.
_MAX_LIFETIME_S: Final = 31 * 24 * 3600
_BACKOFF_FIRST_S: Final = 30.0
# Rejected credentials wait up to 30 min; an unreachable service is retried sooner.
_BACKOFF_MAX_AUTH_S: Final = 30 * 60.0
_BACKOFF_MAX_CONNECTION_S: Final = 5 * 60.0


@dataclass(frozen=True, slots=True)
class _Limits:
    """How much of an answer is read, and how long it may take."""

    max_body_bytes: int
    timeout: aiohttp.ClientTimeout


# Measurement answers hold every station of the account; everything else is tiny.
_MEASUREMENT_LIMITS: Final = _Limits(8 * 1024 * 1024, aiohttp.ClientTimeout(total=30))
_LIMITS: Final = _Limits(64 * 1024, aiohttp.ClientTimeout(total=15))
_AUTH_REJECTED: Final = frozenset({401, 403})
# Three base64url parts: any token, also one this client no longer holds.
_JWT_LIKE: Final = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")

# Only a current × voltage this large says anything about the unit of `power` (notes §5.4).
_MIN_CROSS_CHECK_W: Final = 500.0
_CROSS_CHECK_TOLERANCE: Final = 0.2
_WATTS_PER_UNIT: Final[dict[KnownPowerUnit, float]] = {"kW": 1000.0, "W": 1.0, "mW": 0.001}
# Beyond these a station value is not a reading (DESIGN §4): unknown rather than shown.
_MAX_STATION_POWER_W: Final = 1_000_000.0
_MAX_STATION_CURRENT_A: Final = 1000.0
_MAX_STATION_VOLTAGE_V: Final = 2000.0


class TokenRefusedError(ApiDeviceError):
    """The service refused a token it had just issued: the login works, the access not.

    Not bad credentials (a new password would not help) and not an outage: the account
    may lack API access, or the site may be hidden from it. Logins back off as after a
    failed one.
    """

    def __init__(self, message: str = "the service refused the access token") -> None:
        """`reason` "token_refused" (a translation key); `message` is never shown."""
        super().__init__("token_refused")
        self.detail = message


class SiteNotFoundError(ApiDeviceError):
    """A site endpoint answered 404: the account has no such site (`acc_id`)."""

    def __init__(self) -> None:
        """`reason` "site_not_found" (a translation key)."""
        super().__init__("site_not_found")


class Measurement(StrEnum):
    """The three InfluxDB measurements `get_measurement_data` serves."""

    CT_RESPONSE = "ct_response"
    EVSE_REQUEST = "evse_request"
    EVSE_RESPONSE = "evse_response"


class ChargingState(StrEnum):
    """`charging_state`, as Home Assistant enum options ("NOT CHARGING" → not_charging)."""

    UNPLUGGED = "unplugged"
    ADAPTIVE = "adaptive"
    IDLE = "idle"
    READY = "ready"
    NOT_CHARGING = "not_charging"


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerFlexStation:
    """The newest reading of one charging station; `None` where nothing usable came.

    `power_unit` says how `power` was read for this row ("unknown": it could not be
    decided and `power_w` is `None`). `vehicle_connected` and `contactor_closed` come
    from `evse_response`, everything else from `ct_response`.
    """

    acs_id: int
    acg_id: int | None = None
    power_w: float | None = None
    power_unit: PowerUnit = "unknown"
    current_a: float | None = None
    voltage_v: float | None = None
    session_energy_kwh: float | None = None
    current_limit_a: float | None = None
    charging_state: ChargingState | None = None
    vehicle_connected: bool | None = None
    contactor_closed: bool | None = None
    evse_type: str | None = None
    space_number: str | None = None
    time: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerFlexSiteSnapshot:
    """One poll of one site (`acc_id`).

    `charging_power_w` is the sum over the stations, `None` when a station's power is
    unknown or no station reported in the window (no data is not 0 W).
    """

    site_id: int
    stations: dict[int, PowerFlexStation]
    charging_power_w: float | None
    # The unit of `power` this account was last found to use (for diagnostics).
    power_unit: PowerUnit = "unknown"
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class ExternalSignal:
    """A DCM external signal: the cap on the site's aggregate EV load."""

    name: str
    max_load: float
    max_load_unit: LoadUnit
    is_enabled: bool


@dataclass(frozen=True, slots=True)
class MeasurementRows:
    """The rows of one InfluxDB answer, each mapped by column name (tags included)."""

    rows: list[dict[str, object]]
    # InfluxDB marked the answer incomplete: query a smaller window (notes §6.1).
    partial: bool = False


# --- base URL -------------------------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """Whether `host` is this machine (127.0.0.0/8, ::1 or localhost)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str) -> str:
    """The service's base URL as `scheme://host[:port]`, or `ValueError`.

    A bare `host:port` gets `https://`. Plain http is accepted only for loopback hosts
    (a local simulator); the messages never repeat the URL (it may hold credentials).
    """
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        parsed = URL(text)
        host = parsed.host
        parsed.port  # noqa: B018 - an out-of-range port raises only when read
    except ValueError as err:
        raise ValueError("not a URL") from err
    if parsed.scheme not in ("http", "https") or not host:
        raise ValueError("the URL needs https:// and a host")
    if parsed.user or parsed.password or parsed.query_string or parsed.fragment:
        raise ValueError("the URL is only scheme, host and port")
    if parsed.path not in ("", "/"):
        raise ValueError("the URL is only scheme, host and port")
    if parsed.scheme != "https" and not is_loopback_host(host):
        raise ValueError("https is required (plain http only for this machine)")
    return str(parsed.origin())


# --- tolerant values ------------------------------------------------------------------------


def as_id(raw: object) -> int | None:
    """An id as an integer: "03", 3 and 3.0 are 3; anything else is `None` (notes §4)."""
    value = as_number(raw)
    if value is None or not value.is_integer() or value < 0:
        return None
    return int(value)


def _flag(raw: object) -> bool | None:
    """A 1/0 field (`connected`, `contactor`); also true/false."""
    if isinstance(raw, bool):
        return raw
    value = as_number(raw)
    return bool(value) if value in (0.0, 1.0) else None


def _text(raw: object) -> str | None:
    if isinstance(raw, str) and (text := raw.strip()):
        return text[:64]
    return None


def _charging_state(raw: object) -> ChargingState | None:
    if not isinstance(raw, str):
        return None
    key = raw.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return ChargingState(key)
    except ValueError:
        return None


def parse_time(raw: object) -> datetime | None:
    """A row's `time`: epoch seconds (PowerFlex) or RFC 3339 (plain InfluxDB), in UTC."""
    if isinstance(raw, str) and not raw.strip().replace(".", "", 1).isdigit():
        try:
            parsed = datetime.fromisoformat(raw.strip())
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    seconds = as_number(raw)
    if seconds is None or seconds < 0:
        return None
    # An `epoch=` precision other than seconds: "seconds" past the year 5000 are ns, µs, ms.
    if seconds > 1e17:
        seconds /= 1e9
    elif seconds > 1e14:
        seconds /= 1e6
    elif seconds > 1e11:
        seconds /= 1e3
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except OverflowError, OSError, ValueError:
        return None


def _bounded(value: float | None, limit: float) -> float | None:
    """`value` if it can be a station reading (0 to `limit`), else `None`."""
    if value is None or value < 0 or value > limit:
        return None
    return value


# --- InfluxDB answers -----------------------------------------------------------------------


def parse_measurement_answer(
    decoded: object, redact: Callable[[str], str] = str
) -> MeasurementRows:
    """`{"data": <InfluxDB 1.x response>}` → rows by column name (notes §6).

    An empty window (no `series`) is zero rows; an `error` anywhere raises
    `ApiResponseError`. The server's text goes to the debug log (through `redact`),
    never into the exception.
    """
    if not isinstance(decoded, dict) or not isinstance(inner := decoded.get("data"), dict):
        raise ApiResponseError("measurement answer without data")
    _raise_influx_error(inner, redact)
    results = inner.get("results", [])
    if not isinstance(results, list):
        raise ApiResponseError("measurement answer with malformed results")
    rows: list[dict[str, object]] = []
    partial = inner.get("partial") is True
    for result in results:
        if not isinstance(result, dict):
            raise ApiResponseError("measurement answer with malformed results")
        _raise_influx_error(result, redact)
        partial = partial or result.get("partial") is True
        series_list = result.get("series", [])
        if not isinstance(series_list, list):
            raise ApiResponseError("measurement answer with malformed series")
        for series in series_list:
            partial = _series_rows(series, rows) or partial
    return MeasurementRows(rows, partial)


def _raise_influx_error(part: dict[str, Any], redact: Callable[[str], str]) -> None:
    message = part.get("error")
    if message is not None:
        _LOGGER.debug("PowerFlex measurement query failed: %.200s", redact(str(message)))
        raise ApiResponseError("measurement query failed")


def _series_rows(series: object, rows: list[dict[str, object]]) -> bool:
    """Append one series' rows; whether it was marked partial."""
    if not isinstance(series, dict):
        raise ApiResponseError("measurement answer with malformed series")
    columns = series.get("columns", [])
    values = series.get("values", [])
    tags = series.get("tags") or {}
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ApiResponseError("measurement answer with malformed columns")
    if not isinstance(values, list) or not isinstance(tags, dict):
        raise ApiResponseError("measurement answer with malformed values")
    width = len(columns)
    for values_row in values:
        # A row that does not fit the columns cannot be mapped by name: leave it out.
        if isinstance(values_row, list) and len(values_row) == width:
            row: dict[str, object] = dict(zip(columns, values_row, strict=True))
            rows.append({**tags, **row} if tags else row)
    return series.get("partial") is True


def newest_rows_by_station(
    rows: list[dict[str, object]], site_id: int
) -> dict[int, dict[str, object]]:
    """The newest row of every station of `site_id` (ids compared as integers).

    Runs over every row of the account each poll, so the few distinct raw ids are
    parsed once each.
    """
    ids: dict[object, int | None] = {}

    def parsed_id(raw: object) -> int | None:
        if not isinstance(raw, str | int | float):
            return None  # unhashable or not an id at all
        if raw not in ids:
            ids[raw] = as_id(raw)
        return ids[raw]

    newest: dict[int, tuple[float, int, dict[str, object]]] = {}
    for index, row in enumerate(rows):
        if parsed_id(row.get("acc_id")) != site_id:
            continue
        station = parsed_id(row.get("acs_id"))
        if station is None:
            continue
        # Rows without a usable time rank by their place (InfluxDB sends them in order).
        rank = (_time_rank(row.get("time")), index)
        if station not in newest or rank >= newest[station][:2]:
            newest[station] = (*rank, row)
    return {station: entry[2] for station, entry in newest.items()}


def _time_rank(raw: object) -> float:
    """A row's time as epoch seconds for ordering; `-inf` when it has none."""
    if isinstance(raw, float | int) and not isinstance(raw, bool) and 0 <= raw <= 1e11:
        return float(raw)  # the usual case: epoch seconds, no datetime needed
    stamp = parse_time(raw)
    return stamp.timestamp() if stamp else -math.inf


# --- power ------------------------------------------------------------------------------


def va_power_w(mamps: float | None, voltage_mv: float | None) -> float | None:
    """`mamps_actual × voltage` in W (mA and mV), or `None` without both."""
    if mamps is None or voltage_mv is None:
        return None
    return abs(mamps / 1000 * voltage_mv / 1000)


def cross_check_power_unit(power: float, reference_w: float) -> PowerUnit:
    """The unit that brings `power` within 20 % of `reference_w` (V × A), or "unknown".

    The candidates are 10^3 apart, so at most one can match.
    """
    for unit, watts_per_unit in _WATTS_PER_UNIT.items():
        if abs(abs(power) * watts_per_unit - reference_w) <= _CROSS_CHECK_TOLERANCE * reference_w:
            return unit
    return "unknown"


# --- external signal and target peak power --------------------------------------------------


def _load_unit(raw: object) -> LoadUnit | None:
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text == "kw":
            return "kW"
        if text == "a":
            return "A"
    return None


def _signal(raw: object, fallback_name: str | None = None) -> ExternalSignal:
    if not isinstance(raw, dict):
        raise ApiResponseError("external signal is not an object")
    name = _text(raw.get("name")) or fallback_name
    max_load = as_number(raw.get("max_load"))
    unit = _load_unit(raw.get("max_load_unit"))
    enabled = _flag(raw.get("is_enabled"))
    if name is None or max_load is None or max_load < 0 or unit is None or enabled is None:
        raise ApiResponseError("external signal without name, max_load, unit or is_enabled")
    return ExternalSignal(name, max_load, unit, enabled)


def parse_external_signals(decoded: object) -> dict[str, ExternalSignal]:
    """Both answer shapes (notes §3) as `{name: signal}`.

    An object with `name` and `max_load` is one bare signal; any other object maps names
    to signals.
    """
    if not isinstance(decoded, dict):
        raise ApiResponseError("external signal answer is not an object")
    if "name" in decoded and "max_load" in decoded:
        signal = _signal(decoded)
        return {signal.name: signal}
    signals: dict[str, ExternalSignal] = {}
    for key, raw in decoded.items():
        signal = _signal(raw, fallback_name=str(key))
        signals[signal.name] = signal
    return signals


def _month(raw: str) -> str | None:
    text = raw.strip().lower()
    return next((month for month in MONTHS if month.lower() == text), None)


def parse_target_peak_power(decoded: object) -> dict[str, int]:
    """All twelve months → whole kW, in calendar order; other keys are ignored."""
    if not isinstance(decoded, dict):
        raise ApiResponseError("target peak power answer is not an object")
    found: dict[str, int] = {}
    for key, raw in decoded.items():
        month = _month(str(key))
        value = as_number(raw)
        if month is None:
            continue
        if value is None or not value.is_integer() or value < 0:
            raise ApiResponseError("target peak power is not a whole number of kW")
        found[month] = int(value)
    if len(found) != len(MONTHS):
        raise ApiResponseError("target peak power answer lacks months")
    return {month: found[month] for month in MONTHS}


# --- the client -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Token:
    value: str = field(repr=False)
    renew_at: float  # on the client's monotonic clock


class PowerFlexClient:
    """One PowerFlex account on one base URL; the caller's session, never closed here.

    `clock` (monotonic) schedules token renewal and the login back-off; `wall_clock`
    (epoch seconds) places the measurement windows. Both are injectable for tests.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        username: str,
        password: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Raise `ValueError` for a base URL that `validate_base_url` refuses."""
        self._session = session
        self._base_url = validate_base_url(base_url)
        self._username = username
        self._password = password
        self._clock = clock
        self._wall_clock = wall_clock
        self._token: _Token | None = None
        self._login_lock = asyncio.Lock()
        # Failed logins (or fresh tokens refused) since a token was last accepted.
        self._failures = 0
        self._login_allowed_at = -math.inf
        self._last_failure: type[ApiAuthError | ApiConnectionError | TokenRefusedError] = (
            ApiAuthError
        )
        # The unit of `power` this account was last found to use (notes §5.4: per account).
        self._power_unit: PowerUnit = "unknown"
        self.logins = 0
        self.requests_sent = 0

    def __repr__(self) -> str:
        """Base URL only: never the password or the token."""
        return f"PowerFlexClient({self._base_url!r})"

    @property
    def base_url(self) -> str:
        """`scheme://host[:port]` of the service."""
        return self._base_url

    @property
    def power_unit(self) -> PowerUnit:
        """The unit of `power` last decided by the cross-check ("unknown" until one is)."""
        return self._power_unit

    @property
    def login_retry_in(self) -> float:
        """Seconds until a login may be tried again (0 when it may now)."""
        return max(0.0, self._login_allowed_at - self._clock())

    # --- authentication -----------------------------------------------------------------

    async def async_login(self) -> None:
        """Log in now (e.g. to check credentials); refused during a back-off."""
        async with self._login_lock:
            await self._login()

    async def _login(self) -> _Token:
        """`POST /login`; the lock is held. Every failure extends the back-off."""
        if self._clock() < self._login_allowed_at:
            # The same kind of error as the failure that started the back-off, no request.
            raise self._last_failure("login postponed after failed attempts")
        self._token = None
        self.logins += 1
        try:
            answer = await self._send(
                "POST",
                "/login",
                None,
                {"username": self._username, "password": self._password},
                _LIMITS,
            )
            value = _access_token(answer)
        except (ApiConnectionError, ApiResponseError) as err:
            self._login_failed(ApiConnectionError)
            if isinstance(err, ApiResponseError):
                raise
            raise ApiConnectionError("login failed: service unavailable") from err
        except ApiAuthError:
            self._login_failed(ApiAuthError)
            raise
        self._token = _Token(value, self._clock() + _renew_after(value, self._wall_clock()))
        _LOGGER.debug("PowerFlex login succeeded")
        return self._token

    def _login_failed(
        self, kind: type[ApiAuthError | ApiConnectionError | TokenRefusedError]
    ) -> None:
        self._failures += 1
        self._last_failure = kind
        limit = _BACKOFF_MAX_CONNECTION_S if kind is ApiConnectionError else _BACKOFF_MAX_AUTH_S
        delay = min(_BACKOFF_FIRST_S * 2 ** min(self._failures - 1, 16), limit)
        self._login_allowed_at = self._clock() + delay
        _LOGGER.debug("PowerFlex login failed; next attempt in %.0f s at the earliest", delay)

    async def _valid_token(self) -> tuple[_Token, bool]:
        """A token to send, and whether it was obtained just now."""
        async with self._login_lock:
            token = self._token
            if token is not None and self._clock() < token.renew_at:
                return token, False
            return await self._login(), True

    async def _token_after_rejection(self, rejected: _Token) -> _Token:
        """A new token after `rejected` was refused: one login (another call may have)."""
        async with self._login_lock:
            if self._token is not None and self._token is not rejected:
                return self._token
            return await self._login()

    def _refused(self, token: _Token) -> TokenRefusedError:
        """A fresh token was refused: count it like a failed login, so nothing storms.

        Only a rejected login means bad credentials; this does not (`TokenRefusedError`).
        """
        if self._token is token:
            self._token = None
        self._login_failed(TokenRefusedError)
        return TokenRefusedError()

    # --- transport ----------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        token: _Token | None,
        payload: Mapping[str, Any] | None,
        limits: _Limits,
    ) -> HttpAnswer:
        headers = {"Cache-Control": "no-cache"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.value}"
        self.requests_sent += 1
        return await async_request(
            self._session,
            method,
            f"{self._base_url}{path}",
            json=payload,
            headers=headers,
            timeout=limits.timeout,
            max_body_bytes=limits.max_body_bytes,
        )

    async def _call(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        *,
        limits: _Limits = _LIMITS,
        site_endpoint: bool = False,
    ) -> object:
        """One authenticated call → its decoded JSON (`None` for an empty 2xx body).

        A 401/403 with a cached token logs in once and retries once; a refused fresh
        token raises `TokenRefusedError`. 5xx is `ApiConnectionError` and never a login.
        A 404 from a `site_endpoint` (`/<name>/<acc_id>`) is `SiteNotFoundError`.
        """
        token, fresh = await self._valid_token()
        answer = await self._send(method, path, token, payload, limits)
        if answer.status in _AUTH_REJECTED:
            if fresh:
                raise self._refused(token)
            _LOGGER.debug("PowerFlex refused the cached token; logging in again")
            token = await self._token_after_rejection(token)
            answer = await self._send(method, path, token, payload, limits)
            if answer.status in _AUTH_REJECTED:
                raise self._refused(token)
        if 200 <= answer.status < 300:
            # The token was accepted: whatever failed before, logins start afresh.
            self._failures = 0
            self._login_allowed_at = -math.inf
        if answer.status == 404 and site_endpoint:
            raise SiteNotFoundError
        return _decoded(answer)

    # --- measurements -------------------------------------------------------------------

    async def async_get_measurement_data(
        self, measurement: Measurement, time_filter: tuple[int, int]
    ) -> list[dict[str, object]]:
        """Rows of `measurement` with `start <= time < stop` (epoch s), all sites.

        One request; when InfluxDB marks the answer `partial`, the window is halved and
        both halves are asked (two more requests; still partial → `ApiResponseError`).
        """
        start, stop = _require_window(time_filter)
        answer = await self._measurement(measurement, start, stop)
        if not answer.partial:
            return answer.rows
        if stop - start < 2:
            raise ApiResponseError("measurement answer is incomplete")
        middle = (start + stop) // 2
        rows: list[dict[str, object]] = []
        for half_start, half_stop in ((start, middle), (middle, stop)):
            half = await self._measurement(measurement, half_start, half_stop)
            if half.partial:
                raise ApiResponseError("measurement answer is incomplete")
            rows.extend(half.rows)
        return rows

    async def _measurement(
        self, measurement: Measurement, start: int, stop: int
    ) -> MeasurementRows:
        decoded = await self._call(
            "POST",
            "/get_measurement_data",
            {"measurement": str(measurement), "time_filter": [start, stop]},
            limits=_MEASUREMENT_LIMITS,
        )
        return parse_measurement_answer(decoded, self._redact)

    def _redact(self, text: str) -> str:
        """`text` without the password or any token (a server text may echo a request)."""
        if self._password:
            text = text.replace(self._password, "<redacted>")
        if self._token is not None:
            text = text.replace(self._token.value, "<redacted>")
        return _JWT_LIKE.sub("<redacted>", text)

    async def async_fetch_site(
        self, site_id: int, window_s: int = DEFAULT_WINDOW_S
    ) -> PowerFlexSiteSnapshot:
        """One poll of one site: exactly two requests, whatever the number of stations.

        `ct_response` and `evse_response` over the last `window_s` seconds (make it at
        least two poll intervals, so a late row is not missed), newest row per station.
        Add one login when the token needs renewing, and two requests per measurement
        whose answer comes back `partial`. `evse_request` is not needed: its
        `mamps_limit` is `ct_response.pilot_actual`.
        """
        site = _require_site_id(site_id)
        if isinstance(window_s, bool) or not isinstance(window_s, int) or window_s < 1:
            raise ValueError("window_s is a whole number of seconds >= 1")
        stop = math.floor(self._wall_clock()) + 1  # the window's end is exclusive
        window = (stop - window_s, stop)
        metered = await self.async_get_measurement_data(Measurement.CT_RESPONSE, window)
        reported = await self.async_get_measurement_data(Measurement.EVSE_RESPONSE, window)
        return self.site_snapshot(site, metered, reported)

    def site_snapshot(
        self,
        site_id: int,
        ct_rows: list[dict[str, object]],
        response_rows: list[dict[str, object]],
    ) -> PowerFlexSiteSnapshot:
        """Merge the newest `ct_response` and `evse_response` rows of each station."""
        metered = newest_rows_by_station(ct_rows, site_id)
        reported = newest_rows_by_station(response_rows, site_id)
        # Learn the unit first, so a station's low-power row does not depend on the order.
        for row in metered.values():
            self._power(as_number(row.get("power")), _row_va_power_w(row))
        stations = {
            acs_id: self._station(acs_id, metered.get(acs_id), reported.get(acs_id))
            for acs_id in sorted(metered.keys() | reported.keys())
        }
        powers = [station.power_w for station in stations.values()]
        total = None
        if powers and all(power is not None for power in powers):
            total = math.fsum(power for power in powers if power is not None)
        times = [station.time for station in stations.values() if station.time is not None]
        return PowerFlexSiteSnapshot(
            site_id=site_id,
            stations=stations,
            charging_power_w=total,
            power_unit=self._power_unit,
            time=max(times, default=None),
        )

    def _station(
        self,
        acs_id: int,
        metered: dict[str, object] | None,
        reported: dict[str, object] | None,
    ) -> PowerFlexStation:
        ct = metered or {}
        response = reported or {}
        mamps = as_number(ct.get("mamps_actual"))
        voltage_mv = as_number(ct.get("voltage"))
        power_w, unit = self._power(as_number(ct.get("power")), _row_va_power_w(ct))
        energy_mwh = as_number(ct.get("energy_delivered"))
        state = _charging_state(ct.get("charging_state"))
        if state is None:
            state = _charging_state(response.get("charging_state"))
        connected = _flag(response.get("connected"))
        if connected is None and state is not None:
            # The notes' practical split: anything but UNPLUGGED has a car plugged in.
            connected = state is not ChargingState.UNPLUGGED
        times = [parse_time(row.get("time")) for row in (ct, response) if row]
        return PowerFlexStation(
            acs_id=acs_id,
            acg_id=as_id(ct.get("acg_id", response.get("acg_id"))),
            power_w=power_w,
            power_unit=unit,
            current_a=_bounded(_scaled(mamps, 1e-3), _MAX_STATION_CURRENT_A),
            voltage_v=_bounded(_scaled(voltage_mv, 1e-3), _MAX_STATION_VOLTAGE_V),
            session_energy_kwh=_bounded(_scaled(energy_mwh, 1e-6), math.inf),
            current_limit_a=_bounded(as_number(ct.get("pilot_actual")), _MAX_STATION_CURRENT_A),
            charging_state=state,
            vehicle_connected=connected,
            contactor_closed=_flag(response.get("contactor")),
            evse_type=_text(ct.get("evse_type", response.get("evse_type"))),
            space_number=_text(ct.get("space_number", response.get("space_number"))),
            time=max((t for t in times if t is not None), default=None),
        )

    def _power(
        self, raw: float | None, reference_w: float | None
    ) -> tuple[float | None, PowerUnit]:
        """`power` in W and the unit it was read in, or `(None, "unknown")`.

        A row with a meaningful V × A decides (and teaches the account's unit); one that
        contradicts V × A in every unit is unknown. Below that, 0 is 0 W in any unit, and
        other values use the unit learned earlier, if any.
        """
        if raw is None:
            return None, "unknown"
        unit: PowerUnit
        if reference_w is not None and reference_w >= _MIN_CROSS_CHECK_W:
            unit = cross_check_power_unit(raw, reference_w)
            if unit == "unknown":
                return None, "unknown"
            if unit != self._power_unit:
                _LOGGER.debug("PowerFlex reports power in %s", unit)
            self._power_unit = unit
        elif raw == 0:
            return 0.0, self._power_unit
        else:
            unit = self._power_unit
            if unit == "unknown":
                return None, "unknown"
        # A charging station only draws: a negative power cannot be true.
        watts = _bounded(raw * _WATTS_PER_UNIT[unit], _MAX_STATION_POWER_W)
        return (watts, unit) if watts is not None else (None, "unknown")

    # --- external signal (DCM cap) ------------------------------------------------------

    async def async_get_external_signals(self, site_id: int) -> dict[str, ExternalSignal]:
        """Every external signal of the site: `POST /get_external_signal/<acc_id>` `{}`."""
        decoded = await self._call(
            "POST", f"/get_external_signal/{_require_site_id(site_id)}", {}, site_endpoint=True
        )
        if decoded is None:
            return {}
        return parse_external_signals(decoded)

    async def async_get_external_signal(
        self, site_id: int, name: str = DEFAULT_SIGNAL_NAME
    ) -> ExternalSignal | None:
        """One signal by name (`{"name": ...}`), or `None` when the answer lacks it.

        The service answers 404 for an unknown name as for an unknown site, so both raise
        `SiteNotFoundError`; `async_get_external_signals` tells them apart.
        """
        decoded = await self._call(
            "POST",
            f"/get_external_signal/{_require_site_id(site_id)}",
            {"name": name},
            site_endpoint=True,
        )
        if decoded is None:
            return None
        # Either shape may come back, whatever was asked.
        return parse_external_signals(decoded).get(name)

    async def async_set_external_signal(
        self,
        site_id: int,
        *,
        max_load: float,
        max_load_unit: LoadUnit,
        is_enabled: bool,
        name: str = DEFAULT_SIGNAL_NAME,
    ) -> ExternalSignal:
        """Set the site's cap; the answer is "the same data back", else what was sent."""
        load = as_number(max_load)
        if load is None or load < 0:
            raise ValueError("max_load is a finite number >= 0")
        if max_load_unit not in ("kW", "A"):
            raise ValueError('max_load_unit is "kW" or "A"')
        if not isinstance(is_enabled, bool) or not name:
            raise ValueError("is_enabled is a bool and name is required")
        sent = ExternalSignal(name, load, max_load_unit, is_enabled)
        decoded = await self._call(
            "POST",
            f"/set_external_signal/{_require_site_id(site_id)}",
            {
                "max_load": load,
                "max_load_unit": max_load_unit,
                "is_enabled": is_enabled,
                "name": name,
            },
            site_endpoint=True,
        )
        if decoded is None or decoded == {}:
            return sent
        return parse_external_signals(decoded).get(name, sent)

    # --- Demand Charge Mitigation -------------------------------------------------------

    async def async_set_real_time_load(self, site_id: int, kw: int) -> None:
        """`{"real_time_load_kW": <int>}`; any 2xx is success (the answer is undocumented)."""
        if isinstance(kw, bool) or not isinstance(kw, int):
            raise ValueError("the real-time load is a whole number of kW")
        await self._call(
            "POST",
            f"/set_real_time_load/{_require_site_id(site_id)}",
            {"real_time_load_kW": kw},
            site_endpoint=True,
        )

    async def async_get_target_peak_power(self, site_id: int) -> dict[str, int]:
        """The target peak power of every month (`Jan` … `Dec`), in kW."""
        decoded = await self._call(
            "GET", f"/get_target_peak_power_kW/{_require_site_id(site_id)}", site_endpoint=True
        )
        return parse_target_peak_power(decoded)

    async def async_set_target_peak_power(
        self, site_id: int, months: Mapping[str, int]
    ) -> dict[str, int]:
        """Change some months (`{"Jun": 700}`); the answer holds all twelve."""
        targets: dict[str, int] = {}
        for key, value in months.items():
            month = _month(key) if isinstance(key, str) else None
            if month is None:
                raise ValueError("months are keyed Jan … Dec")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("a target peak power is a whole number of kW >= 0")
            targets[month] = value
        if not targets:
            raise ValueError("no month to set")
        decoded = await self._call(
            "POST",
            f"/set_target_peak_power_kW/{_require_site_id(site_id)}",
            {"target_peak_power": targets},
            site_endpoint=True,
        )
        return parse_target_peak_power(decoded)


# --- helpers --------------------------------------------------------------------------------


def _require_site_id(site_id: int) -> int:
    """The `acc_id` as the integer URL segment ("03" in rows is 3 here)."""
    number = as_id(site_id)
    if number is None or isinstance(site_id, bool):
        raise ValueError("a site id is a whole number >= 0")
    return number


def _require_window(time_filter: tuple[int, int]) -> tuple[int, int]:
    start, stop = time_filter
    for bound in (start, stop):
        if isinstance(bound, bool) or not isinstance(bound, int):
            raise ValueError("time_filter holds whole epoch seconds")
    if not 0 < stop - start <= MAX_WINDOW_S:
        raise ValueError("time_filter spans more than 0 s and at most 12 h")
    return start, stop


def _row_va_power_w(row: Mapping[str, object]) -> float | None:
    # A current or voltage that cannot be true says nothing about the unit of `power`.
    mamps = _bounded(as_number(row.get("mamps_actual")), _MAX_STATION_CURRENT_A * 1000)
    voltage_mv = _bounded(as_number(row.get("voltage")), _MAX_STATION_VOLTAGE_V * 1000)
    return va_power_w(mamps, voltage_mv)


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _decoded(answer: HttpAnswer) -> object:
    """A 2xx answer's JSON (`None` if empty); other statuses raise by class."""
    if answer.status >= 500 or answer.status == 429:
        # The service is down or busy; the next poll may well succeed.
        raise ApiConnectionError(f"HTTP {answer.status}")
    if not 200 <= answer.status < 300:
        raise ApiResponseError(f"HTTP {answer.status}")
    if not answer.body.strip():
        return None
    try:
        # The shared parser: nesting too deep for Python is "not JSON", not a crash.
        return parse_json(answer.body)
    except (ValueError, UnicodeDecodeError) as err:
        # An HTML error page from a proxy, say: never guessed at.
        raise ApiResponseError("answer is not JSON") from err


def _access_token(answer: HttpAnswer) -> str:
    """The token of a login answer; only 200 with `access_token` is a login (notes §1)."""
    if answer.status >= 500 or answer.status == 429:
        raise ApiConnectionError(f"HTTP {answer.status}")
    if answer.status != 200:
        raise ApiAuthError("login rejected")
    decoded = _decoded(answer)
    token = decoded.get("access_token") if isinstance(decoded, dict) else None
    if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
        raise ApiAuthError("login answer without access token")
    return token


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The JWT payload, decoded without verification (only to schedule the renewal)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except ValueError, UnicodeError, binascii.Error:
        return None
    return claims if isinstance(claims, dict) else None


def _renew_after(token: str, wall_now: float) -> float:
    """Seconds from now until the token should be renewed.

    The lifetime is `exp − iat` when both are there (immune to a skewed clock here),
    else `exp − now`; unreadable or unbelievable claims give 23 h.
    """
    claims = jwt_claims(token) or {}
    expires = as_number(claims.get("exp"))
    issued = as_number(claims.get("iat"))
    lifetime: float | None = None
    if expires is not None:
        lifetime = expires - (issued if issued is not None else wall_now)
    if lifetime is None or not 0 < lifetime <= _MAX_LIFETIME_S:
        return _FALLBACK_LIFETIME_S
    return lifetime - min(lifetime / 10, _MAX_RENEW_MARGIN_S)


__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SIGNAL_NAME",
    "DEFAULT_WINDOW_S",
    "MAX_WINDOW_S",
    "MONTHS",
    "ChargingState",
    "ExternalSignal",
    "LoadUnit",
    "Measurement",
    "MeasurementRows",
    "PowerFlexClient",
    "PowerFlexSiteSnapshot",
    "PowerFlexStation",
    "PowerUnit",
    "SiteNotFoundError",
    "TokenRefusedError",
    "as_id",
    "cross_check_power_unit",
    "is_loopback_host",
    "jwt_claims",
    "newest_rows_by_station",
    "parse_external_signals",
    "parse_measurement_answer",
    "parse_target_peak_power",
    "parse_time",
    "va_power_w",
    "validate_base_url",
]
