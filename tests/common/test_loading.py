"""What loading the integration costs: no transport code before an entry needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import voluptuous as vol
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component

from custom_components.energy_flex.const import DOMAIN
from custom_components.energy_flex.vendors import MENU_IDS, VENDOR_CLASSES, async_get_vendor
from custom_components.energy_flex.vendors.base import Vendor

ROOT = Path(__file__).resolve().parents[2]
API = "custom_components.energy_flex.api"
# Transport clients, and pymodbus: no connection needs it (the simulators use it).
TRANSPORT_MODULES = (
    "pymodbus",
    f"{API}.modbus_tcp",
    f"{API}.fems_modbus",
    f"{API}.fems_rest",
    f"{API}.sonnen",
    f"{API}.flexconnect",
)
# Every connection's client.
CLIENT_MODULES = (*TRANSPORT_MODULES, f"{API}.fems_cloud", f"{API}.powerflex")
CONTROL = "custom_components.energy_flex.control"
PLANNER = "custom_components.energy_flex.planner"
# The cloud connections' action handlers: their actions are registered without them.
ACTION_HANDLERS = (
    "custom_components.energy_flex.vendors.fems_cloud.services",
    "custom_components.energy_flex.vendors.powerflex.services",
)


def _loaded_after(*imports: str, among: tuple[str, ...] = TRANSPORT_MODULES) -> set[str]:
    """The modules of `among` a fresh interpreter holds after `imports`."""
    code = "; ".join(
        [
            "import sys",
            *(f"import {name}" for name in imports),
            f"print(','.join(m for m in {among!r} if m in sys.modules))",
        ]
    )
    # Our own interpreter running our own code: nothing untrusted reaches the command.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name for name in result.stdout.strip().split(",") if name}


def test_importing_the_integration_imports_no_transport() -> None:
    """The integration, its config flow and diagnostics load without any client or any
    connection's action handlers.

    Home Assistant imports these when it loads the integration, before any entry exists.
    """
    loaded = _loaded_after(
        "custom_components.energy_flex",
        "custom_components.energy_flex.config_flow",
        "custom_components.energy_flex.diagnostics",
        among=(*CLIENT_MODULES, *ACTION_HANDLERS),
    )
    assert loaded == set()


def test_a_fems_loads_no_description_class_it_does_not_use() -> None:
    """A FEMS (REST or Modbus) has sensors and setpoint numbers only: the flag and setting
    description classes (each a frozen Home Assistant dataclass, ≈ 28 KiB) stay unloaded.
    """
    extra = (
        "custom_components.energy_flex.descriptions.binary_sensor",
        "custom_components.energy_flex.descriptions.settings",
    )
    fems = [
        f"custom_components.energy_flex.vendors.{VENDOR_CLASSES[menu_id][0]}"
        for menu_id in ("fems_rest", "fems_modbus")
    ]
    loaded = _loaded_after(
        "custom_components.energy_flex",
        "custom_components.energy_flex.config_flow",
        "custom_components.energy_flex.diagnostics",
        "custom_components.energy_flex.sensor",
        *fems,
        among=extra,
    )
    assert loaded == set()
    assert _loaded_after("custom_components.energy_flex.switch", among=extra) == {extra[1]}


def test_control_and_planning_load_only_with_a_controlled_device() -> None:
    """Neither control nor the planner is imported by the integration, its platforms or
    any vendor (PowerFlex's site settings go through `settings_control`).

    `coordinator.async_build_controller` imports control for a device Energy Flex
    controls, `async_setup_entry` the planner for such a battery; an installation that
    only reads its devices never loads either.
    """
    vendors = [
        f"custom_components.energy_flex.vendors.{module}" for module, _ in VENDOR_CLASSES.values()
    ]
    platforms = [
        f"custom_components.energy_flex.{platform}"
        for platform in ("sensor", "binary_sensor", "button", "number", "select", "switch")
    ]
    loaded = _loaded_after(
        "custom_components.energy_flex",
        "custom_components.energy_flex.config_flow",
        "custom_components.energy_flex.diagnostics",
        *platforms,
        *vendors,
        among=(CONTROL, PLANNER),
    )
    assert loaded == set()
    assert _loaded_after(PLANNER, among=(CONTROL, PLANNER)) == {CONTROL, PLANNER}


@pytest.mark.parametrize("menu_id", list(VENDOR_CLASSES))
def test_a_connection_loads_only_its_own_transport(menu_id: str) -> None:
    """What an entry of one connection imports (its vendor module): its client, no pymodbus.

    A FEMS Modbus entry runs on `api/modbus_tcp` and never imports pymodbus; no other
    connection loads the Modbus code. This also shows the check sees an import.
    """
    module, _class_name = VENDOR_CLASSES[menu_id]
    loaded = _loaded_after(f"custom_components.energy_flex.vendors.{module}", among=CLIENT_MODULES)
    assert "pymodbus" not in loaded
    assert (f"{API}.modbus_tcp" in loaded) is (menu_id == "fems_modbus")
    assert f"{API}.{menu_id}" in loaded


def test_the_check_sees_pymodbus() -> None:
    """The subprocess check above would see pymodbus if something imported it."""
    assert _loaded_after("simulators.fems_modbus") == {"pymodbus"}


async def test_every_menu_id_loads_its_vendor(hass: HomeAssistant) -> None:
    """Each registry line names a vendor whose menu id is that line's key."""
    assert list(MENU_IDS) == list(VENDOR_CLASSES)
    for menu_id in MENU_IDS:
        vendor = await async_get_vendor(hass, menu_id)
        assert isinstance(vendor, Vendor)
        assert vendor.menu_id == menu_id
        assert await async_get_vendor(hass, menu_id) is vendor


async def test_cloud_actions_load_their_handlers_at_the_first_call(hass: HomeAssistant) -> None:
    """With no cloud entry, a cloud action still validates and refuses with its own error.

    The actions are registered at setup; their handlers (and clients) load with the first
    call, so the refusal proves the lazy path reaches the real handler.
    """
    assert await async_setup_component(hass, DOMAIN, {})
    assert hass.services.has_service(DOMAIN, "get_edge_config")
    assert hass.services.has_service(DOMAIN, "get_target_peak_power")
    refusals = {
        "get_edge_config": "not_a_fems_cloud_edge",
        "get_target_peak_power": "not_a_powerflex_site",
    }
    for action, translation_key in refusals.items():
        with pytest.raises(ServiceValidationError) as excinfo:
            await hass.services.async_call(
                DOMAIN, action, {"device_id": "no-such-device"}, blocking=True, return_response=True
            )
        assert excinfo.value.translation_key == translation_key
    # A value its schema cannot read is refused before any handler loads or runs.
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "set_site_limit", {"device_id": "x", "max_load": "lots"}, blocking=True
        )
