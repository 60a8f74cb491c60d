"""Constants shared across the integration."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
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
CONNECTION_POWERFLEX: Final = "powerflex"

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

# PowerFlex: the site (`acc_id`), the source of the real-time load and how often it may be
# sent, and the highest DCM cap the user allows (in the signal's unit, kW or A).
CONF_SITE_ID: Final = "site_id"
CONF_REAL_TIME_LOAD_ENTITY: Final = "real_time_load_entity"
CONF_REAL_TIME_LOAD_INTERVAL: Final = "real_time_load_interval"
CONF_MAX_SITE_LOAD_KW: Final = "max_site_load_kw"
CONF_MAX_SITE_CURRENT_A: Final = "max_site_current_a"
DEFAULT_REAL_TIME_LOAD_INTERVAL: Final = 30
MIN_REAL_TIME_LOAD_INTERVAL: Final = 10
MAX_REAL_TIME_LOAD_INTERVAL: Final = 300

# Action (service) names and fields.
SERVICE_SET_BATTERY_POWER: Final = "set_battery_power"
SERVICE_RELEASE_CONTROL: Final = "release_control"
SERVICE_REACH_STATE_OF_CHARGE: Final = "reach_state_of_charge"
ATTR_POWER: Final = "power"
ATTR_DURATION: Final = "duration"
ATTR_STATE_OF_CHARGE: Final = "state_of_charge"
ATTR_BY: Final = "by"
ATTR_MAX_POWER: Final = "max_power"

# PowerFlex actions and their fields.
SERVICE_SET_SITE_LIMIT: Final = "set_site_limit"
SERVICE_SET_TARGET_PEAK_POWER: Final = "set_target_peak_power"
SERVICE_GET_TARGET_PEAK_POWER: Final = "get_target_peak_power"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_MAX_LOAD: Final = "max_load"
ATTR_UNIT: Final = "unit"
ATTR_ENABLED: Final = "enabled"
ATTR_MONTHS: Final = "months"

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

# Keys of the entities every controlled device has (also the ends of their unique ids).
KEY_CONTROL_ACTIVE: Final = "control_active"
KEY_RELEASE_CONTROL: Final = "release_control"
KEY_CONTROL_PLAN: Final = "control_plan"


class PlanState(StrEnum):
    """What the `control_plan` sensor shows."""

    IDLE = "idle"
    CHARGING_TO_TARGET = "charging_to_target"
    DISCHARGING_TO_TARGET = "discharging_to_target"
    HOLDING_SETPOINT = "holding_setpoint"


class SetpointKind(StrEnum):
    """What a held setpoint controls; values are stable (they are stored)."""

    BATTERY_POWER = "battery_power"
    DISCHARGE_LIMIT = "discharge_limit"
    CHARGE_LIMIT = "charge_limit"
