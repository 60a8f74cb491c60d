"""The vendor connections the integration offers, keyed by menu id (DESIGN §1)."""

from __future__ import annotations

from .base import Vendor
from .fems_modbus import FemsModbusVendor
from .fems_rest import FemsRestVendor
from .flexconnect import FlexConnectVendor
from .powerflex import PowerFlexVendor
from .sonnen import SonnenVendor

# Only connections that exist are offered in the menu; a new vendor adds one line.
VENDORS: dict[str, Vendor] = {
    vendor.menu_id: vendor
    for vendor in (FemsRestVendor(), FemsModbusVendor(), FlexConnectVendor(), SonnenVendor())
}
VENDORS[PowerFlexVendor.menu_id] = PowerFlexVendor()
