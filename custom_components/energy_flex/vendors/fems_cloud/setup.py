"""FENECON cloud: the config form, identity and entry runtime.

One entry is one FENECON portal account (unique id: the cloud's host and the user name in
lower case) and the edges (FEMS systems, e.g. `fems1234`) it should show, each its own
device identified by the edge id. The API cannot list an account's edges, so the user
names them; every one must be visible to the account. An edge belongs to one entry only.

A poll is two requests whatever the number of edges (`getEdgesStatus`, then
`getEdgesChannelsValues`). An offline edge's values are the backend's stale cache: its
entities are unavailable and only `edge_online` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Final

import probatio
from homeassistant.const import CONF_PASSWORD, CONF_SCAN_INTERVAL, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo
from yarl import URL

from ...api.errors import ApiAuthError, ApiConnectionError, ApiDeviceError, EnergyFlexApiError
from ...api.fems_cloud import (
    DEFAULT_URL,
    FemsCloudClient,
    FemsCloudEdgeState,
    FemsCloudErrorReason,
    FixActivePowerController,
)
from ...const import (
    CONF_ALLOW_CONFIGURATION_CHANGES,
    CONF_CONNECTION,
    CONF_EDGE_IDS,
    CONF_HISTORY_DAYS,
    CONNECTION_FEMS_CLOUD,
    DEFAULT_CLOUD_SCAN_INTERVAL,
    DEFAULT_HISTORY_DAYS,
    DOMAIN,
    MAX_CLOUD_SCAN_INTERVAL,
    MAX_HISTORY_DAYS,
    MIN_CLOUD_SCAN_INTERVAL,
)
from ...coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexRuntime,
    async_build_controller,
)
from ...device import EnergyFlexDevice
from ..base import FlowError, IdentifiedDevice, Vendor
from ..fems.control import fems_battery_facts
from .control import FemsCloudControlAdapter
from .entities import (
    FEMS_CLOUD_BINARY_SENSORS,
    FEMS_CLOUD_NUMBERS,
    FEMS_CLOUD_SENSORS,
    edge_is_online,
)
from .statistics import HistoryImporter

_LOGGER = logging.getLogger(__name__)

_SEPARATORS: Final = re.compile(r"[\s,;]+")
# OpenEMS edge ids such as `fems1234`: letters, digits and `_.-`, nothing that needs escaping.
_EDGE_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# Edge configurations are read at setup, a few at a time (the cloud is shared).
_CONFIG_READS_AT_ONCE: Final = 4

_PASSWORD = selector.TextSelector(
    selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
)


def parse_edge_ids(raw: str | Iterable[str]) -> list[str]:
    """Edge ids from the form (a list, or text separated by commas, spaces or lines).

    In the given order, without repeats; `FlowError` for a malformed id or none at all.
    """
    texts = [raw] if isinstance(raw, str) else list(raw)
    edge_ids: list[str] = []
    for text in texts:
        for part in _SEPARATORS.split(str(text)):
            if not part or part in edge_ids:
                continue
            if not _EDGE_ID.fullmatch(part):
                raise FlowError(
                    "invalid_edge_id", field=CONF_EDGE_IDS, placeholders={"edge_id": part[:64]}
                )
            edge_ids.append(part)
    if not edge_ids:
        raise FlowError("no_edge_ids", field=CONF_EDGE_IDS)
    return edge_ids


def account_unique_id(url: str, username: str) -> str:
    """One entry per account: the cloud's host and the login in lower case."""
    return f"{URL(url).host}/{username.strip().lower()}"


def edge_name(edge_id: str) -> str:
    """An edge's device name, as the local FEMS connections name a FEMS."""
    return f"FEMS {edge_id}"


def _monotonic() -> float:
    # Looked up per call, not bound once: a patched clock (tests moving time) moves it too.
    return time.monotonic()


def _client(hass: HomeAssistant, data: Mapping[str, Any]) -> FemsCloudClient:
    return FemsCloudClient(
        async_get_clientsession(hass),
        data[CONF_USERNAME],
        data[CONF_PASSWORD],
        url=data.get(CONF_URL, DEFAULT_URL),
        clock=_monotonic,
    )


def _edges_configured_elsewhere(hass: HomeAssistant, except_unique_id: str) -> set[str]:
    """Edge ids that other entries already show: cloud entries, or a local FEMS by hostname."""
    taken: set[str] = set()
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.unique_id == except_unique_id:
            continue  # this account: the flow aborts or reconfigures it by unique id
        if entry.data.get(CONF_CONNECTION) == CONNECTION_FEMS_CLOUD:
            with contextlib.suppress(FlowError):
                taken.update(parse_edge_ids(entry.data.get(CONF_EDGE_IDS, [])))
        elif entry.unique_id is not None:
            taken.add(entry.unique_id)  # a local FEMS is identified by its hostname
    return taken


@dataclass(frozen=True, slots=True)
class FemsCloudEntryData:
    """What the cloud actions need of a loaded entry (`EnergyFlexRuntime.vendor_data`)."""

    client: FemsCloudClient
    edge_ids: tuple[str, ...]
    allow_configuration_changes: bool
    history: HistoryImporter


class _OnlineLog:
    """One log line when an edge goes offline and one when it is back."""

    def __init__(self) -> None:
        self._online: dict[str, bool] = {}

    def update(self, states: Mapping[str, FemsCloudEdgeState]) -> None:
        for edge_id, state in states.items():
            before = self._online.get(edge_id, True)
            if before and not state.online:
                _LOGGER.warning(
                    "FEMS %s is offline in the FENECON cloud; its entities are unavailable "
                    "until it is back",
                    edge_id,
                )
            elif not before and state.online:
                _LOGGER.info("FEMS %s is online again", edge_id)
            self._online[edge_id] = state.online


def _edge_data(edge_id: str) -> Callable[[Mapping[str, FemsCloudEdgeState]], Any]:
    """Picks one edge's state from a poll."""
    return lambda data: data.get(edge_id)


class FemsCloudVendor(Vendor):
    """FEMS systems through the FENECON cloud (OpenEMS backend JSON-RPC over HTTPS)."""

    menu_id: ClassVar[str] = CONNECTION_FEMS_CLOUD
    secret_keys: ClassVar[tuple[str, ...]] = (CONF_PASSWORD,)

    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """Cloud URL, portal login and the edge ids."""
        edge_ids = defaults.get(CONF_EDGE_IDS)
        return probatio.Schema(
            {
                probatio.Required(CONF_URL, default=defaults.get(CONF_URL, DEFAULT_URL)): (
                    selector.TextSelector(
                        selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
                    )
                ),
                probatio.Required(
                    CONF_USERNAME, default=defaults.get(CONF_USERNAME, probatio.UNDEFINED)
                ): selector.TextSelector(
                    # Text, not e-mail: the portal's logins are e-mail addresses, but the
                    # browser must not refuse one that is not.
                    selector.TextSelectorConfig(
                        type=selector.TextSelectorType.TEXT, autocomplete="username"
                    )
                ),
                probatio.Required(CONF_PASSWORD): _PASSWORD,
                probatio.Required(
                    CONF_EDGE_IDS,
                    default=list(edge_ids) if edge_ids else probatio.UNDEFINED,
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(options=[], multiple=True, custom_value=True)
                ),
            }
        )

    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Log in and check that the account sees every edge; nothing is written."""
        edge_ids = parse_edge_ids(data[CONF_EDGE_IDS])
        try:
            client = _client(hass, data)
        except ValueError as err:
            raise FlowError("invalid_cloud_url", field=CONF_URL) from err
        unique_id = account_unique_id(client.url, data[CONF_USERNAME])
        taken = _edges_configured_elsewhere(hass, unique_id)
        if duplicate := next((edge_id for edge_id in edge_ids if edge_id in taken), None):
            raise FlowError(
                "edge_already_configured", field=CONF_EDGE_IDS, placeholders={"edge_id": duplicate}
            )
        try:
            validation = await client.async_validate(edge_ids)
        except ApiAuthError:
            raise
        except EnergyFlexApiError as err:
            # Rate limits, backend errors and answers that are no JSON-RPC: not reachable.
            raise ApiConnectionError("cloud validation failed") from err
        if validation.not_visible:
            raise FlowError(
                "edge_not_visible",
                field=CONF_EDGE_IDS,
                placeholders={"edge_id": ", ".join(validation.not_visible)},
            )
        return IdentifiedDevice(
            unique_id,
            f"FENECON cloud {data[CONF_USERNAME].strip()}",
            data={**data, CONF_USERNAME: data[CONF_USERNAME].strip(), CONF_EDGE_IDS: edge_ids},
        )

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """Poll interval, the configuration-changes gate and the history backfill."""
        return probatio.Schema(
            {
                probatio.Required(
                    CONF_SCAN_INTERVAL,
                    default=options.get(CONF_SCAN_INTERVAL, DEFAULT_CLOUD_SCAN_INTERVAL),
                ): probatio.All(
                    probatio.Coerce(int),
                    probatio.Range(min=MIN_CLOUD_SCAN_INTERVAL, max=MAX_CLOUD_SCAN_INTERVAL),
                ),
                probatio.Required(
                    CONF_ALLOW_CONFIGURATION_CHANGES,
                    default=options.get(CONF_ALLOW_CONFIGURATION_CHANGES, False),
                ): bool,
                probatio.Required(
                    CONF_HISTORY_DAYS,
                    default=options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS),
                ): probatio.All(probatio.Coerce(int), probatio.Range(min=0, max=MAX_HISTORY_DAYS)),
            }
        )

    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """One coordinator for every edge; a device (and control, if possible) per edge."""
        client = _client(hass, entry.data)
        edge_ids = parse_edge_ids(entry.data[CONF_EDGE_IDS])
        online_log = _OnlineLog()

        async def fetch() -> dict[str, FemsCloudEdgeState]:
            states = await client.async_fetch(edge_ids)
            online_log.update(states)
            return states

        interval = entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_CLOUD_SCAN_INTERVAL)
        coordinator: EnergyFlexCoordinator[dict[str, FemsCloudEdgeState]] = EnergyFlexCoordinator(
            hass, entry, fetch=fetch, update_interval=timedelta(seconds=interval)
        )
        await coordinator.async_config_entry_first_refresh()
        _remove_unconfigured_devices(hass, entry, edge_ids)
        controllers = await _async_find_controllers(client, edge_ids)

        devices: list[EnergyFlexDevice] = []
        for edge_id in edge_ids:
            device = EnergyFlexDevice(
                identity=edge_id,
                info=DeviceInfo(
                    identifiers={(DOMAIN, edge_id)},
                    manufacturer="FENECON",
                    model="FEMS (cloud)",
                    name=edge_name(edge_id),
                    serial_number=edge_id,
                    sw_version=coordinator.data[edge_id].snapshot.version,
                ),
                data=_edge_data(edge_id),
                online=edge_is_online,
                # An offline edge's values are the backend's stale cache: nothing to plan on.
                battery=lambda state: fems_battery_facts(state.snapshot) if state.online else None,
                rated_power=lambda state: state.snapshot.max_apparent_power,
            )
            if (found := controllers.get(edge_id)) is not None:
                adapter = FemsCloudControlAdapter(client, coordinator, edge_id, found)
                storage_key = f"{entry.entry_id}_{edge_id}"
                device.controller = await async_build_controller(
                    hass, coordinator, adapter, storage_key
                )
            devices.append(device)

        history = HistoryImporter(
            hass,
            entry,
            client,
            edge_ids,
            entry.options.get(CONF_HISTORY_DAYS, DEFAULT_HISTORY_DAYS),
        )
        history.async_start()

        def diagnostics() -> dict[str, Any]:
            data = coordinator.data or {}
            return {
                "edges": len(edge_ids),
                "edges_online": sum(state.online for state in data.values()),
                "edges_with_control": len(controllers),
                "poll_interval_s": interval,
                "backoff_remaining_s": client.backoff_remaining_s,
                "history": history.diagnostics(),
            }

        return EnergyFlexRuntime(
            coordinator=coordinator,
            devices=devices,
            sensors=FEMS_CLOUD_SENSORS,
            binary_sensors=FEMS_CLOUD_BINARY_SENSORS,
            numbers=FEMS_CLOUD_NUMBERS,
            diagnostics=diagnostics,
            vendor_data=FemsCloudEntryData(
                client=client,
                edge_ids=tuple(edge_ids),
                allow_configuration_changes=bool(
                    entry.options.get(CONF_ALLOW_CONFIGURATION_CHANGES, False)
                ),
                history=history,
            ),
        )


def _remove_unconfigured_devices(
    hass: HomeAssistant, entry: EnergyFlexConfigEntry, edge_ids: list[str]
) -> None:
    """Edges removed by reconfigure leave no device behind."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        if not any((DOMAIN, edge_id) in device.identifiers for edge_id in edge_ids):
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)


async def _async_find_controllers(
    client: FemsCloudClient, edge_ids: list[str]
) -> dict[str, FixActivePowerController]:
    """Each edge's enabled FixActivePower controller, where it has one (`getEdgeConfig`).

    The backend answers from its metadata, also for offline edges. An edge whose
    configuration it refuses (e.g. no role for it) gets no control; if the cloud cannot be
    asked at all, setup is retried rather than dropping every control entity.
    """
    limit = asyncio.Semaphore(_CONFIG_READS_AT_ONCE)

    async def find(edge_id: str) -> FixActivePowerController | EnergyFlexApiError | None:
        async with limit:
            try:
                return await client.async_find_fix_active_power(edge_id)
            except EnergyFlexApiError as err:
                return err

    results = await asyncio.gather(*(find(edge_id) for edge_id in edge_ids))
    controllers: dict[str, FixActivePowerController] = {}
    for edge_id, result in zip(edge_ids, results, strict=True):
        if isinstance(result, ApiAuthError):
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from result
        if (
            isinstance(result, ApiDeviceError)
            and result.reason != FemsCloudErrorReason.RATE_LIMITED
        ):
            _LOGGER.warning(
                "Cannot read the configuration of FEMS %s (%s): no control", edge_id, result.reason
            )
        elif isinstance(result, EnergyFlexApiError):
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="cannot_connect"
            ) from result
        elif result is None:
            _LOGGER.debug("FEMS %s has no Controller.Ess.FixActivePower: no control", edge_id)
        elif not result.enabled:
            _LOGGER.info(
                "The FixActivePower controller of FEMS %s is disabled: no control", edge_id
            )
        else:
            controllers[edge_id] = result
    return controllers
