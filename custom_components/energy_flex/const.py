"""Constants shared across the integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "energy_flex"

# Which connection an entry uses (the vendor-menu id, DESIGN §1).
CONF_CONNECTION: Final = "connection"
CONF_WRITE_PASSWORD: Final = "write_password"
CONF_WRITE_PORT: Final = "write_port"
CONF_KEEPALIVE_INTERVAL: Final = "keepalive_interval"

CONNECTION_FEMS_REST: Final = "fems_rest"

# FEMS forgets API writes 60 s after the last one; 30 s keeps a margin of one lost write.
DEFAULT_KEEPALIVE_INTERVAL: Final = 30
MIN_KEEPALIVE_INTERVAL: Final = 5
MAX_KEEPALIVE_INTERVAL: Final = 50

LOCAL_POLL_INTERVAL: Final = timedelta(seconds=10)

# Action (service) names and fields.
SERVICE_SET_BATTERY_POWER: Final = "set_battery_power"
SERVICE_RELEASE_CONTROL: Final = "release_control"
ATTR_POWER: Final = "power"
ATTR_DURATION: Final = "duration"
