"""One HTTP exchange the way every client here needs it.

Bodies are read up to a limit (a device answer is small; anything huge is not one),
and every transport failure becomes `ApiConnectionError` whose text names only the
failure's class, never a URL, host or credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from .errors import ApiConnectionError, ApiResponseError


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """Status, content type and body of one answer."""

    status: int
    content_type: str
    body: bytes


async def async_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str | Any,
    *,
    max_body_bytes: int,
    timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp applies it per request
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> HttpAnswer:
    """Send one request and read its bounded answer."""
    try:
        async with session.request(
            method,
            url,
            timeout=timeout,
            headers={"Accept": "application/json", **(headers or {})},
            **kwargs,
        ) as response:
            body = await _read_limited(response, max_body_bytes)
            return HttpAnswer(response.status, response.headers.get("Content-Type", ""), body)
    except (TimeoutError, aiohttp.ClientError) as err:
        raise ApiConnectionError(type(err).__name__) from err


async def _read_limited(response: aiohttp.ClientResponse, max_body_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > max_body_bytes:
            raise ApiResponseError("answer too large")
        chunks.append(chunk)
    return b"".join(chunks)
