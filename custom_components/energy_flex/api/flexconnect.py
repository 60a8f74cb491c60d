"""FlexHome FlexConnect development-client client (`flexconnect-api-notes.md`).

The development client is a local HTTP server that forwards `POST /app/v1/<Name>Request`
calls through the FlexCloud platform to the batteries. Every request carries a fresh
`header.reqId`, which the answer must echo, and a `timeoutMs` for the cloud round trip.
Answers are ProtoJSON: default values are omitted (a missing `scale`, `number`, enum or
timestamp means 0), int64 values may be strings and enums may be names. Values are kept
in FlexConnect's own terms here, including its setpoint sign (+ charges, − discharges);
the Home Assistant side converts.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Any, Final

import aiohttp
from yarl import URL

from .errors import ApiConnectionError, ApiResponseError
from .http import async_request
from .values import parse_json

_LOGGER = logging.getLogger(__name__)

DEFAULT_URL: Final = "http://localhost:8080"
DEFAULT_TIMEOUT_MS: Final = 10_000
# The HTTP wait covers the client's own cloud round trip (`timeoutMs`) plus a margin.
_HTTP_MARGIN_S: Final = 5.0
# Answers are a few hundred bytes; anything far larger is not one we asked for.
_MAX_BODY_BYTES: Final = 64 * 1024
_SKI = re.compile(r"[0-9A-Fa-f]{40}")
_NORMAL_SKI = re.compile(r"[0-9A-F]{40}")  # as sent: upper case, like the vendor's e-mail
# `deviceId.type.id` 2: the `stringValue` is an EEBUS SKI.
DEVICE_ID_TYPE_SKI: Final = 2
_INT64_MAX: Final = 2**63 - 1
# Enough for every double's exponent; beyond it a value is not a number we can show.
_MAX_ABS_SCALE: Final = 400
# reqIds are uint32-safe and never 0 (proto3 would omit a 0 from the echo).
_REQ_ID_MAX: Final = 2**31 - 1

BATTERY_STATE: Final = "BatteryStateRequest"
BATTERY_CONTROL: Final = "BatteryControlRequest"
BATTERY_CONTROL_MODIFY: Final = "BatteryControlModifyRequest"


class StateOfOperation(IntEnum):
    """`state.stateOfOperation`."""

    NORMAL = 1
    STANDBY = 2
    TEMPORARILY_NOT_READY = 3
    OFF = 4
    FAILURE = 5


class ControlState(IntEnum):
    """`currentControlInstructions.controlState`."""

    INIT = 1
    POWER = 2
    PCC = 3
    AUTO_CONTROLLED = 4
    AUTO_UNCONTROLLED = 5
    FAILSAFE = 6


class ControlMode(IntEnum):
    """`controlMode` of current, desired and modify instructions."""

    POWER = 1
    PCC = 2
    AUTO = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryState:
    """A `BatteryStateRequest` answer; `None` = the battery did not send the value."""

    state_of_charge: float | None = None  # % of the usable capacity
    state_of_health: float | None = None  # % of the nominal capacity
    state_of_energy: float | None = None  # Wh remaining
    usable_capacity: float | None = None  # Wh
    state_of_operation: StateOfOperation | None = None
    # Enum values outside the vendor document, as "field=value" (shown as unknown).
    unknown_values: tuple[str, ...] = ()
    # The `state` fields the battery sent. A scaled value is a message, which proto3 sends
    # whenever it is set (`{}` for 0): one that is missing is a value this battery does not
    # report. `None` when not known: every field counts as sent.
    fields: frozenset[str] | None = None

    def sent(self, field: str) -> bool:
        """Whether the battery sends `field` (by its ProtoJSON name)."""
        return self.fields is None or field in self.fields


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlInstructions:
    """Current or desired control instructions."""

    control_mode: ControlMode | None = None
    # W in FlexConnect's sign: positive CHARGES the battery, negative discharges it.
    # `None` when the answer left it out (shown as unknown) or sent no scaled number.
    setpoint_power: float | None = None
    timestamp_ms: int | None = None
    control_state: ControlState | None = None  # only in the current instructions
    # The answer left `setpointPower` out: to ProtoJSON that is a zero, not an unknown.
    setpoint_omitted: bool = False

    @property
    def command_setpoint(self) -> float | None:
        """The setpoint as the command carries it, with ProtoJSON's default applied.

        An omitted scaled number is 0, so AUTO with `{}` and AUTO without the field are
        the same command. One that was sent but is not a number stays unknown.
        """
        if self.setpoint_power is None and self.setpoint_omitted:
            return 0.0
        return self.setpoint_power

    def same_command(self, mode: ControlMode | None, setpoint_power: float | None) -> bool:
        """Whether these instructions carry that mode and setpoint (defaults applied)."""
        return self.control_mode == mode and self.command_setpoint == setpoint_power


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryControl:
    """A `BatteryControlRequest` answer: what the battery does and what it was asked."""

    current: ControlInstructions | None = None
    desired: ControlInstructions | None = None
    unknown_values: tuple[str, ...] = ()

    @property
    def applied(self) -> bool:
        """Whether the current instructions match the desired ones (notes §6.1).

        Mode and setpoint equal, and the current ones not older than the desired ones.
        Without desired instructions nothing is pending.
        """
        desired, current = self.desired, self.current
        if desired is None:
            return True
        if current is None:
            return False
        if not current.same_command(desired.control_mode, desired.command_setpoint):
            return False
        if desired.timestamp_ms is None or current.timestamp_ms is None:
            return True
        return current.timestamp_ms >= desired.timestamp_ms


# --- proto3 JSON values ---------------------------------------------------------------------


def _decimal(raw: object) -> Decimal | None:
    """A finite decimal from a JSON number or a numeric string; never from a bool."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    if isinstance(raw, str):
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            return None
        return value if value.is_finite() else None
    return None


def decode_int64(raw: object) -> int | None:
    """An (u)int64 sent as a JSON number or string; fractions and overflows are `None`."""
    value = _decimal(raw)
    if value is None or value != value.to_integral_value():
        return None
    number = int(value)
    return number if -_INT64_MAX - 1 <= number <= _INT64_MAX else None


def decode_scaled(raw: object) -> float | None:
    """`{"number": n, "scale": s}` → n × 10^s, rounded once to the nearest float.

    An absent message is `None` (unknown); absent fields inside it are proto3 zeros, so
    `{}` is 0. Anything that is not a finite scaled number is `None`.
    """
    if not isinstance(raw, dict):
        return None
    number = _decimal(raw.get("number", 0))
    scale = decode_int64(raw.get("scale", 0))
    if number is None or scale is None or abs(scale) > _MAX_ABS_SCALE:
        return None
    if abs(number) > _INT64_MAX + 1:
        return None
    value = float(number.scaleb(scale))  # exact decimal arithmetic, one rounding
    return value if math.isfinite(value) else None


def encode_scaled(value: float) -> dict[str, int]:
    """A scaled number that decodes to exactly `value`.

    Whole numbers go out as `scale` 0, as in the vendor's examples; fractions with the
    fewest digits that still round-trip (1500.5 → 15005 × 10^-1). `scale` is always sent.
    """
    if not math.isfinite(value):
        raise ValueError("a scaled number must be finite")
    if value == int(value) and abs(value) <= _INT64_MAX:
        return {"number": int(value), "scale": 0}
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    number = int("".join(map(str, digits)))
    return {"number": -number if sign else number, "scale": exponent}


def decode_enum[E: IntEnum](raw: object, enum: type[E]) -> tuple[E | None, str | None]:
    """An enum sent as a number, numeric string or name → (member, unknown raw text).

    Absent and 0 (proto3's "unspecified") are `(None, None)`. A value outside the
    vendor's table is `(None, "<raw>")`, so the caller can report it.
    """
    if raw is None:
        return None, None
    if isinstance(raw, str) and not raw.strip().lstrip("-").isdigit():
        name = raw.strip().upper()
        # Proto enum names are often prefixed: CONTROL_MODE_POWER is POWER.
        named = [m for m in enum if name == m.name or name.endswith(f"_{m.name}")]
        return (named[0], None) if named else (None, raw[:40])
    number = decode_int64(raw)
    if number is None:
        return None, str(raw)[:40]
    if number == 0:
        return None, None
    member = next((m for m in enum if m.value == number), None)
    return member, None if member is not None else str(number)


# --- device ids and addresses ---------------------------------------------------------------


def normalize_ski(text: str) -> str:
    """A battery's SKI in the form the cloud expects (40 hex characters, upper case)."""
    ski = text.strip()
    if not _SKI.fullmatch(ski):
        raise ValueError("an SKI is 40 hexadecimal characters")
    return ski.upper()


def normalize_url(text: str) -> str:
    """The development client's base URL: http(s), a host, no path, query or fragment.

    A bare `host:port` gets `http://`, since that is what the client serves.
    """
    text = text.strip()
    if "://" not in text:
        text = f"http://{text}"
    try:
        url = URL(text)
    except ValueError as err:
        raise ValueError("not a URL") from err
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("the URL needs http:// or https:// and a host")
    if url.path not in ("", "/") or url.query_string or url.fragment or url.user:
        raise ValueError("the URL of the client is only scheme, host and port")
    return str(url.origin())


def _device_id(ski: str) -> dict[str, Any]:
    return {"type": {"id": DEVICE_ID_TYPE_SKI}, "stringValue": ski}


# --- the client -----------------------------------------------------------------------------


class FlexConnectClient:
    """Talks to one FlexConnect development client; one instance per config entry."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout_ms: int | None = None,
    ) -> None:
        """Use the caller's session; `base_url` as returned by `normalize_url`."""
        self._session = session
        self._base_url = normalize_url(base_url)
        # The module default is read now, not at import, so it can be configured.
        self._timeout_ms = DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms
        self._http_timeout = aiohttp.ClientTimeout(total=self._timeout_ms / 1000 + _HTTP_MARGIN_S)
        # An incrementing counter from a random start: ids of two runs do not collide.
        self._req_ids = itertools.count(random.randint(1, _REQ_ID_MAX // 2))  # noqa: S311
        self._reported_unknown: set[str] = set()
        self.requests_sent = 0

    @property
    def base_url(self) -> str:
        """Where the development client listens."""
        return self._base_url

    async def async_get_version(self) -> str | None:
        """`GET /version`: a cheap check that the development client runs."""
        status, body = await self._request("GET", "/version", None)
        if status != 200:
            raise ApiConnectionError(f"FlexConnect client answered HTTP {status}")
        return _version_text(body)

    async def async_get_battery_state(self, ski: str) -> BatteryState:
        """One `BatteryStateRequest`."""
        answer = await self._call(BATTERY_STATE, ski)
        state = answer.get("state")
        if not isinstance(state, dict):
            raise ApiResponseError("state answer without state")
        unknown: list[str] = []
        operation = self._enum(state, "stateOfOperation", StateOfOperation, unknown)
        return BatteryState(
            state_of_charge=decode_scaled(state.get("stateOfCharge")),
            state_of_health=decode_scaled(state.get("stateOfHealth")),
            state_of_energy=decode_scaled(state.get("stateOfEnergy")),
            usable_capacity=decode_scaled(state.get("usableCapacity")),
            state_of_operation=operation,
            unknown_values=tuple(unknown),
            fields=frozenset(state),
        )

    async def async_get_battery_control(self, ski: str) -> BatteryControl:
        """One `BatteryControlRequest`: current and desired control instructions."""
        answer = await self._call(BATTERY_CONTROL, ski)
        unknown: list[str] = []
        return BatteryControl(
            current=self._instructions(answer, "currentControlInstructions", unknown),
            desired=self._instructions(answer, "desiredControlInstructions", unknown),
            unknown_values=tuple(unknown),
        )

    async def async_modify_battery_control(
        self, ski: str, mode: ControlMode, setpoint_power: float
    ) -> None:
        """One `BatteryControlModifyRequest`; `setpoint_power` in W, + charges.

        The answer (only the header) says the request was processed; the battery
        applies it up to a minute later (see `currentControlInstructions`).
        """
        await self._call(
            BATTERY_CONTROL_MODIFY,
            ski,
            controlMode=int(mode),
            setpointPower=encode_scaled(setpoint_power),
        )

    # --- internals ----------------------------------------------------------------------

    def _instructions(
        self, answer: Mapping[str, Any], key: str, unknown: list[str]
    ) -> ControlInstructions | None:
        raw = answer.get(key)
        if not isinstance(raw, dict):
            return None
        setpoint = raw.get("setpointPower")
        return ControlInstructions(
            control_mode=self._enum(raw, "controlMode", ControlMode, unknown, key),
            setpoint_power=decode_scaled(setpoint),
            # Absent, or JSON null: both mean "not set" in ProtoJSON.
            setpoint_omitted=setpoint is None,
            timestamp_ms=decode_int64(raw.get("timestamp")),
            control_state=self._enum(raw, "controlState", ControlState, unknown, key),
        )

    def _enum[E: IntEnum](
        self,
        raw: Mapping[str, Any],
        field: str,
        enum: type[E],
        unknown: list[str],
        parent: str | None = None,
    ) -> E | None:
        member, odd = decode_enum(raw.get(field), enum)
        if odd is not None:
            name = f"{parent}.{field}" if parent else field
            unknown.append(f"{name}={odd}")
            if (report := f"{name}={odd}") not in self._reported_unknown:
                # Reported once per value: it shows as unknown, it does not fail the poll.
                self._reported_unknown.add(report)
                _LOGGER.warning(
                    "FlexConnect sent %s = %s, which the vendor document does not define; "
                    "it is shown as unknown",
                    name,
                    odd,
                )
        return member

    async def _call(self, name: str, ski: str, **fields: Any) -> dict[str, Any]:
        """POST one request for one battery; check the status and the reqId echo."""
        if not _NORMAL_SKI.fullmatch(ski):
            raise ValueError("normalize the SKI first")
        req_id = self._next_req_id()
        payload = {
            "header": {"reqId": req_id, "timeoutMs": self._timeout_ms},
            "deviceId": _device_id(ski),
            **fields,
        }
        status, body = await self._request("POST", f"/app/v1/{name}", payload)
        if status != 200:
            # No error envelope is documented; an unknown or offline battery, or a cloud
            # timeout, all end up here. The body helps support, so it goes to debug.
            _LOGGER.debug("%s answered HTTP %s: %r", name, status, body[:300])
            raise ApiConnectionError(f"{name} answered HTTP {status}")
        answer = _json_object(body)
        header = answer.get("header")
        if not isinstance(header, dict):
            raise ApiResponseError(f"{name} answer without header")
        echoed = decode_int64(header.get("reqId"))
        if echoed != req_id:
            _LOGGER.debug("%s echoed reqId %r for %s", name, header.get("reqId"), req_id)
            raise ApiResponseError(f"{name} answer belongs to another request")
        return answer

    def _next_req_id(self) -> int:
        req_id = next(self._req_ids)
        if req_id > _REQ_ID_MAX:
            self._req_ids = itertools.count(1)
            req_id = next(self._req_ids)
        return req_id

    async def _request(
        self, method: str, path: str, payload: Mapping[str, Any] | None
    ) -> tuple[int, bytes]:
        self.requests_sent += 1
        answer = await async_request(
            self._session,
            method,
            f"{self._base_url}{path}",
            json=payload,
            timeout=self._http_timeout,
            max_body_bytes=_MAX_BODY_BYTES,
        )
        return answer.status, answer.body


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        decoded = parse_json(body)
    except ValueError as err:
        raise ApiResponseError("answer is not JSON") from err
    if not isinstance(decoded, dict):
        raise ApiResponseError("answer is not a JSON object")
    return decoded


def _version_text(body: bytes) -> str | None:
    """`/version` as JSON (`{"version": ...}` or a string) or as plain text."""
    try:
        decoded: object = parse_json(body)
    except ValueError:
        decoded = body.decode("utf-8", "replace")
    if isinstance(decoded, dict):
        decoded = decoded.get("version")
    if isinstance(decoded, int | float) and not isinstance(decoded, bool):
        decoded = str(decoded)
    if not isinstance(decoded, str):
        return None
    text = decoded.strip().splitlines()[0].strip() if decoded.strip() else ""
    # A version is short printable ASCII; anything else is not worth showing.
    return text[:64] if text.isascii() and text.isprintable() and text else None


__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "DEFAULT_URL",
    "BatteryControl",
    "BatteryState",
    "ControlInstructions",
    "ControlMode",
    "ControlState",
    "FlexConnectClient",
    "StateOfOperation",
    "decode_enum",
    "decode_int64",
    "decode_scaled",
    "encode_scaled",
    "normalize_ski",
    "normalize_url",
]
