"""sonnenBatterie over the local API v1: the config form, identity and entry runtime."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import probatio
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util

from ...api.errors import ApiDeviceError, ApiResponseError, EnergyFlexApiError
from ...api.sonnen import API_DISABLED, DEFAULT_PORT, SonnenClient
from ...const import CONF_INVERTER_MAX_POWER, CONNECTION_SONNEN, DOMAIN, LOCAL_POLL_INTERVAL
from ...coordinator import (
    EnergyFlexConfigEntry,
    EnergyFlexCoordinator,
    EnergyFlexRuntime,
    async_build_controller,
)
from ...descriptions import BATTERY_POWER_SETPOINT
from ...device import EnergyFlexDevice
from ...energy_integrator import EnergyIntegrator
from ...plausibility import rated_power
from ..base import FlowError, IdentifiedDevice, Vendor, host_port_fields, local_device_info
from .control import SonnenControlAdapter, sonnen_battery_facts
from .entities import (
    SONNEN_BINARY_SENSORS,
    SONNEN_SENSORS,
    SonnenData,
    power_sample,
)

if TYPE_CHECKING:
    from ...control import SetpointController

_LOGGER = logging.getLogger(__name__)

# A device or Home Assistant away for longer than this leaves the counters alone.
MAX_INTEGRATION_GAP: Final = LOCAL_POLL_INTERVAL * 3

_MAX_POWER = probatio.All(probatio.Coerce(int), probatio.Range(min=100, max=100_000))


class SonnenVendor(Vendor):
    """sonnenBatterie, local JSON API v1 on port 8080 (no credentials)."""

    menu_id: ClassVar[str] = CONNECTION_SONNEN
    secret_keys: ClassVar[tuple[str, ...]] = ()

    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """Host and port of the unit."""
        return probatio.Schema(
            {
                **host_port_fields(defaults, DEFAULT_PORT),
            }
        )

    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Read the status once; identify by serial number where the unit tells it."""
        client = SonnenClient(async_get_clientsession(hass), data[CONF_HOST], data[CONF_PORT])
        try:
            await client.async_get_status()
            serial = await client.async_get_serial_number()
        except ApiDeviceError as err:
            if err.reason == API_DISABLED:
                raise FlowError("sonnen_api_disabled") from err
            raise FlowError("sonnen_device_error") from err
        except ApiResponseError as err:
            raise FlowError("sonnen_not_recognised") from err
        if serial:
            return IdentifiedDevice(serial, f"sonnenBatterie {serial}")
        # Firmware that offers no configuration endpoint: the address is all there is.
        return IdentifiedDevice.by_address(data, "sonnenBatterie")

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """The maximum power where the unit does not report its inverter's (a cap else)."""
        return probatio.Schema(
            {
                probatio.Optional(
                    CONF_INVERTER_MAX_POWER,
                    description={"suggested_value": options.get(CONF_INVERTER_MAX_POWER)},
                ): _MAX_POWER,
            }
        )

    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """One device with integrated counters and control."""
        client = SonnenClient(
            async_get_clientsession(hass), entry.data[CONF_HOST], entry.data[CONF_PORT]
        )
        integrator = EnergyIntegrator(hass, entry.entry_id, max_gap=MAX_INTEGRATION_GAP)
        await integrator.async_load()
        entry.async_on_unload(integrator.async_save)
        coordinator: EnergyFlexCoordinator[SonnenData] = EnergyFlexCoordinator(
            hass,
            entry,
            fetch=_poller(hass, entry, client, integrator),
            update_interval=LOCAL_POLL_INTERVAL,
        )
        await coordinator.async_config_entry_first_refresh()
        try:
            software = await client.async_get_software_version()
            serial = await client.async_get_serial_number()
            # A rating that cannot be true bounds nothing: as if the unit did not say.
            inverter_max_power = rated_power(await client.async_get_inverter_max_power())
        except EnergyFlexApiError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN, translation_key="cannot_connect"
            ) from err
        integrator.rated_power_w = inverter_max_power
        assert entry.unique_id is not None  # every entry is created with one
        device = EnergyFlexDevice(
            identity=entry.unique_id,
            info=local_device_info(
                entry,
                name=f"sonnenBatterie {serial or entry.data[CONF_HOST]}",
                manufacturer="sonnen",
                model="sonnenBatterie (local API v1)",
                # The sonnen dashboard is on port 80; the JSON API's port 8080 has no pages.
                web_ui=True,
                sw_version=software,
                serial_number=serial,
            ),
            battery=sonnen_battery_facts,
            rated_power=lambda _data: inverter_max_power,
        )
        adapter = SonnenControlAdapter(
            hass,
            client,
            coordinator,
            entry.entry_id,
            inverter_max_power=inverter_max_power,
            option_max_power=entry.options.get(CONF_INVERTER_MAX_POWER),
        )
        await adapter.async_load()
        controller = await async_build_controller(hass, coordinator, adapter, entry.entry_id)
        device.controller = controller

        async def hand_back_at_stop(_event: Event) -> None:
            await adapter.async_hand_back()

        # A plain listener (not "once"): removing it on a later unload is always valid.
        entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, hand_back_at_stop))
        if adapter.found_mode is not None:
            _release_if_left_in_manual_mode(hass, entry, adapter, controller)
        return EnergyFlexRuntime(
            coordinator=coordinator,
            devices=[device],
            sensors=SONNEN_SENSORS,
            binary_sensors=SONNEN_BINARY_SENSORS,
            numbers=(BATTERY_POWER_SETPOINT,),
            diagnostics=lambda: {
                "inverter_max_power": inverter_max_power,
                "option_max_power": entry.options.get(CONF_INVERTER_MAX_POWER),
                "found_mode": adapter.found_mode,
                "energy_integrator": integrator.diagnostics(),
            },
        )


def api_disabled_issue_id(entry: EnergyFlexConfigEntry) -> str:
    """The repair issue raised while the unit's JSON API is switched off."""
    return f"sonnen_api_disabled_{entry.entry_id}"


def _poller(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    client: SonnenClient,
    integrator: EnergyIntegrator,
) -> Callable[[], Awaitable[SonnenData]]:
    """One status GET per poll, fed to the energy counters."""

    async def poll() -> SonnenData:
        try:
            status = await client.async_get_status()
        except ApiDeviceError as err:
            if err.reason == API_DISABLED:
                ir.async_create_issue(
                    hass,
                    DOMAIN,
                    api_disabled_issue_id(entry),
                    is_fixable=False,
                    severity=ir.IssueSeverity.ERROR,
                    translation_key=API_DISABLED,
                    translation_placeholders={"title": entry.title},
                )
            raise
        ir.async_delete_issue(hass, DOMAIN, api_disabled_issue_id(entry))
        energy = integrator.add(power_sample(status), dt_util.utcnow())
        return SonnenData(status=status, energy=energy)

    return poll


def _release_if_left_in_manual_mode(
    hass: HomeAssistant,
    entry: EnergyFlexConfigEntry,
    adapter: SonnenControlAdapter,
    controller: SetpointController,
) -> None:
    """A mode is still remembered once the held commands are restored: hand the unit back.

    The controller releases what it stored; if it stored nothing, Home Assistant stopped
    between switching the unit to manual and storing the command (or a release failed),
    and the unit would otherwise keep the last setpoint. If the unit does not answer now,
    the release is finished after the next poll it answers.
    """
    unsubscribe: Callable[[], None] | None = None

    @callback
    def loaded() -> None:
        assert unsubscribe is not None
        unsubscribe()
        if (
            entry.state is ConfigEntryState.LOADED
            and not controller.active
            and adapter.found_mode is not None
        ):
            entry.async_create_background_task(hass, _release(controller), "sonnen hand back")

    unsubscribe = entry.async_on_state_change(loaded)


async def _release(controller: SetpointController) -> None:
    try:
        await controller.async_release(keep_trying=True)
    except HomeAssistantError as err:
        _LOGGER.warning("Could not hand the sonnenBatterie back: %s", err)
