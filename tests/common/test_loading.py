"""What loading the integration costs: no transport code before an entry needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from homeassistant.core import HomeAssistant

from custom_components.energy_flex.vendors import MENU_IDS, VENDOR_CLASSES, async_get_vendor
from custom_components.energy_flex.vendors.base import Vendor

ROOT = Path(__file__).resolve().parents[2]
# Every transport's client, and the libraries only some transports need.
TRANSPORT_MODULES = (
    "pymodbus",
    "custom_components.energy_flex.api.fems_modbus",
    "custom_components.energy_flex.api.fems_rest",
    "custom_components.energy_flex.api.sonnen",
    "custom_components.energy_flex.api.flexconnect",
)


def _loaded_after(*imports: str) -> set[str]:
    """The transport modules a fresh interpreter holds after `imports`."""
    code = "; ".join(
        [
            "import sys",
            *(f"import {name}" for name in imports),
            f"print(','.join(m for m in {TRANSPORT_MODULES!r} if m in sys.modules))",
        ]
    )
    # Our own interpreter running our own code: nothing untrusted reaches the command.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name for name in result.stdout.strip().split(",") if name}


def test_importing_the_integration_imports_no_transport() -> None:
    """The integration, its config flow and diagnostics load without pymodbus or any client.

    Home Assistant imports these when it loads the integration, before any entry exists.
    """
    loaded = _loaded_after(
        "custom_components.energy_flex",
        "custom_components.energy_flex.config_flow",
        "custom_components.energy_flex.diagnostics",
    )
    assert loaded == set()


def test_the_check_sees_a_transport_import() -> None:
    """The subprocess check above would see pymodbus if something imported it."""
    assert _loaded_after("custom_components.energy_flex.api.fems_modbus") == {
        "pymodbus",
        "custom_components.energy_flex.api.fems_modbus",
    }


async def test_every_menu_id_loads_its_vendor(hass: HomeAssistant) -> None:
    """Each registry line names a vendor whose menu id is that line's key."""
    assert list(MENU_IDS) == list(VENDOR_CLASSES)
    for menu_id in MENU_IDS:
        vendor = await async_get_vendor(hass, menu_id)
        assert isinstance(vendor, Vendor)
        assert vendor.menu_id == menu_id
        assert await async_get_vendor(hass, menu_id) is vendor
