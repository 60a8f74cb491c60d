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

# Action (service) names and fields.
SERVICE_SET_BATTERY_POWER: Final = "set_battery_power"
SERVICE_RELEASE_CONTROL: Final = "release_control"
ATTR_POWER: Final = "power"
ATTR_DURATION: Final = "duration"

# --- FENECON cloud (fems_cloud) ------------------------------------------------------------
CONNECTION_FEMS_CLOUD: Final = "fems_cloud"
# The edges (FEMS systems, e.g. `fems1234`) of one cloud account that an entry shows.
CONF_EDGE_IDS: Final = "edge_ids"
CONF_ALLOW_CONFIGURATION_CHANGES: Final = "allow_configuration_changes"
CONF_HISTORY_DAYS: Final = "history_days"
DEFAULT_CLOUD_SCAN_INTERVAL: Final = 60
MIN_CLOUD_SCAN_INTERVAL: Final = 30
MAX_CLOUD_SCAN_INTERVAL: Final = 300
DEFAULT_HISTORY_DAYS: Final = 365
MAX_HISTORY_DAYS: Final = 3650
SERVICE_QUERY_HISTORY: Final = "query_history"
SERVICE_QUERY_ENERGY: Final = "query_energy"
SERVICE_EXPORT_HISTORY: Final = "export_history"
SERVICE_GET_EDGE_CONFIG: Final = "get_edge_config"
SERVICE_UPDATE_COMPONENT: Final = "update_component"
SERVICE_CREATE_COMPONENT: Final = "create_component"
SERVICE_DELETE_COMPONENT: Final = "delete_component"
SERVICE_SET_CHANNEL_VALUE: Final = "set_channel_value"
