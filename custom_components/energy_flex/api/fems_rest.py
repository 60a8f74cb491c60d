"""FENECON FEMS local REST/JSON client (OpenEMS `Controller.Api.Rest.*`).

Reads are one regex GET per poll on the read port with the read (guest) password;
writes are POSTs on the write port with the write (owner) password. Both firmware error
generations (<= 2025.3: 401/400 with JSON-RPC bodies, >= 2025.4: HTTP 500 pages) are
understood; see `fems-openems-api-notes.md` §1.9.

An HTTP 500 alone proves nothing: a firmware restart or an overloaded FEMS answers every
request with one for a while. Credentials count as rejected only on specific evidence,
seen on the failed request and again on a probe of a channel that always exists: the
old generation's 401 (JSON-RPC 1003), or a 500 whose answer says "Authentication
failed". Anything else is a connection problem that clears by itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

import aiohttp

from .errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiResponseError,
    ApiWriteRejectedError,
    EnergyFlexApiError,
    WriteRejectedReason,
)
from .fems import SET_ACTIVE_POWER_EQUALS, FemsSnapshot, snapshot_from_channels
from .http import async_request
from .values import parse_json

DEFAULT_READ_PORT: Final = 8084
DEFAULT_WRITE_PORT: Final = 80
DEFAULT_READ_PASSWORD: Final = "user"
DEFAULT_WRITE_PASSWORD: Final = "owner"

ESS_ID: Final = "ess0"

# Every channel a poll needs, by component. One narrow regex keeps the answer small:
# firmware on Jetty 12 may truncate bodies above ~44 KB (OpenEMS issue #3974).
_LIVE_CHANNELS: Final = (
    "State",  # _sum
    "EssSoc",
    "EssDischargePower",
    "GridActivePower",
    "GridMode",
    "ProductionActivePower",
    "ConsumptionActivePower",
    "EssDcChargeEnergy",
    "EssDcDischargeEnergy",
    "GridBuyActiveEnergy",
    "GridSellActiveEnergy",
    "ProductionActiveEnergy",
    "ConsumptionActiveEnergy",
    "AllowedChargePower",  # ess0
    "AllowedDischargePower",  # ess0
)
# What changes only with the installation or a firmware update (ratings, identity): read
# at the first poll, again every STATIC_EVERY_POLLS polls and after any failed poll (a
# restart may bring new firmware), not on every poll. The rated power bounds the
# plausibility gate; an hour-old rating is as true as a fresh one.
STATIC_ADDRESSES: Final = (
    "_sum/EssCapacity",
    "_sum/EssMaxApparentPower",
    "_meta/Version",
    "_host/Hostname",
)
STATIC_EVERY_POLLS: Final = 360  # an hour of 10 s polls
LIVE_PATH: Final = f"/rest/channel/(_sum|{ESS_ID})/({'|'.join(_LIVE_CHANNELS)})"
_STATIC_CHANNELS: Final = tuple(address.partition("/")[2] for address in STATIC_ADDRESSES)
POLL_PATH: Final = (
    f"/rest/channel/(_sum|_meta|_host|{ESS_ID})/({'|'.join((*_LIVE_CHANNELS, *_STATIC_CHANNELS))})"
)
_PROBE_PATH: Final = "/rest/channel/_sum/State"

# A poll answer is ~5 KB; anything far larger is not a FEMS answer we asked for.
_MAX_BODY_BYTES: Final = 256 * 1024
_TIMEOUT: Final = aiohttp.ClientTimeout(total=10)
# How much of an error answer is searched for the markers below.
_ERROR_TEXT_BYTES: Final = 4096
# Role errors carry these words in both generations (JSON-RPC 1002 and the Jetty page).
_ROLE_MARKERS: Final = ("1002", "denied for user with role")
_READ_ONLY_MARKERS: Final = ("read-only mode",)
# OpenEMS `COMMON_AUTHENTICATION_FAILED`: JSON-RPC 1003 (<= 2025.3) and its message,
# which Jetty 12 puts into the 500 page in HTML, JSON or text alike (>= 2025.4).
_AUTHENTICATION_FAILED_CODE: Final = 1003
_AUTHENTICATION_FAILED_TEXT: Final = "authentication failed"


@dataclass(frozen=True, slots=True)
class FemsRestEndpoint:
    """Where and how to reach one FEMS; passwords stay out of `repr`."""

    host: str
    read_port: int = DEFAULT_READ_PORT
    read_password: str = DEFAULT_READ_PASSWORD
    write_port: int = DEFAULT_WRITE_PORT
    write_password: str | None = None

    def __repr__(self) -> str:
        """Show where the device is, never its passwords."""
        return f"FemsRestEndpoint(host={self.host!r}, read_port={self.read_port})"


class FemsRestClient:
    """Reads and writes one FEMS over its local REST/JSON API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoint: FemsRestEndpoint,
        *,
        static_every_polls: int | None = None,
    ) -> None:
        """Use the caller's session; the client never owns or closes it."""
        self._session = session
        self._endpoint = endpoint
        # Looked up here, not at import: tests that change a static channel mid-run set 1.
        self._static_every_polls = static_every_polls or STATIC_EVERY_POLLS
        # The static channels' last values; None until read (and after a failed poll).
        self._static: dict[str, object] | None = None
        self._polls_since_static = 0

    @property
    def can_write(self) -> bool:
        """Whether a write password was configured."""
        return self._endpoint.write_password is not None

    async def async_get_snapshot(self) -> FemsSnapshot:
        """Poll every channel in use with one regex GET (the static ones only now and then)."""
        static = self._static
        if static is not None and self._polls_since_static < self._static_every_polls:
            self._static = None  # until this poll succeeds
            channels = await self._async_read(LIVE_PATH)
            self._static, self._polls_since_static = static, self._polls_since_static + 1
            # Static channels read earlier still count as present (`FemsSnapshot.present`);
            # those the firmware lacks were never kept, so stay absent.
            return snapshot_from_channels(static | channels)
        channels = await self._async_read(POLL_PATH)
        static = {address: channels[address] for address in STATIC_ADDRESSES if address in channels}
        # A static channel that exists but is still undefined (the FEMS is starting) is
        # read again at the next poll; one the firmware lacks (absent) is not.
        if all(value is not None for value in static.values()):
            self._static, self._polls_since_static = static, 1
        return snapshot_from_channels(channels)

    async def _async_read(self, path: str) -> dict[str, object]:
        """One regex GET, keyed by address."""
        status, body = await self._request("GET", self._read_url(path), self._read_auth)
        if status == 200:
            return _channels_by_address(body)
        if status == 404:
            # Nothing matched: not an OpenEMS REST API, or every component is disabled.
            raise ApiResponseError("no FEMS channel matched")
        raise await self._read_failure(status, body)

    async def async_set_channel(self, channel: str, value: float | None) -> None:
        """Write one `ess0` channel; `None` releases it at once (§1.7)."""
        if self._endpoint.write_password is None:
            raise ApiWriteRejectedError(WriteRejectedReason.NOT_ACCEPTED)
        payload = {"value": None if value is None else round(value)}
        url = self._write_url(f"/rest/channel/{ESS_ID}/{channel}")
        auth = _basic_auth(self._endpoint.write_password)
        status, body = await self._request("POST", url, auth, payload)
        if status == 200:
            # The API acknowledges with a JSON object (`{}`). Anything else at 200, such
            # as the web interface's page on a wrong port, did not take the value.
            if not _is_json_object(body):
                raise ApiResponseError("the write was not answered by the FEMS REST API")
            return
        await self._raise_for_write_failure(status, body, auth)

    async def async_check_write_access(self) -> None:
        """Prove owner rights on a read-write API by releasing the setpoint (§1.10)."""
        await self.async_set_channel(SET_ACTIVE_POWER_EQUALS, None)

    @property
    def _read_auth(self) -> str:
        return _basic_auth(self._endpoint.read_password)

    def _read_url(self, path: str) -> str:
        return f"http://{self._endpoint.host}:{self._endpoint.read_port}{path}"

    def _write_url(self, path: str) -> str:
        return f"http://{self._endpoint.host}:{self._endpoint.write_port}{path}"

    async def _read_failure(self, status: int, body: bytes) -> EnergyFlexApiError:
        # Only evidence of rejected credentials, seen again on the probe, is auth (§1.9);
        # a 500 page from a restarting or overloaded FEMS is not.
        if _says_authentication_failed(status, body):
            probe_status, probe_body = await self._request(
                "GET", self._read_url(_PROBE_PATH), self._read_auth
            )
            if _says_authentication_failed(probe_status, probe_body):
                return ApiAuthError()
        return ApiConnectionError(f"FEMS answered HTTP {status}")

    async def _raise_for_write_failure(self, status: int, body: bytes, auth: str) -> NoReturn:
        if status not in (400, 401, 500):
            raise ApiConnectionError(f"FEMS answered HTTP {status}")
        # Is the write password valid at all? A GET with it tells, on either port.
        probe_status, probe_body = await self._request("GET", self._write_url(_PROBE_PATH), auth)
        if _says_authentication_failed(status, body) and _says_authentication_failed(
            probe_status, probe_body
        ):
            raise ApiAuthError
        text = _error_text(body)
        if any(marker in text for marker in _READ_ONLY_MARKERS):
            raise ApiWriteRejectedError(WriteRejectedReason.READ_ONLY_API)
        if any(marker in text for marker in _ROLE_MARKERS):
            raise ApiWriteRejectedError(WriteRejectedReason.ROLE_TOO_LOW)
        if probe_status != 200:
            # The FEMS fails reads as well: a glitch, not a refusal of this write.
            raise ApiConnectionError(f"FEMS answered HTTP {status}")
        raise ApiWriteRejectedError(WriteRejectedReason.NOT_ACCEPTED)

    async def _request(
        self,
        method: str,
        url: str,
        auth: str,
        payload: Mapping[str, Any] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request; credentials go pre-emptively (FEMS never challenges)."""
        answer = await async_request(
            self._session,
            method,
            url,
            json=payload,
            timeout=_TIMEOUT,
            headers={"Authorization": auth},
            max_body_bytes=_MAX_BODY_BYTES,
        )
        return answer.status, answer.body


def _error_text(body: bytes) -> str:
    """The start of an error answer, lower case; any bytes decode (the markers are ASCII)."""
    return body[:_ERROR_TEXT_BYTES].decode("latin-1").lower()


def _says_authentication_failed(status: int, body: bytes) -> bool:
    """Whether an answer is the FEMS rejecting the credentials, in either generation."""
    if status == 200:
        return False
    if status == 401:
        return True  # <= 2025.3 answers 401 only for JSON-RPC 1003
    if _AUTHENTICATION_FAILED_TEXT in _error_text(body):
        return True
    return _jsonrpc_error_code(body) == _AUTHENTICATION_FAILED_CODE


def _jsonrpc_error_code(body: bytes) -> int | None:
    try:
        decoded = json.loads(body[:_ERROR_TEXT_BYTES])
    except ValueError, UnicodeDecodeError:
        return None
    error = decoded.get("error") if isinstance(decoded, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(parse_json(body), dict)
    except ValueError:
        return False


def _basic_auth(password: str) -> str:
    """The user name is ignored by FEMS: the password alone selects the role (§1.2)."""
    return aiohttp.encode_basic_auth("x", password)


def _channels_by_address(body: bytes) -> dict[str, object]:
    """Key a regex answer by `address`: one match is an object, several an array."""
    try:
        decoded = parse_json(body)
    except ValueError as err:
        raise ApiResponseError("answer is not JSON") from err
    items = decoded if isinstance(decoded, list) else [decoded]
    channels: dict[str, object] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(address := item.get("address"), str):
            raise ApiResponseError("answer is not a list of channels")
        # Write-only channels carry no `value`; undefined ones carry null.
        channels[address] = item.get("value")
    return channels


__all__ = [
    "DEFAULT_READ_PASSWORD",
    "DEFAULT_READ_PORT",
    "DEFAULT_WRITE_PASSWORD",
    "DEFAULT_WRITE_PORT",
    "FemsRestClient",
    "FemsRestEndpoint",
]
