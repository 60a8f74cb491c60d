"""FlexHome FlexConnect: the config form, identity and entry runtime.

One entry is one development client (its URL) and the batteries it should show, each
identified by its SKI and each its own device. An SKI belongs to one entry only.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import probatio
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo

from ...api.errors import ApiConnectionError, EnergyFlexApiError
from ...api.flexconnect import DEFAULT_URL, FlexConnectClient, normalize_ski, normalize_url
from ...const import (
    CONF_CONNECTION,
    CONF_DEVICE_IDS,
    CONF_MAX_CHARGE_POWER,
    CONF_MAX_DISCHARGE_POWER,
    CONNECTION_FLEXCONNECT,
    DOMAIN,
)
from ...coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexRuntime,
    async_build_controller,
)
from ...device import EnergyFlexDevice
from ..base import FlowError, IdentifiedDevice, Vendor
from .control import FlexConnectControlAdapter, control_mode_select, flexconnect_battery_facts
from .entities import (
    FLEXCONNECT_BINARY_SENSORS,
    FLEXCONNECT_NUMBERS,
    FLEXCONNECT_SENSORS,
    FlexConnectBatteryData,
)
from .polling import NORMAL_INTERVAL, BatteryPoller, CommandTracker

# Without a battery data sheet these bound commands until the user sets the real limits.
DEFAULT_MAX_POWER = 5000
_MAX_POWER = probatio.All(probatio.Coerce(int), probatio.Range(min=0, max=100_000))
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_device_ids(raw: str | Iterable[str]) -> list[str]:
    """SKIs from the form (a list, or text separated by commas, spaces or lines).

    Upper case, in the given order, without repeats; `ValueError` if any is not an SKI
    or none is given.
    """
    texts = [raw] if isinstance(raw, str) else list(raw)
    skis: list[str] = []
    for text in texts:
        for part in _SEPARATORS.split(text):
            if part and (ski := normalize_ski(part)) not in skis:
                skis.append(ski)
    if not skis:
        raise ValueError("no SKI given")
    return skis


def battery_name(ski: str) -> str:
    """A battery's device name: the start of its SKI, as in the vendor's e-mail."""
    return f"FlexConnect battery {ski[:8]}"


def _battery_data(ski: str) -> Callable[[Mapping[str, FlexConnectBatteryData]], Any]:
    """Picks one battery from a poll; a battery that did not answer is unavailable."""
    return lambda data: data.get(ski)


def _battery_answered(ski: str) -> Callable[[Mapping[str, FlexConnectBatteryData]], bool]:
    """Whether one battery answered the last poll (its pending release can go out)."""
    return lambda data: ski in data


def _configured_skis(hass: HomeAssistant, except_unique_id: str) -> set[str]:
    """SKIs of every other FlexConnect entry."""
    skis: set[str] = set()
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_CONNECTION) != CONNECTION_FLEXCONNECT:
            continue
        if entry.unique_id == except_unique_id:
            continue  # the same batteries: the flow aborts (or reconfigures) by unique id
        try:
            skis.update(parse_device_ids(entry.data.get(CONF_DEVICE_IDS, [])))
        except ValueError:
            continue
    return skis


class FlexConnectVendor(Vendor):
    """FlexHome batteries through the FlexConnect development client (local HTTP)."""

    menu_id: ClassVar[str] = CONNECTION_FLEXCONNECT
    # The local client needs no credentials: the cloud keys stay in its .env file.
    secret_keys: ClassVar[tuple[str, ...]] = ()

    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """The client's URL and the batteries' SKIs."""
        device_ids = defaults.get(CONF_DEVICE_IDS)
        return probatio.Schema(
            {
                probatio.Required(CONF_URL, default=defaults.get(CONF_URL, DEFAULT_URL)): (
                    selector.TextSelector(
                        selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
                    )
                ),
                probatio.Required(
                    CONF_DEVICE_IDS,
                    default=list(device_ids) if device_ids else probatio.UNDEFINED,
                ): selector.TextSelector(selector.TextSelectorConfig(multiple=True)),
            }
        )

    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Check the SKIs, reach the client, and have every battery answer once."""
        try:
            skis = parse_device_ids(data[CONF_DEVICE_IDS])
        except ValueError as err:
            raise FlowError("invalid_ski") from err
        unique_id = ",".join(sorted(skis))
        if _configured_skis(hass, unique_id) & set(skis):
            raise FlowError("ski_already_configured")
        try:
            url = normalize_url(data[CONF_URL])
        except ValueError as err:
            raise FlowError("invalid_url") from err
        client = FlexConnectClient(async_get_clientsession(hass), url)
        try:
            await client.async_get_version()
        except EnergyFlexApiError as err:
            raise ApiConnectionError("no FlexConnect client") from err
        try:
            async with asyncio.TaskGroup() as group:
                for ski in skis:
                    group.create_task(client.async_get_battery_state(ski))
        except* EnergyFlexApiError as errors:
            raise FlowError("battery_not_answering") from errors.exceptions[0]
        title = "FlexConnect " + ", ".join(ski[:8] for ski in skis)
        return IdentifiedDevice(unique_id=unique_id, title=title)

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """The power the batteries may be commanded to, which FlexConnect does not report."""
        return probatio.Schema(
            {
                probatio.Required(
                    CONF_MAX_CHARGE_POWER,
                    default=options.get(CONF_MAX_CHARGE_POWER, DEFAULT_MAX_POWER),
                ): _MAX_POWER,
                probatio.Required(
                    CONF_MAX_DISCHARGE_POWER,
                    default=options.get(CONF_MAX_DISCHARGE_POWER, DEFAULT_MAX_POWER),
                ): _MAX_POWER,
            }
        )

    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """One device, controller and adapter per battery; one coordinator for all."""
        client = FlexConnectClient(async_get_clientsession(hass), entry.data[CONF_URL])
        skis = parse_device_ids(entry.data[CONF_DEVICE_IDS])
        names = {ski: battery_name(ski) for ski in skis}

        async def fetch() -> dict[str, FlexConnectBatteryData]:
            return await poller.async_poll()

        coordinator: EnergyFlexCoordinator[dict[str, FlexConnectBatteryData]] = (
            EnergyFlexCoordinator(hass, entry, fetch=fetch, update_interval=NORMAL_INTERVAL)
        )
        tracker = CommandTracker(hass, coordinator, names)
        poller = BatteryPoller(client, skis, tracker, names)
        entry.async_on_unload(tracker.async_unload)
        await coordinator.async_config_entry_first_refresh()
        try:
            version = await client.async_get_version()
        except EnergyFlexApiError:
            version = None

        limits = (
            float(entry.options.get(CONF_MAX_CHARGE_POWER, DEFAULT_MAX_POWER)),
            float(entry.options.get(CONF_MAX_DISCHARGE_POWER, DEFAULT_MAX_POWER)),
        )
        adapters: dict[str, FlexConnectControlAdapter] = {}
        devices: list[EnergyFlexDevice] = []
        for ski in skis:
            storage_key = f"{entry.entry_id}_{ski}"
            adapter = FlexConnectControlAdapter(
                hass,
                client,
                coordinator,
                ski=ski,
                storage_key=storage_key,
                power_limits=limits,
                on_sent=tracker.sent,
            )
            await adapter.async_load()
            adapters[ski] = adapter
            devices.append(
                EnergyFlexDevice(
                    identity=ski,
                    info=DeviceInfo(
                        identifiers={(DOMAIN, ski)},
                        manufacturer="FlexHome.Energy",
                        model="Battery (FlexConnect)",
                        name=names[ski],
                        serial_number=ski,
                        # No "Visit" link: a battery has no web interface of its own, and
                        # the development client's /ui is an API console (often at a
                        # localhost address that means nothing to the browser).
                    ),
                    data=_battery_data(ski),
                    battery=flexconnect_battery_facts,
                    controller=await async_build_controller(
                        hass,
                        coordinator,
                        adapter,
                        storage_key,
                        answered=_battery_answered(ski),
                    ),
                )
            )

        def diagnostics() -> dict[str, Any]:
            interval = coordinator.update_interval
            return {
                "client_version": version,
                "batteries": len(skis),
                "requests_sent": client.requests_sent,
                "poll_interval_s": interval.total_seconds() if interval else None,
                "pending_commands": sum(tracker.command(ski) is not None for ski in skis),
            }

        return EnergyFlexRuntime(
            coordinator=coordinator,
            devices=devices,
            sensors=FLEXCONNECT_SENSORS,
            binary_sensors=FLEXCONNECT_BINARY_SENSORS,
            numbers=FLEXCONNECT_NUMBERS,
            selects=(control_mode_select(adapters),),
            diagnostics=diagnostics,
        )
