"""PowerFlex EV-charging cloud: the config form, identity and entry runtime.

One entry is one site (`acc_id`) of one PowerFlex organisation, reached through the
organisation's base URL with the account's login. The site is a device; each charging
station is a device linked to it (`via_device`), added and removed as stations come and
go (`stations.py`). Identity: the service's host and the site id, so two organisations'
sites 3 are two entries; reconfigure may change the URL's port or scheme, the login and
password, never the host or the site.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar, Final

import probatio
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import dt as dt_util
from yarl import URL

from ...api.errors import ApiResponseError
from ...api.powerflex import (
    PowerFlexClient,
    SiteNotFoundError,
    TokenRefusedError,
    validate_base_url,
)
from ...const import (
    CONF_MAX_SITE_CURRENT_A,
    CONF_MAX_SITE_LOAD_KW,
    CONF_REAL_TIME_LOAD_ENTITY,
    CONF_REAL_TIME_LOAD_INTERVAL,
    CONF_SITE_ID,
    CONNECTION_POWERFLEX,
    DEFAULT_REAL_TIME_LOAD_INTERVAL,
    DOMAIN,
    MAX_REAL_TIME_LOAD_INTERVAL,
    MIN_REAL_TIME_LOAD_INTERVAL,
)
from ...coordinator import EnergyFlexConfigEntry, EnergyFlexCoordinator, EnergyFlexRuntime
from ...descriptions import EnergyFlexSensorDescription
from ...descriptions.binary_sensor import EnergyFlexBinarySensorDescription
from ...device import EnergyFlexDevice
from ..base import FlowError, IdentifiedDevice, Vendor
from .control import SIGNAL, PowerFlexSite, dcm_numbers, dcm_switches
from .entities import (
    SITE_CHARGING_POWER,
    STATION_BINARY_SENSORS,
    STATION_SENSORS,
    PowerFlexSiteData,
)
from .polling import POLL_INTERVAL, SitePoller
from .realtime_load import RealTimeLoadPush, real_time_load_entities
from .stations import MANUFACTURER, StationTracker

# Safety bounds for the DCM cap until the user enters the site's real ones.
DEFAULT_MAX_SITE_LOAD_KW: Final = 500.0
DEFAULT_MAX_SITE_CURRENT_A: Final = 2000.0
_MAX_LOAD = probatio.All(probatio.Coerce(float), probatio.Range(min=1, max=100_000))
_SITE_ID = probatio.All(probatio.Coerce(int), probatio.Range(min=0))
_SITE_KEYS: Final = frozenset(
    {"site_charging_power", "dcm_max_load", "dcm_enabled", "target_peak_power"}
)
_REAL_TIME_LOAD_KEYS: Final = ("real_time_load", "real_time_load_problem")


def site_identity(base_url: str, site_id: int) -> str:
    """The site's identity: the service's host and the `acc_id`."""
    host = URL(validate_base_url(base_url)).host or ""
    return f"{host.lower()}_{site_id}"


def _monotonic() -> float:
    # Read when called (not bound as a default), so tests that move time move it too.
    return time.monotonic()


def _wall_clock() -> float:
    return dt_util.utcnow().timestamp()


class PowerFlexVendor(Vendor):
    """A PowerFlex EV-charging site through the PowerFlex cloud API."""

    menu_id: ClassVar[str] = CONNECTION_POWERFLEX
    secret_keys: ClassVar[tuple[str, ...]] = (CONF_PASSWORD,)

    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """Base URL, login and site id."""
        return probatio.Schema(
            {
                probatio.Required(CONF_URL, default=defaults.get(CONF_URL, probatio.UNDEFINED)): (
                    selector.TextSelector(
                        selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
                    )
                ),
                probatio.Required(
                    CONF_USERNAME, default=defaults.get(CONF_USERNAME, probatio.UNDEFINED)
                ): selector.TextSelector(
                    selector.TextSelectorConfig(
                        type=selector.TextSelectorType.TEXT, autocomplete="username"
                    )
                ),
                probatio.Required(CONF_PASSWORD): selector.TextSelector(
                    selector.TextSelectorConfig(
                        type=selector.TextSelectorType.PASSWORD, autocomplete="current-password"
                    )
                ),
                probatio.Required(
                    CONF_SITE_ID, default=defaults.get(CONF_SITE_ID, probatio.UNDEFINED)
                ): _SITE_ID,
            }
        )

    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Log in, then have the site answer `get_external_signal`."""
        try:
            url = validate_base_url(data[CONF_URL])
        except ValueError as err:
            raise FlowError("powerflex_invalid_url") from err
        site_id = int(data[CONF_SITE_ID])
        client = PowerFlexClient(
            async_get_clientsession(hass), url, data[CONF_USERNAME], data[CONF_PASSWORD]
        )
        try:
            await client.async_login()
            await client.async_get_external_signals(site_id)
        except (SiteNotFoundError, TokenRefusedError) as err:
            # The login works, the site does not: not a password problem.
            raise FlowError("site_not_found") from err
        except ApiResponseError as err:
            raise FlowError("invalid_response") from err
        return IdentifiedDevice(
            unique_id=site_identity(url, site_id), title=f"PowerFlex site {site_id}"
        )

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """The real-time load's source and interval, and the highest caps allowed."""
        return probatio.Schema(
            {
                probatio.Optional(
                    CONF_REAL_TIME_LOAD_ENTITY,
                    description={"suggested_value": options.get(CONF_REAL_TIME_LOAD_ENTITY)},
                ): selector.EntitySelector(
                    selector.EntitySelectorConfig(
                        domain="sensor", device_class=SensorDeviceClass.POWER
                    )
                ),
                probatio.Required(
                    CONF_REAL_TIME_LOAD_INTERVAL,
                    default=options.get(
                        CONF_REAL_TIME_LOAD_INTERVAL, DEFAULT_REAL_TIME_LOAD_INTERVAL
                    ),
                ): probatio.All(
                    probatio.Coerce(int),
                    probatio.Range(
                        min=MIN_REAL_TIME_LOAD_INTERVAL, max=MAX_REAL_TIME_LOAD_INTERVAL
                    ),
                ),
                probatio.Required(
                    CONF_MAX_SITE_LOAD_KW,
                    default=options.get(CONF_MAX_SITE_LOAD_KW, DEFAULT_MAX_SITE_LOAD_KW),
                ): _MAX_LOAD,
                probatio.Required(
                    CONF_MAX_SITE_CURRENT_A,
                    default=options.get(CONF_MAX_SITE_CURRENT_A, DEFAULT_MAX_SITE_CURRENT_A),
                ): _MAX_LOAD,
            }
        )

    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """The site and its stations, one coordinator, the DCM control and the push."""
        assert entry.unique_id is not None  # every entry is created with one
        identity = entry.unique_id
        site_id = int(entry.data[CONF_SITE_ID])
        client = PowerFlexClient(
            async_get_clientsession(hass),
            entry.data[CONF_URL],
            entry.data[CONF_USERNAME],
            entry.data[CONF_PASSWORD],
            clock=_monotonic,
            wall_clock=_wall_clock,
        )
        poller = SitePoller(client, site_id)
        coordinator: EnergyFlexCoordinator[PowerFlexSiteData] = EnergyFlexCoordinator(
            hass, entry, fetch=poller.async_poll, update_interval=POLL_INTERVAL
        )
        await coordinator.async_config_entry_first_refresh()

        options = entry.options
        site = PowerFlexSite(
            hass,
            identity=identity,
            client=client,
            site_id=site_id,
            coordinator=coordinator,
            poller=poller,
            storage_key=entry.entry_id,
            max_load={
                "kW": float(options.get(CONF_MAX_SITE_LOAD_KW, DEFAULT_MAX_SITE_LOAD_KW)),
                "A": float(options.get(CONF_MAX_SITE_CURRENT_A, DEFAULT_MAX_SITE_CURRENT_A)),
            },
        )
        # A timed site limit whose deadline passed while stopped is undone now.
        await site.settings.async_restore()
        entry.async_on_unload(site.settings.async_unload)

        site_info = DeviceInfo(
            identifiers={(DOMAIN, identity)},
            manufacturer=MANUFACTURER,
            model="EV charging site",
            name=entry.title,
        )
        # Registered before any station names it as its `via_device`.
        site_device = dr.async_get(hass).async_get_or_create(
            config_entry_id=entry.entry_id, **site_info
        )
        stations = StationTracker(
            hass, entry, site_identity=identity, site_device_id=site_device.id
        )
        assert coordinator.data is not None  # the first refresh succeeded
        await stations.async_load(coordinator.data)

        sensors: list[EnergyFlexSensorDescription] = [SITE_CHARGING_POWER, *STATION_SENSORS]
        binary_sensors: list[EnergyFlexBinarySensorDescription] = [*STATION_BINARY_SENSORS]
        site_keys = set(_SITE_KEYS)
        push = _real_time_load_push(hass, entry, site)
        if push is not None:
            load_sensor, problem_sensor = real_time_load_entities(push)
            sensors.append(load_sensor)
            binary_sensors.append(problem_sensor)
            site_keys.update(_REAL_TIME_LOAD_KEYS)
            push.async_start()
            entry.async_on_unload(push.async_stop)
        else:
            _remove_real_time_load_entities(hass, identity)

        def diagnostics() -> dict[str, Any]:
            deadline = site.settings.restore_deadline(SIGNAL)
            return {
                "logins": client.logins,
                "requests_sent": client.requests_sent,
                "power_unit": client.power_unit,
                "login_retry_in_s": round(client.login_retry_in),
                "stations": len(stations.devices),
                "site_limit_restore_at": deadline.isoformat() if deadline else None,
                "real_time_load": None
                if push is None
                else {
                    "source": push.source,
                    "last_sent_kw": push.last_sent_kw,
                    "last_sent_at": push.last_sent_at.isoformat() if push.last_sent_at else None,
                    "problem": push.problem,
                },
            }

        runtime = EnergyFlexRuntime(
            coordinator=coordinator,
            devices=[
                EnergyFlexDevice(
                    identity=identity, info=site_info, entity_keys=frozenset(site_keys)
                ),
                *stations.devices,
            ],
            sensors=tuple(sensors),
            binary_sensors=tuple(binary_sensors),
            setting_numbers=dcm_numbers(site),
            switches=dcm_switches(site),
            diagnostics=diagnostics,
            vendor_data=site,
        )
        entry.async_on_unload(stations.async_attach(runtime))
        return runtime


def _real_time_load_push(
    hass: HomeAssistant, entry: EnergyFlexConfigEntry, site: PowerFlexSite
) -> RealTimeLoadPush | None:
    """The push of the configured source, if the options name one."""
    source = entry.options.get(CONF_REAL_TIME_LOAD_ENTITY)
    if not source:
        return None
    interval = entry.options.get(CONF_REAL_TIME_LOAD_INTERVAL, DEFAULT_REAL_TIME_LOAD_INTERVAL)
    return RealTimeLoadPush(
        hass, entry, site.settings, source=source, interval=timedelta(seconds=int(interval))
    )


def _remove_real_time_load_entities(hass: HomeAssistant, identity: str) -> None:
    """Without a source there is no real-time load: drop what an earlier option created."""
    registry = er.async_get(hass)
    for platform, key in zip(("sensor", "binary_sensor"), _REAL_TIME_LOAD_KEYS, strict=True):
        if entity_id := registry.async_get_entity_id(platform, DOMAIN, f"{identity}_{key}"):
            registry.async_remove(entity_id)
