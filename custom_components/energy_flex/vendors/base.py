"""What every vendor provides to the config flow and to entry setup."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import probatio
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from yarl import URL

from ..const import DOMAIN
from ..coordinator import EnergyFlexConfigEntry, EnergyFlexRuntime


@dataclass(frozen=True, slots=True)
class IdentifiedDevice:
    """What the config flow learns from a device before creating its entry."""

    unique_id: str
    title: str
    # True when `unique_id` is only the address, so reconfigure may change it.
    address_based: bool = False
    # The entry data to store when the vendor normalised the form's (else it is stored as given).
    data: Mapping[str, Any] | None = None

    @classmethod
    def by_address(
        cls, data: Mapping[str, Any], product: str, connection: str | None = None
    ) -> IdentifiedDevice:
        """The last resort when the device tells no identity: its host and port."""
        host = data[CONF_HOST]
        return cls(
            f"{host}:{data[CONF_PORT]}",
            entry_title(f"{product} {host}", connection),
            address_based=True,
        )


def entry_title(device_name: str, connection: str | None) -> str:
    """A new entry's title: the device, and how it is reached where a product has several.

    Two entries of one FEMS (REST and Modbus) must be told apart in the entry list; the
    device name itself stays short, since entity ids are built from it.
    """
    return f"{device_name} ({connection})" if connection else device_name


def web_ui_url(host: str, port: int = 80) -> str:
    """The device's own web interface (the "Visit" link), never an API port."""
    return str(URL.build(scheme="http", host=host, port=None if port == 80 else port))


PORT = probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=65535))


def host_port_fields(defaults: Mapping[str, Any], default_port: int) -> dict[Any, Any]:
    """The host and port fields every local connection's form starts with."""
    return {
        probatio.Required(CONF_HOST, default=defaults.get(CONF_HOST, probatio.UNDEFINED)): str,
        probatio.Required(CONF_PORT, default=defaults.get(CONF_PORT, default_port)): PORT,
    }


def local_device_info(
    entry: EnergyFlexConfigEntry,
    *,
    name: str,
    manufacturer: str,
    model: str,
    web_ui: bool,
    model_id: str | None = None,
    sw_version: str | None = None,
    serial_number: str | None = None,
) -> DeviceInfo:
    """The device of a single-device local entry, identified like the entry.

    `name` is the device's own (product and identity), not the entry title, which the
    user may rename and which names the connection. `web_ui`: the device serves its web
    interface on port 80 of the configured host, so "Visit" opens it.
    """
    assert entry.unique_id is not None  # every entry is created with one
    return DeviceInfo(
        identifiers={(DOMAIN, entry.unique_id)},
        manufacturer=manufacturer,
        model=model,
        model_id=model_id,
        name=name,
        configuration_url=web_ui_url(entry.data[CONF_HOST]) if web_ui else None,
        sw_version=sw_version,
        serial_number=serial_number,
    )


class FlowError(Exception):
    """A vendor-specific config-flow error; `key` is a translated error id.

    `field` is the form field it belongs to (`base` = the whole form); `placeholders`
    fill the translation (e.g. which of several ids failed).
    """

    def __init__(
        self, key: str, *, field: str = "base", placeholders: Mapping[str, str] | None = None
    ) -> None:
        """Carry the error id the form shows, where, and its placeholders."""
        super().__init__(key)
        self.key = key
        self.field = field
        self.placeholders = dict(placeholders or {})


class Vendor(ABC):
    """One connection of the vendor menu (DESIGN §1)."""

    menu_id: ClassVar[str]
    # Fields that hold secrets: asked again on reauth and redacted in diagnostics.
    secret_keys: ClassVar[tuple[str, ...]]

    @abstractmethod
    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """The setup (and reconfigure) form, prefilled with `defaults`."""

    @abstractmethod
    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Reach the device with `data`; raise client errors or `FlowError`."""

    @abstractmethod
    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema:
        """The options form, prefilled with the entry's `options`."""

    @abstractmethod
    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """Build the client, coordinator and devices of a loaded entry."""
