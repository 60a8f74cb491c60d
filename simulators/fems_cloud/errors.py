"""How the FEMS cloud backend fails (notes §3.14–3.15), on top of `FemsError`.

Handlers raise `FemsError` for failures the backend notices before it starts working on a
request (parse errors, role checks, unknown methods: the "synchronous" ones) and wrap it
in `Deferred` for failures while completing it (edge offline, an error on the edge, a
history query that finds nothing). The two travel differently over the REST transport.
"""

from __future__ import annotations

from typing import Final

from ..fems.errors import NAMED_EXCEPTION, FemsError, named_error, role_denied
from ..jsontypes import JsonValue

ROLE_UNDEFINED: Final = 1005
NO_VALID_CHANNEL: Final = 1000
NO_COMPONENT_WITH_ID: Final = 2000
UNABLE_TO_APPLY_CONFIG: Final = 2002
UNABLE_TO_CREATE_CONFIG: Final = 2003
UNABLE_TO_DELETE_CONFIG: Final = 2004
EDGE_NOT_CONNECTED: Final = 3000
UNHANDLED_METHOD: Final = 4001
INVALID_MESSAGE: Final = 4002
TOO_MANY_REQUESTS: Final = 4005
JSON_NO_MEMBER: Final = 5000

AUTHENTICATION_FAILED_TEXT: Final = f"{NAMED_EXCEPTION}: Authentication failed"


class Deferred(Exception):  # noqa: N818 - it is a carrier, not an error of its own
    """A failure while completing a request; `from_edge` if the edge itself answered it."""

    def __init__(self, error: FemsError, *, from_edge: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.from_edge = from_edge


def role_undefined(resource: str, username: str) -> FemsError:
    message = (
        f"Access to this resource [{resource}] is denied. Role for User [{username}] is not defined"
    )
    return named_error(ROLE_UNDEFINED, message, [resource, username])


def edge_not_connected(edge_id: str) -> FemsError:
    return named_error(EDGE_NOT_CONNECTED, f"Edge [{edge_id}] is not connected", [edge_id])


def unhandled_method(method: str) -> FemsError:
    return named_error(UNHANDLED_METHOD, f"Unhandled JSON-RPC method [{method}]", [method])


def invalid_message(text: str) -> FemsError:
    message = f"JSON-RPC Message is not a valid Request, Result or Notification: {text}"
    return named_error(INVALID_MESSAGE, message, [text])


def too_many_requests() -> FemsError:
    return named_error(
        TOO_MANY_REQUESTS, "Too Many Requests! Request discarded by Rate-Limiter.", []
    )


def invalid_channel(address: str) -> FemsError:
    message = f"This [{address}] is not a valid channel address"
    return named_error(NO_VALID_CHANNEL, message, [address])


def no_member(member: str, container: str) -> FemsError:
    message = f"JSON [{member}] is not a member of [{container}]"
    return named_error(JSON_NO_MEMBER, message, [member, container])


def no_component(component_id: str) -> FemsError:
    message = f"Unable to find OpenEMS Component with ID [{component_id}]"
    return named_error(NO_COMPONENT_WITH_ID, message, [component_id])


def unable_to_apply(component_id: str, reason: str) -> FemsError:
    message = f"Unable to apply configuration to Component [{component_id}]: [{reason}]"
    return named_error(UNABLE_TO_APPLY_CONFIG, message, [component_id, reason])


def unable_to_create(factory_pid: str, reason: str) -> FemsError:
    message = f"Unable to create configuration for Factory [{factory_pid}]: [{reason}]"
    return named_error(UNABLE_TO_CREATE_CONFIG, message, [factory_pid, reason])


def unable_to_delete(component_id: str, reason: str) -> FemsError:
    message = f"Unable to delete configuration for Component [{component_id}]: [{reason}]"
    return named_error(UNABLE_TO_DELETE_CONFIG, message, [component_id, reason])


def error_object(error: FemsError) -> dict[str, JsonValue]:
    """The named JSON-RPC error object (websocket style, code kept)."""
    code = error.code if error.code is not None else 1
    data = error.data if error.code is not None else [error.message]
    return {"code": code, "message": error.message, "data": list(data)}


__all__ = [
    "AUTHENTICATION_FAILED_TEXT",
    "Deferred",
    "edge_not_connected",
    "error_object",
    "invalid_channel",
    "invalid_message",
    "no_component",
    "no_member",
    "role_denied",
    "role_undefined",
    "too_many_requests",
    "unable_to_apply",
    "unable_to_create",
    "unable_to_delete",
    "unhandled_method",
]
