"""PowerFlex actions: their schemas, registered whether or not a site exists.

The handlers (`services.py`) load with the first call: a battery-only installation never
loads the PowerFlex client.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import probatio
from homeassistant.core import SupportsResponse
from homeassistant.helpers import config_validation as cv

from ...const import (
    ATTR_DEVICE_ID,
    ATTR_DURATION,
    ATTR_ENABLED,
    ATTR_MAX_LOAD,
    ATTR_MONTHS,
    ATTR_UNIT,
    SERVICE_GET_TARGET_PEAK_POWER,
    SERVICE_SET_SITE_LIMIT,
    SERVICE_SET_TARGET_PEAK_POWER,
)

_SITE = {probatio.Required(ATTR_DEVICE_ID): cv.string}
SET_SITE_LIMIT_SCHEMA = probatio.Schema(
    {
        **_SITE,
        probatio.Required(ATTR_MAX_LOAD): probatio.Coerce(float),
        probatio.Required(ATTR_UNIT): probatio.In(["kW", "A"]),
        probatio.Optional(ATTR_ENABLED, default=True): cv.boolean,
        probatio.Optional(ATTR_DURATION): probatio.All(
            cv.positive_time_period, probatio.Range(min=timedelta(seconds=1))
        ),
    }
)
SET_TARGET_PEAK_POWER_SCHEMA = probatio.Schema({**_SITE, probatio.Required(ATTR_MONTHS): dict})
GET_TARGET_PEAK_POWER_SCHEMA = probatio.Schema(_SITE)

# (action, schema, response): what Home Assistant validates before a handler runs.
ACTIONS: Final[tuple[tuple[str, probatio.Schema, SupportsResponse], ...]] = (
    (SERVICE_SET_SITE_LIMIT, SET_SITE_LIMIT_SCHEMA, SupportsResponse.NONE),
    (SERVICE_SET_TARGET_PEAK_POWER, SET_TARGET_PEAK_POWER_SCHEMA, SupportsResponse.OPTIONAL),
    (SERVICE_GET_TARGET_PEAK_POWER, GET_TARGET_PEAK_POWER_SCHEMA, SupportsResponse.ONLY),
)
