"""FEMS cloud actions: their fields and schemas, registered whether or not an account exists.

The handlers (`services.py`) load with the first call: a FEMS REST or Modbus entry never
loads the cloud client.
"""

from __future__ import annotations

from typing import Final

import probatio
from homeassistant.core import SupportsResponse
from homeassistant.helpers import config_validation as cv

from ...const import (
    SERVICE_CREATE_COMPONENT,
    SERVICE_DELETE_COMPONENT,
    SERVICE_EXPORT_HISTORY,
    SERVICE_GET_EDGE_CONFIG,
    SERVICE_QUERY_ENERGY,
    SERVICE_QUERY_HISTORY,
    SERVICE_SET_CHANNEL_VALUE,
    SERVICE_UPDATE_COMPONENT,
)

ATTR_DEVICE_ID: Final = "device_id"
ATTR_FROM_DATE: Final = "from_date"
ATTR_TO_DATE: Final = "to_date"
ATTR_CHANNELS: Final = "channels"
ATTR_RESOLUTION: Final = "resolution"
ATTR_FILENAME: Final = "filename"
ATTR_COMPONENT_ID: Final = "component_id"
ATTR_FACTORY_PID: Final = "factory_pid"
ATTR_PROPERTIES: Final = "properties"
ATTR_CHANNEL_ID: Final = "channel_id"
ATTR_VALUE: Final = "value"

_EDGE = {probatio.Required(ATTR_DEVICE_ID): cv.string}
_RANGE = {
    **_EDGE,
    probatio.Required(ATTR_FROM_DATE): cv.date,
    probatio.Required(ATTR_TO_DATE): cv.date,
}
_SCALAR = probatio.Any(None, bool, int, float, str)
QUERY_SCHEMA = probatio.Schema(
    {
        **_RANGE,
        probatio.Required(ATTR_CHANNELS): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Optional(ATTR_RESOLUTION): cv.time_period,
    }
)
EXPORT_SCHEMA = probatio.Schema({**_RANGE, probatio.Optional(ATTR_FILENAME): cv.string})
EDGE_SCHEMA = probatio.Schema(_EDGE)
UPDATE_COMPONENT_SCHEMA = probatio.Schema(
    {
        **_EDGE,
        probatio.Required(ATTR_COMPONENT_ID): cv.string,
        probatio.Required(ATTR_PROPERTIES): probatio.Schema({cv.string: object}),
    }
)
CREATE_COMPONENT_SCHEMA = probatio.Schema(
    {
        **_EDGE,
        probatio.Required(ATTR_FACTORY_PID): cv.string,
        probatio.Optional(ATTR_PROPERTIES, default={}): probatio.Schema({cv.string: object}),
    }
)
DELETE_COMPONENT_SCHEMA = probatio.Schema(
    {**_EDGE, probatio.Required(ATTR_COMPONENT_ID): cv.string}
)
SET_CHANNEL_VALUE_SCHEMA = probatio.Schema(
    {
        **_EDGE,
        probatio.Required(ATTR_COMPONENT_ID): cv.string,
        probatio.Required(ATTR_CHANNEL_ID): cv.string,
        probatio.Required(ATTR_VALUE): _SCALAR,
    }
)

# (action, schema, response): what Home Assistant validates before a handler runs.
ACTIONS: Final[tuple[tuple[str, probatio.Schema, SupportsResponse], ...]] = (
    (SERVICE_QUERY_HISTORY, QUERY_SCHEMA, SupportsResponse.ONLY),
    (SERVICE_QUERY_ENERGY, QUERY_SCHEMA, SupportsResponse.ONLY),
    (SERVICE_EXPORT_HISTORY, EXPORT_SCHEMA, SupportsResponse.OPTIONAL),
    (SERVICE_GET_EDGE_CONFIG, EDGE_SCHEMA, SupportsResponse.ONLY),
    (SERVICE_UPDATE_COMPONENT, UPDATE_COMPONENT_SCHEMA, SupportsResponse.NONE),
    (SERVICE_CREATE_COMPONENT, CREATE_COMPONENT_SCHEMA, SupportsResponse.NONE),
    (SERVICE_DELETE_COMPONENT, DELETE_COMPONENT_SCHEMA, SupportsResponse.NONE),
    (SERVICE_SET_CHANNEL_VALUE, SET_CHANNEL_VALUE_SCHEMA, SupportsResponse.NONE),
)
