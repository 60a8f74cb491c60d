"""Request bodies of the FEMS REST API: the POST `{"value": ...}` and JSON-RPC envelopes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from aiohttp import web

from ..jsontypes import JsonScalar, JsonValue
from .errors import (
    GENERIC,
    ZERO_UUID,
    FemsError,
    generic_error,
    json_response,
    jsonrpc_error_response,
)

type JsonRpcCall = Callable[[str, dict[str, JsonValue]], JsonValue]


def _reject_constant(name: str) -> float:
    raise ValueError(f"invalid JSON constant {name}")


def parse_object(body: bytes) -> dict[str, JsonValue]:
    """Strict JSON object (NaN/Infinity are not JSON), or the firmware's parse error."""
    try:
        doc = json.loads(body.decode(), parse_constant=_reject_constant)
    except ValueError as err:  # includes UnicodeDecodeError and JSONDecodeError
        raise generic_error(f"Unable to parse: {err}") from None
    if not isinstance(doc, dict):
        raise generic_error(f"Unable to parse: not a JSON object: {body[:100]!r}")
    return doc


def parse_value(body: bytes) -> JsonScalar:
    """The `value` of a channel POST; other keys are ignored."""
    message = parse_object(body)
    if "value" not in message:
        raise generic_error("Value is missing")
    value = message["value"]
    if isinstance(value, (list, dict)):
        raise generic_error(f"Unable to parse value [{json.dumps(value)}]")
    return value


def loose_value(body: bytes) -> JsonScalar:
    """The posted value for the rejected-write log, if the body has a readable one."""
    try:
        value = parse_value(body)
    except FemsError:
        return None
    return value


def jsonrpc_response(body: bytes, call: JsonRpcCall) -> web.Response:
    """Run one local JSON-RPC request; every error is HTTP 400 with code 1 (notes §1.8)."""
    request_id = ZERO_UUID
    try:
        message = parse_object(body)
        request_id = _request_id(message)
        method, params = message.get("method"), message.get("params")
        # Without `params` the message is not recognised as a request at all.
        if not isinstance(method, str) or not isinstance(params, dict):
            raise generic_error("JSON-RPC message is not a request")
        result = call(method, params)
    except FemsError as err:
        # This transport wraps every error once more, so the code is always 1.
        text = f"Unable to get Response: {err}"
        return jsonrpc_error_response(400, request_id, GENERIC, text, [text])
    return json_response({"jsonrpc": "2.0", "id": request_id, "result": result})


def _request_id(message: dict[str, JsonValue]) -> str:
    if "id" not in message:
        return str(uuid.uuid4())
    raw = message["id"]
    if isinstance(raw, str):
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            pass
    raise generic_error("JSON-RPC id must be a UUID")
