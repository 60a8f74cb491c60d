"""The vendor connections the integration offers, keyed by menu id (DESIGN §1).

A connection's code (its `setup` module and its client, e.g. the FEMS Modbus client and
its Modbus/TCP framing) is imported only when a flow or an entry of that connection needs
it, in Home Assistant's import executor, so an installation pays only for the connections
it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.importlib import async_import_module

if TYPE_CHECKING:
    from .base import Vendor

# Only connections that exist are offered in the menu, in this order. A new vendor adds
# one line: menu id → (its module under vendors/, its `Vendor` class).
VENDOR_CLASSES: Final[dict[str, tuple[str, str]]] = {
    "fems_rest": ("fems_rest.setup", "FemsRestVendor"),
    "fems_modbus": ("fems_modbus.setup", "FemsModbusVendor"),
    "flexconnect": ("flexconnect.setup", "FlexConnectVendor"),
    "sonnen": ("sonnen.setup", "SonnenVendor"),
    "powerflex": ("powerflex.setup", "PowerFlexVendor"),
    "fems_cloud": ("fems_cloud.setup", "FemsCloudVendor"),
}
MENU_IDS: Final = tuple(VENDOR_CLASSES)

_loaded: dict[str, Vendor] = {}


async def async_get_vendor(hass: HomeAssistant, menu_id: str) -> Vendor:
    """The vendor of a connection, importing its code on first use."""
    if (vendor := _loaded.get(menu_id)) is None:
        module_name, class_name = VENDOR_CLASSES[menu_id]
        module = await async_import_module(hass, f"{__name__}.{module_name}")
        vendor = _loaded[menu_id] = getattr(module, class_name)()
    return vendor
