"""sonnen entities in a real Home Assistant: every profile, signs, unknown, availability."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import DOMAIN
from simulators.sonnen import SonnenSimulator

from .conftest import (
    PROFILE_NAMES,
    SERIAL,
    FakeClock,
    entity_id,
    make_sonnen,
    setup_sonnen_entry,
    state,
)

# What each profile's firmware calls the unit (DE_Ticket_Number), if it tells.
IDENTITY = {"eu_current": "330123", "eu_old": "212345", "us": "US81234", "tn007": None}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
async def test_values_on_every_profile(hass: HomeAssistant, clock: FakeClock, profile: str) -> None:
    """PV 2 kW, house 1 kW, self-consumption: the same values whatever the firmware."""
    async with make_sonnen(profile, clock=clock) as simulator:
        identity = IDENTITY[profile] or f"127.0.0.1:{simulator.port}"
        await setup_sonnen_entry(hass, simulator, unique_id=identity)

        def value(key: str, platform: str = "sensor") -> str:
            return state(hass, key, platform, identity=identity)

        assert float(value("state_of_charge")) == 47  # USOC
        assert float(value("relative_state_of_charge")) == 50  # RSOC
        assert float(value("battery_power")) == -1000
        assert float(value("battery_charge_power")) == 1000
        assert float(value("battery_discharge_power")) == 0
        # tn007 has no GridFeedIn_W: 1000 − 2000 − (−1000) = 0, computed.
        assert float(value("grid_power")) == 0
        assert float(value("production_power")) == 2000
        assert float(value("consumption_power")) == 1000
        assert float(value("ac_voltage")) == (240 if profile == "us" else 234)
        assert float(value("ac_frequency")) == (60 if profile == "us" else pytest.approx(49.98))
        if profile in ("eu_current", "eu_old"):
            assert float(value("stored_energy")) == 5.0  # kWh
            assert value("operating_mode") == "automatic"
            assert value("grid_mode") == "on_grid"
            assert value("discharge_not_allowed", "binary_sensor") == STATE_OFF
        if profile == "us":
            assert value("operating_mode") == "self_consumption"
            assert float(value("backup_buffer")) == 5
        # Keys a firmware does not send at all get no entity (not one unknown forever):
        # neither remaining-capacity key nor `dischargeNotAllowed` on the US ecoLinx and in
        # TN007, and TN007's ten keys have no mode, grid state or backup buffer.
        absent = {
            "eu_current": set(),  # `Apparent_output` is null there: sent, so it has one
            "eu_old": set(),
            "us": {"stored_energy", "consumption_average_power", "apparent_power"},
            "tn007": {"stored_energy", "consumption_average_power", "apparent_power",
                      "operating_mode", "grid_mode", "backup_buffer"},
        }[profile]  # fmt: skip
        registry = er.async_get(hass)
        for key in ("stored_energy", "consumption_average_power", "apparent_power",
                    "operating_mode", "grid_mode", "backup_buffer"):  # fmt: skip
            found = registry.async_get_entity_id("sensor", DOMAIN, f"{identity}_{key}")
            assert (found is None) == (key in absent), key
        flag = registry.async_get_entity_id(
            "binary_sensor", DOMAIN, f"{identity}_discharge_not_allowed"
        )
        assert (flag is None) == (profile in ("us", "tn007"))
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"GridFeedIn_W": 800}, -800),  # feeding in 800 W is exporting
        ({"GridFeedIn_W": -543.0}, 543),  # buying is importing
        ({"GridFeedIn_W": "-120"}, 120),
        # Without GridFeedIn_W: consumption − production − battery (ecoLinx v7.2).
        (
            {"GridFeedIn_W": None, "Consumption_W": 3000, "Production_W": 500, "Pac_total_W": 1000},
            1500,
        ),
        ({"GridFeedIn_W": None, "Consumption_W": None}, None),
    ],
)
async def test_grid_power_is_import_positive(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    overrides: dict[str, Any],
    expected: float | None,
) -> None:
    """sonnen's feed-in sign is inverted into Home Assistant's (+ import, − export)."""
    sonnen.overrides.update(overrides)
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    shown = state(hass, "grid_power")
    assert (shown == STATE_UNKNOWN) if expected is None else float(shown) == expected


async def test_battery_split_while_discharging(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """+ discharge stays positive; the split shows it as discharge power."""
    sonnen.overrides["Pac_total_W"] = "2500"
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    assert float(state(hass, "battery_power")) == 2500
    assert float(state(hass, "battery_discharge_power")) == 2500
    assert float(state(hass, "battery_charge_power")) == 0


async def test_unknown_values_are_never_zero(
    hass: HomeAssistant, sonnen: SonnenSimulator, sonnen_entry_loaded: MockConfigEntry
) -> None:
    """Nulls, text and missing keys show as unknown."""
    sonnen.overrides.update({"USOC": None, "Pac_total_W": "n/a", "OperatingMode": "99"})
    sonnen.removed.update({"Fac", "SystemStatus", "GridFeedIn_W", "Consumption_W"})
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    for key in (
        "state_of_charge",
        "battery_power",
        "battery_charge_power",
        "ac_frequency",
        "grid_mode",
        "grid_power",
        "operating_mode",
    ):
        assert state(hass, key) == STATE_UNKNOWN, key


@pytest.mark.parametrize(
    ("key", "device_class", "unit", "state_class"),
    [
        ("state_of_charge", SensorDeviceClass.BATTERY, "%", SensorStateClass.MEASUREMENT),
        ("battery_power", SensorDeviceClass.POWER, "W", SensorStateClass.MEASUREMENT),
        ("grid_power", SensorDeviceClass.POWER, "W", SensorStateClass.MEASUREMENT),
        ("stored_energy", SensorDeviceClass.ENERGY_STORAGE, "kWh", SensorStateClass.MEASUREMENT),
        ("ac_frequency", SensorDeviceClass.FREQUENCY, "Hz", SensorStateClass.MEASUREMENT),
        ("battery_voltage", SensorDeviceClass.VOLTAGE, "V", SensorStateClass.MEASUREMENT),
        (
            "battery_charged_energy",
            SensorDeviceClass.ENERGY,
            "kWh",
            SensorStateClass.TOTAL_INCREASING,
        ),
        (
            "grid_exported_energy",
            SensorDeviceClass.ENERGY,
            "kWh",
            SensorStateClass.TOTAL_INCREASING,
        ),
        ("consumed_energy", SensorDeviceClass.ENERGY, "kWh", SensorStateClass.TOTAL_INCREASING),
    ],
)
async def test_classes_fit_the_energy_dashboard(
    hass: HomeAssistant,
    sonnen_entry_loaded: MockConfigEntry,
    key: str,
    device_class: SensorDeviceClass,
    unit: str,
    state_class: SensorStateClass,
) -> None:
    """Power and energy sensors carry the classes the Energy dashboard needs."""
    value = hass.states.get(entity_id(hass, "sensor", key))
    assert value is not None
    assert value.attributes[ATTR_DEVICE_CLASS] == device_class
    assert value.attributes[ATTR_UNIT_OF_MEASUREMENT] == unit
    assert value.attributes["state_class"] == state_class


async def test_flow_flags_disabled_by_default_and_readable(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    entity_registry: er.EntityRegistry,
) -> None:
    """The dashboard-animation flags exist but start disabled; enabled they follow the unit."""
    for key in ("flow_production_battery", "battery_charging"):
        entity_registry.async_get_or_create(
            "binary_sensor", DOMAIN, f"{SERIAL}_{key}", suggested_object_id=f"sonnen_{key}"
        )
    await setup_sonnen_entry(hass, sonnen)
    disabled = entity_registry.async_get(entity_id(hass, "binary_sensor", "flow_grid_battery"))
    assert disabled is not None
    assert disabled.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get("binary_sensor.sonnen_flow_production_battery").state == STATE_ON  # type: ignore[union-attr]
    assert hass.states.get("binary_sensor.sonnen_battery_charging").state == STATE_ON  # type: ignore[union-attr]
    for key in ("consumption_average_power", "apparent_power"):
        sensor = entity_registry.async_get(entity_id(hass, "sensor", key))
        assert sensor is not None
        assert sensor.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_api_disabled_raises_a_repair_and_recovers(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Switched-off API: entities unavailable plus a repair; switched on: both clear."""
    issue_id = f"sonnen_api_disabled_{sonnen_entry_loaded.entry_id}"
    sonnen.api_disabled = True
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    assert state(hass, "state_of_charge") == STATE_UNAVAILABLE
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "sonnen_api_disabled"
    assert issue.translation_placeholders == {"title": f"sonnenBatterie {SERIAL}"}
    sonnen.api_disabled = False
    await sonnen_entry_loaded.runtime_data.coordinator.async_refresh()
    assert state(hass, "state_of_charge") != STATE_UNAVAILABLE
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_api_disabled_at_start_retries_setup(
    hass: HomeAssistant, sonnen: SonnenSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """A unit whose API is off at start keeps retrying, with the repair shown."""
    sonnen.api_disabled = True
    entry = await setup_sonnen_entry(hass, sonnen)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert issue_registry.async_get_issue(DOMAIN, f"sonnen_api_disabled_{entry.entry_id}")


async def test_return_code_makes_entities_unavailable_with_its_meaning(
    hass: HomeAssistant,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An internal error is logged once with its meaning; the next good poll recovers."""
    sonnen.return_codes["status"] = 13
    coordinator = sonnen_entry_loaded.runtime_data.coordinator
    for _ in range(2):
        await coordinator.async_refresh()
    assert state(hass, "state_of_charge") == STATE_UNAVAILABLE
    errors = [r for r in caplog.records if r.getMessage().startswith("Error fetching")]
    assert len(errors) == 1
    assert "internal error (return code 13)" in errors[0].getMessage()
    sonnen.return_codes.clear()
    await coordinator.async_refresh()
    assert state(hass, "state_of_charge") != STATE_UNAVAILABLE


async def test_configuration_failure_at_start_retries(
    hass: HomeAssistant, sonnen: SonnenSimulator
) -> None:
    """The status answers but the configuration reads fail: retry rather than guess."""
    sonnen.return_codes["configuration"] = 13
    entry = await setup_sonnen_entry(hass, sonnen)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_device_identity(
    hass: HomeAssistant,
    sonnen_entry_loaded: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The device is the serial number, with the software version the unit reports."""
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, SERIAL), sonnen_entry_loaded.entry_id
    )
    assert device is not None
    assert device.name == f"sonnenBatterie {SERIAL}"
    assert (device.manufacturer, device.model) == ("sonnen", "sonnenBatterie (local API v1)")
    assert device.serial_number == SERIAL
    assert device.sw_version == "1.14.5"
    # The sonnen dashboard on port 80, not the JSON API on the configured port.
    assert device.configuration_url == "http://127.0.0.1"
    assert str(sonnen_entry_loaded.data["port"]) not in device.configuration_url


async def test_diagnostic_entities_have_their_category(
    hass: HomeAssistant, sonnen_entry_loaded: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """Frequency, voltages, backup reserve and control_active are diagnostics."""
    for platform, key, category in (
        ("sensor", "ac_frequency", EntityCategory.DIAGNOSTIC),
        ("sensor", "ac_voltage", EntityCategory.DIAGNOSTIC),
        ("sensor", "battery_voltage", EntityCategory.DIAGNOSTIC),
        ("sensor", "backup_buffer", EntityCategory.DIAGNOSTIC),
        ("binary_sensor", "control_active", EntityCategory.DIAGNOSTIC),
        ("sensor", "state_of_charge", None),
        ("sensor", "grid_power", None),
    ):
        entry = entity_registry.async_get(entity_id(hass, platform, key))
        assert entry is not None
        assert entry.entity_category == category, key
