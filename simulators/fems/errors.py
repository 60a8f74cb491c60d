"""How FEMS REST answers an error, for both firmware generations (notes §1.9).

Handlers raise `FemsError`; `error_response` turns it into what the firmware would send:
from 2025.4 (Jetty 12) an HTTP 500 error page, before that a JSON-RPC error object with
400 (401 for "Authentication failed"). Runtime exceptions are 500 pages in both.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Final

from aiohttp import web

from ..jsontypes import JsonScalar

NAMED_EXCEPTION: Final = "io.openems.common.exceptions.OpenemsError$OpenemsNamedException"
OPENEMS_EXCEPTION: Final = "io.openems.common.exceptions.OpenemsException"
ILLEGAL_ARGUMENT: Final = "java.lang.IllegalArgumentException"
PATTERN_SYNTAX: Final = "java.util.regex.PatternSyntaxException"
ZERO_UUID: Final = "00000000-0000-0000-0000-000000000000"

# OpenEMS error codes (OpenemsError.java) the REST API can produce.
GENERIC: Final = 1
ROLE_ACCESS_DENIED: Final = 1002
AUTHENTICATION_FAILED: Final = 1003
NO_COMPONENT_WITH_ID: Final = 2000

JSON_CONTENT_TYPE: Final = "application/json"
_HTML_CONTENT_TYPE: Final = "text/html;charset=iso-8859-1"


@dataclass(eq=False, slots=True)
class FemsError(Exception):
    """An exception as the Java side would throw it.

    `code` is the OpenEMS error code of an `OpenemsNamedException`; None means a plain
    runtime exception, which escapes to Jetty as a 500 page in every generation.
    """

    message: str
    code: int | None = GENERIC
    data: list[JsonScalar] = field(default_factory=list)
    java_class: str = OPENEMS_EXCEPTION

    def __str__(self) -> str:
        return f"{self.java_class}: {self.message}"


def generic_error(message: str) -> FemsError:
    """`new OpenemsException(message)`: code 1, the message is its only datum."""
    return FemsError(message, GENERIC, [message], OPENEMS_EXCEPTION)


def named_error(code: int, message: str, data: list[JsonScalar]) -> FemsError:
    return FemsError(message, code, data, NAMED_EXCEPTION)


def runtime_error(java_class: str, message: str) -> FemsError:
    return FemsError(message, None, [], java_class)


def restarting() -> FemsError:
    """What every request gets while the firmware restarts its bundles (a 500 storm)."""
    return runtime_error(
        "java.lang.IllegalStateException", "ComponentManager is not available (restarting)"
    )


def overloaded() -> FemsError:
    """What every request gets from an overloaded FEMS (a 500 storm)."""
    return runtime_error(
        "java.util.concurrent.RejectedExecutionException", "Task rejected: worker pool exhausted"
    )


def authentication_failed() -> FemsError:
    return named_error(AUTHENTICATION_FAILED, "Authentication failed", [])


def role_denied(resource: str, role: str) -> FemsError:
    message = f"Access to this resource [{resource}] is denied for User with Role [{role}]"
    return named_error(ROLE_ACCESS_DENIED, message, [resource, role])


def error_response(error: FemsError, request: web.Request, *, jetty12: bool) -> web.Response:
    """The response one firmware generation sends for `error`."""
    if jetty12 or error.code is None:
        return jetty_error_page(request, 500, str(error))
    status = 401 if error.code == AUTHENTICATION_FAILED else 400
    return jsonrpc_error_response(status, ZERO_UUID, error.code, error.message, error.data)


def jsonrpc_error_response(
    status: int, request_id: str, code: int, message: str, data: list[JsonScalar]
) -> web.Response:
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": code, "message": message, "data": data},
    }
    return json_response(body, status=status)


def json_response(body: object, *, status: int = 200) -> web.Response:
    """Compact UTF-8 JSON with exactly `Content-Type: application/json` (like Gson)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return web.Response(
        status=status,
        body=text.encode(),
        headers={"Content-Type": JSON_CONTENT_TYPE},
    )


def empty_response(status: int) -> web.Response:
    """A bare status with `Content-Length: 0` and no Content-Type (404 no match, 400 regex)."""
    return web.Response(status=status)


def jetty_error_page(request: web.Request, status: int, message: str) -> web.Response:
    """Jetty's `ErrorHandler` page: HTML by default, JSON or text when the client asks."""
    kind = _preferred_kind(request.headers.get("Accept", ""))
    if kind == "json":
        body = {"message": message, "url": request.path, "status": str(status)}
        return web.Response(
            status=status,
            body=json.dumps(body, indent=2).encode(),
            headers={"Content-Type": "application/json;charset=utf-8"},
        )
    if kind == "text":
        text = f"HTTP ERROR {status} {message}\nURI: {request.path}\nSTATUS: {status}\n"
        return web.Response(
            status=status,
            body=text.encode("iso-8859-1", "replace"),
            headers={"Content-Type": "text/plain;charset=iso-8859-1"},
        )
    escaped = html.escape(message)
    page = (
        "<html>\n<head>\n"
        '<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n'
        f"<title>Error {status} {escaped}</title>\n</head>\n<body>\n"
        f"<h2>HTTP ERROR {status} {escaped}</h2>\n<table>\n"
        f"<tr><th>URI:</th><td>{html.escape(request.path)}</td></tr>\n"
        f"<tr><th>STATUS:</th><td>{status}</td></tr>\n"
        f"<tr><th>MESSAGE:</th><td>{escaped}</td></tr>\n"
        "</table>\n</body>\n</html>\n"
    )
    return web.Response(
        status=status,
        body=page.encode("iso-8859-1", "xmlcharrefreplace"),
        headers={"Content-Type": _HTML_CONTENT_TYPE},
    )


def _preferred_kind(accept: str) -> str:
    """Pick html/json/text the way Jetty walks the Accept list (by quality, in order)."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, index, media.lower()))
    for _, _, media in sorted(ranked):
        if media in {"text/html", "text/*", "*/*"}:
            return "html"
        if media in {"application/json", "text/json"}:
            return "json"
        if media == "text/plain":
            return "text"
    return "html"
