"""What the simulated FlexConnect development client shows about itself.

`/doc` is an OpenAPI 3.1 document of exactly the endpoints the simulator serves, `/`
the directory list and `/ui` a small status page (the real client links to Scalar there).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from ..jsontypes import JsonValue

# Directory-list rows: (path, description, method), as the First Steps guide shows them.
LISTING: tuple[tuple[str, str, str], ...] = (
    ("/", "The directory list", "GET"),
    ("/version", "The version of the development client", "GET"),
    ("/doc", "Machine-readable JSON documentation", "GET"),
    ("/ui", "Status page of the simulated batteries", "GET"),
    ("/app/v1/*", "Requests", "POST"),
)


def _ref(name: str) -> dict[str, JsonValue]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: str) -> dict[str, JsonValue]:
    return {"content": {"application/json": {"schema": _ref(schema)}}}


def _enum(description: str, values: Iterable[int]) -> dict[str, JsonValue]:
    return {
        "description": description,
        "oneOf": [{"type": "integer", "enum": list(values)}, {"type": "string"}],
    }


_INT64: dict[str, JsonValue] = {
    "oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}],
    "description": "int64; ProtoJSON may send it as a string",
}

SCHEMAS: dict[str, JsonValue] = {
    "RequestHeader": {
        "type": "object",
        "required": ["reqId"],
        "properties": {
            "reqId": {"type": "integer", "description": "Echoed in the answer"},
            "timeoutMs": {"type": "integer", "description": "Cloud round-trip bound"},
        },
    },
    "ResponseHeader": {
        "type": "object",
        "properties": {"reqId": {"type": "integer"}},
    },
    "DeviceId": {
        "type": "object",
        "required": ["type", "stringValue"],
        "properties": {
            "type": {
                "type": "object",
                "properties": {"id": {"type": "integer", "enum": [2], "description": "2 = SKI"}},
            },
            "stringValue": {"type": "string", "pattern": "^[0-9A-F]{40}$"},
        },
    },
    "ScaledNumber": {
        "type": "object",
        "description": "value = number × 10^scale; omitted fields are 0",
        "properties": {"number": _INT64, "scale": {"type": "integer"}},
    },
    "DeviceRequest": {
        "type": "object",
        "required": ["header", "deviceId"],
        "properties": {"header": _ref("RequestHeader"), "deviceId": _ref("DeviceId")},
    },
    "BatteryControlModifyRequest": {
        "type": "object",
        "required": ["header", "deviceId"],
        "properties": {
            "header": _ref("RequestHeader"),
            "deviceId": _ref("DeviceId"),
            "controlMode": _ref("ControlMode"),
            "setpointPower": {
                **_ref("ScaledNumber"),
                "description": "W; positive charges, negative discharges",
            },
        },
    },
    "StateOfOperation": _enum(
        "1 normal, 2 standby, 3 temporarily not ready, 4 off, 5 failure", range(1, 6)
    ),
    "ControlState": _enum(
        "1 INIT, 2 POWER, 3 PCC, 4 AUTO_CONTROLLED, 5 AUTO_UNCONTROLLED, 6 FAILSAFE", range(1, 7)
    ),
    "ControlMode": _enum("1 POWER, 2 PCC, 3 AUTO", range(1, 4)),
    "BatteryStateResponse": {
        "type": "object",
        "properties": {
            "header": _ref("ResponseHeader"),
            "state": {
                "type": "object",
                "properties": {
                    "stateOfCharge": _ref("ScaledNumber"),
                    "stateOfHealth": _ref("ScaledNumber"),
                    "stateOfEnergy": _ref("ScaledNumber"),
                    "usableCapacity": _ref("ScaledNumber"),
                    "stateOfOperation": _ref("StateOfOperation"),
                },
            },
        },
    },
    "ControlInstructions": {
        "type": "object",
        "properties": {
            "controlState": _ref("ControlState"),
            "controlMode": _ref("ControlMode"),
            "setpointPower": _ref("ScaledNumber"),
            "timestamp": {**_INT64, "description": "ms since the epoch (UTC)"},
        },
    },
    "BatteryControlResponse": {
        "type": "object",
        "properties": {
            "header": _ref("ResponseHeader"),
            "currentControlInstructions": _ref("ControlInstructions"),
            "desiredControlInstructions": _ref("ControlInstructions"),
        },
    },
    "EmptyResponse": {"type": "object", "properties": {"header": _ref("ResponseHeader")}},
    "ErrorResponse": {
        "type": "object",
        "description": "Simulator's choice: the vendor documents no error envelope",
        "properties": {
            "header": _ref("ResponseHeader"),
            "error": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "Version": {"type": "object", "properties": {"version": {"type": "string"}}},
}

# Request name → (request schema, answer schema, summary).
REQUESTS: dict[str, tuple[str, str, str]] = {
    "BatteryStateRequest": ("DeviceRequest", "BatteryStateResponse", "Battery state"),
    "BatteryControlRequest": (
        "DeviceRequest",
        "BatteryControlResponse",
        "Current and desired control instructions",
    ),
    "BatteryControlModifyRequest": (
        "BatteryControlModifyRequest",
        "EmptyResponse",
        "Modify control mode and/or setpoint power (applied up to a minute later)",
    ),
}


def _error(description: str) -> dict[str, JsonValue]:
    return {"description": description, **_json_body("ErrorResponse")}


def openapi_document(version: str) -> dict[str, JsonValue]:
    """The OpenAPI document of what the simulator serves."""
    paths: dict[str, JsonValue] = {
        "/version": {
            "get": {
                "operationId": "version",
                "summary": "Version of the development client",
                "responses": {"200": {"description": "Version", **_json_body("Version")}},
            }
        }
    }
    for name, (request, answer, summary) in REQUESTS.items():
        paths[f"/app/v1/{name}"] = {
            "post": {
                "operationId": name,
                "summary": summary,
                "requestBody": {"required": True, **_json_body(request)},
                "responses": {
                    "200": {"description": "Processed", **_json_body(answer)},
                    "400": _error("Malformed request or device id"),
                    "404": _error("Unknown device"),
                    "504": _error("The battery did not answer within timeoutMs"),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "FlexHome.Energy FlexConnect JSON API (simulator)", "version": version},
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }


def listing_page() -> str:
    """The directory list at `/`."""
    rows = "".join(
        f"<tr><td><a href='{path}'>{path}</a></td><td>{html.escape(text)}</td>"
        f"<td>{method}</td></tr>"
        for path, text, method in LISTING
    )
    return _page(
        "FlexConnect development client (simulator)",
        f"<table><tr><th>URI</th><th>Description</th><th>HTTP Method</th></tr>{rows}</table>",
    )


def ui_page(version: str, batteries: Mapping[str, Mapping[str, str]]) -> str:
    """A status page: each battery's state and instructions, and where the API is."""
    rows = "".join(
        "<tr>"
        + f"<td><code>{html.escape(ski)}</code></td>"
        + "".join(f"<td>{html.escape(value)}</td>" for value in facts.values())
        + "</tr>"
        for ski, facts in batteries.items()
    )
    headings = next(iter(batteries.values()), {})
    head = "".join(f"<th>{html.escape(name)}</th>" for name in headings)
    return _page(
        f"FlexConnect simulator {html.escape(version)}",
        f"<p>API description: <a href='/doc'>/doc</a>. Requests: <code>POST /app/v1/"
        f"&lt;Name&gt;Request</code>. Setpoints: positive charges.</p>"
        f"<table><tr><th>SKI</th>{head}</tr>{rows}</table>",
    )


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )
