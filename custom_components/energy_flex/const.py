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
# FEMS Modbus: whether the read-write Modbus/TCP app is installed (writes to the
# read-only API are silently ignored, so the user has to say).
CONF_READ_WRITE: Final = "read_write"

CONNECTION_FEMS_REST: Final = "fems_rest"
CONNECTION_FEMS_MODBUS: Final = "fems_modbus"
CONNECTION_SONNEN: Final = "sonnen"
CONNECTION_FLEXCONNECT: Final = "flexconnect"

# FlexConnect: the batteries (SKIs) of one entry, and the power bounds the user allows.
CONF_DEVICE_IDS: Final = "device_ids"
CONF_MAX_CHARGE_POWER: Final = "max_charge_power"
CONF_MAX_DISCHARGE_POWER: Final = "max_discharge_power"

# sonnen: the inverter's maximum power where the unit does not report it (and a cap).
CONF_INVERTER_MAX_POWER: Final = "inverter_max_power"

# FEMS forgets API writes 60 s after the last one; 30 s keeps a margin of one lost write.
DEFAULT_KEEPALIVE_INTERVAL: Final = 30
MIN_KEEPALIVE_INTERVAL: Final = 5
MAX_KEEPALIVE_INTERVAL: Final = 50

LOCAL_POLL_INTERVAL: Final = timedelta(seconds=10)
# The longest wait between polls of a device that keeps failing (back-off).
MAX_POLL_BACKOFF: Final = timedelta(minutes=2)

# Action (service) names and fields.
SERVICE_SET_BATTERY_POWER: Final = "set_battery_power"
SERVICE_RELEASE_CONTROL: Final = "release_control"
SERVICE_REACH_STATE_OF_CHARGE: Final = "reach_state_of_charge"
ATTR_POWER: Final = "power"
ATTR_DURATION: Final = "duration"
ATTR_STATE_OF_CHARGE: Final = "state_of_charge"
ATTR_BY: Final = "by"
ATTR_MAX_POWER: Final = "max_power"
