"""Config flow: a vendor menu, one form per connection, reauth, reconfigure, options."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, override

import probatio
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .api.errors import ApiAuthError, ApiConnectionError
from .const import (
    CONF_CONNECTION,
    CONNECTION_FEMS_CLOUD,
    CONNECTION_FEMS_MODBUS,
    CONNECTION_FEMS_REST,
    CONNECTION_FLEXCONNECT,
    CONNECTION_POWERFLEX,
    CONNECTION_SONNEN,
    DOMAIN,
)
from .coordinator import EnergyFlexConfigEntry
from .vendors import MENU_IDS, async_get_vendor
from .vendors.base import FlowError, IdentifiedDevice, Vendor

_LOGGER = logging.getLogger(__name__)


async def _async_identify(
    hass: HomeAssistant, vendor: Vendor, data: Mapping[str, Any]
) -> tuple[IdentifiedDevice | None, dict[str, str], dict[str, str]]:
    """Reach the device; on failure return the form error (and its placeholders) instead."""
    try:
        return await vendor.async_identify(hass, data), {}, {}
    except ApiAuthError:
        error = "invalid_auth"
    except ApiConnectionError:
        error = "cannot_connect"
    except FlowError as err:
        return None, {err.field: err.key}, err.placeholders
    except Exception:
        _LOGGER.exception("Unexpected error while setting up %s", vendor.menu_id)
        error = "unknown"
    return None, {"base": error}, {}


def _without_secrets(vendor: Vendor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Form defaults never carry stored secrets back to the browser."""
    return {key: value for key, value in data.items() if key not in vendor.secret_keys}


def _clean(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Drop optional fields the user left empty."""
    return {key: value for key, value in user_input.items() if value not in (None, "")}


def _move_identity(hass: HomeAssistant, entry: EnergyFlexConfigEntry, new_id: str) -> None:
    """Carry an address-identified device and its entities over to its new address.

    The device identifier and the entities' unique ids are built from the entry's unique
    id; without this, the reloaded entry would create a new device and new entities and
    orphan the old ones, with their history, names and automations.
    """
    old_id = entry.unique_id
    assert old_id is not None  # every entry is created with one
    devices = dr.async_get(hass)
    if device := devices.async_get_device_by_identifier((DOMAIN, old_id), entry.entry_id):
        devices.async_update_device(device.id, new_identifiers={(DOMAIN, new_id)})
    entities = er.async_get(hass)
    prefix = f"{old_id}_"
    for entity in er.async_entries_for_config_entry(entities, entry.entry_id):
        if entity.unique_id.startswith(prefix):
            entities.async_update_entity(
                entity.entity_id, new_unique_id=f"{new_id}_{entity.unique_id.removeprefix(prefix)}"
            )


class EnergyFlexConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one connection of one vendor."""

    VERSION = 1

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user pick a vendor connection."""
        return self.async_show_menu(step_id="user", menu_options=list(MENU_IDS))

    async def async_step_fems_rest(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """FENECON FEMS over local REST/JSON."""
        return await self._async_step_connection(CONNECTION_FEMS_REST, user_input)

    async def async_step_fems_modbus(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """FENECON FEMS over local Modbus/TCP."""
        return await self._async_step_connection(CONNECTION_FEMS_MODBUS, user_input)

    async def async_step_flexconnect(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """FlexHome batteries through the FlexConnect development client."""
        return await self._async_step_connection(CONNECTION_FLEXCONNECT, user_input)

    async def async_step_sonnen(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The sonnenBatterie over its local JSON API v1."""
        return await self._async_step_connection(CONNECTION_SONNEN, user_input)

    async def async_step_fems_cloud(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """FENECON FEMS systems (edges) of one FENECON cloud account."""
        return await self._async_step_connection(CONNECTION_FEMS_CLOUD, user_input)

    async def async_step_powerflex(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A PowerFlex EV-charging site through the PowerFlex cloud."""
        return await self._async_step_connection(CONNECTION_POWERFLEX, user_input)

    async def _async_step_connection(
        self, menu_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        vendor = await async_get_vendor(self.hass, menu_id)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data = _clean(user_input)
            device, errors, placeholders = await _async_identify(self.hass, vendor, data)
            if device is not None:
                data = dict(device.data) if device.data is not None else data
                await self.async_set_unique_id(device.unique_id)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=device.title, data={CONF_CONNECTION: menu_id, **data}
                )
        return self.async_show_form(
            step_id=menu_id,
            data_schema=vendor.form_schema(_without_secrets(vendor, user_input or {})),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The device rejected the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask again for the secrets only."""
        entry = self._get_reauth_entry()
        vendor = await async_get_vendor(self.hass, entry.data[CONF_CONNECTION])
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            # Secrets left empty are removed (e.g. a write password no longer wanted).
            data = _without_secrets(vendor, entry.data) | _clean(user_input)
            device, errors, placeholders = await _async_identify(self.hass, vendor, data)
            if device is not None:
                data = dict(device.data) if device.data is not None else data
                await self.async_set_unique_id(device.unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(entry, data=data)
        form = vendor.form_schema(_without_secrets(vendor, entry.data))
        schema = probatio.Schema(
            {key: value for key, value in form.schema.items() if key in vendor.secret_keys}
        )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=schema,
            errors=errors,
            description_placeholders={**placeholders, "title": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how the device is reached (address, ports, passwords)."""
        entry = self._get_reconfigure_entry()
        vendor = await async_get_vendor(self.hass, entry.data[CONF_CONNECTION])
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_CONNECTION: entry.data[CONF_CONNECTION], **_clean(user_input)}
            device, errors, placeholders = await _async_identify(self.hass, vendor, data)
            if device is not None:
                data = dict(device.data) if device.data is not None else data
                if device.address_based:
                    # Only the address identifies this device; a new address is a new id.
                    if device.unique_id != entry.unique_id:
                        if device.unique_id in self._async_current_ids():
                            # Another entry has that address (ignored ones included).
                            return self.async_abort(reason="already_configured")
                        _move_identity(self.hass, entry, device.unique_id)
                    return self.async_update_reload_and_abort(
                        entry, unique_id=device.unique_id, data=data
                    )
                await self.async_set_unique_id(device.unique_id)
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id=SOURCE_RECONFIGURE,
            data_schema=vendor.form_schema(_without_secrets(vendor, user_input or entry.data)),
            errors=errors,
            description_placeholders=placeholders,
        )

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: EnergyFlexConfigEntry) -> EnergyFlexOptionsFlow:
        """Options of the entry's vendor."""
        return EnergyFlexOptionsFlow()


class EnergyFlexOptionsFlow(OptionsFlowWithReload):
    """Vendor options; saving reloads the entry."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the vendor's options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        vendor = await async_get_vendor(self.hass, self.config_entry.data[CONF_CONNECTION])
        schema = vendor.options_schema(self.config_entry.options)
        return self.async_show_form(step_id="init", data_schema=schema)
