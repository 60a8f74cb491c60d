"""The "Energy Flex" dashboard: built from the registries, only core cards, saved by HA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.energy_flex.const import DOMAIN
from scripts.develop_bootstrap import HassWebSocket, ensure_dashboard, fetch_devices
from scripts.develop_dashboard import (
    CORE_CARD_TYPES,
    DASHBOARD_URL_PATH,
    build_dashboard,
    card_types,
    entity_ids,
)

DOCS_DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "dashboard.yaml"
FEMS = "fems_fems12345"
FEMS_ENTITIES = {
    f"sensor.{FEMS}_state_of_charge",
    f"sensor.{FEMS}_battery_power",
    f"sensor.{FEMS}_grid_power",
    f"sensor.{FEMS}_production_power",
    f"number.{FEMS}_battery_power_setpoint",
    f"button.{FEMS}_release_control",
}


@pytest.fixture
async def lovelace(hass: HomeAssistant) -> None:
    """Home Assistant's dashboards (storage mode, as in the development config)."""
    assert await async_setup_component(hass, "lovelace", {})


def sections(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The sections of the dashboard's one view."""
    (view,) = config["views"]
    result: list[dict[str, Any]] = view["sections"]
    return result


async def test_dashboard_of_a_fems_is_saved_and_read_back(
    lovelace: None, hass: HomeAssistant, fems_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """One section for the FEMS: SoC, powers, history, setpoint and release."""
    config = await ensure_dashboard(ws, await fetch_devices(ws))

    (board,) = await ws.call("lovelace/dashboards/list")
    assert board["url_path"] == DASHBOARD_URL_PATH
    assert board["title"] == "Energy Flex"
    assert board["mode"] == "storage"
    assert await ws.call("lovelace/config", url_path=DASHBOARD_URL_PATH) == config

    assert card_types(config) <= CORE_CARD_TYPES
    assert entity_ids(config) >= FEMS_ENTITIES
    # Every entity shown exists, under the id Home Assistant gave it.
    for entity_id in entity_ids(config):
        assert hass.states.get(entity_id) is not None, entity_id
    (section,) = sections(config)
    heading, gauge, *rest = section["cards"]
    assert heading == {"type": "heading", "heading": "FEMS fems12345", "heading_style": "title"}
    assert gauge["type"] == "gauge"
    assert gauge["entity"] == f"sensor.{FEMS}_state_of_charge"
    history = next(card for card in rest if card["type"] == "history-graph")
    assert [item["entity"] for item in history["entities"]] == [
        f"sensor.{FEMS}_battery_power",
        f"sensor.{FEMS}_grid_power",
        f"sensor.{FEMS}_production_power",
    ]
    control = next(card for card in rest if card["type"] == "entities")
    assert [item["entity"] for item in control["entities"]] == [
        f"number.{FEMS}_battery_power_setpoint",
        f"binary_sensor.{FEMS}_control_active",
        f"button.{FEMS}_release_control",
    ]


async def test_an_existing_dashboard_is_left_alone(
    lovelace: None, hass: HomeAssistant, fems_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """The user's edits survive the next start of scripts/develop."""
    devices = await fetch_devices(ws)
    await ensure_dashboard(ws, devices)
    mine = {"views": [{"title": "Mine", "cards": [{"type": "markdown", "content": "hi"}]}]}
    await ws.call("lovelace/config/save", url_path=DASHBOARD_URL_PATH, config=mine)
    assert await ensure_dashboard(ws, devices) == mine
    assert len(await ws.call("lovelace/dashboards/list")) == 1


async def test_renamed_entities_keep_their_cards(
    lovelace: None, hass: HomeAssistant, fems_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """Cards are picked by entity key, so the ids are whatever Home Assistant holds."""
    registry = er.async_get(hass)
    registry.async_update_entity(
        f"sensor.{FEMS}_state_of_charge", new_entity_id="sensor.my_battery_soc"
    )
    config = build_dashboard(await fetch_devices(ws))
    assert "sensor.my_battery_soc" in entity_ids(config)
    assert f"sensor.{FEMS}_state_of_charge" not in entity_ids(config)


async def test_powerflex_devices_get_sections_by_their_keys(
    lovelace: None, hass: HomeAssistant, ws: HassWebSocket
) -> None:
    """The extension point: a PowerFlex site and station (DESIGN §3.2 keys) get sections."""
    entry = MockConfigEntry(domain=DOMAIN, title="PowerFlex site 7")
    entry.add_to_hass(hass)
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    site = devices.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "site-7")}, name="Site 7"
    )
    station = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, "acs-1")},
        name="Station 1",
        via_device_id=site.id,
    )
    for device, platform, key in (
        (site, "sensor", "site_charging_power"),
        (site, "number", "dcm_max_load"),
        (site, "switch", "dcm_enabled"),
        (station, "sensor", "charging_power"),
        (station, "sensor", "charging_state"),
    ):
        entities.async_get_or_create(
            platform,
            DOMAIN,
            f"{device.id}_{key}",
            config_entry=entry,
            device_id=device.id,
            translation_key=key,
            suggested_object_id=f"{device.name}_{key}",
        )

    config = await ensure_dashboard(ws, await fetch_devices(ws))
    site_section, station_section = sections(config)
    assert site_section["cards"][0]["heading"] == "Site 7"
    assert [card["type"] for card in site_section["cards"]] == [
        "heading",
        "tile",
        "history-graph",
        "entities",
    ]
    control = site_section["cards"][-1]
    assert [item["entity"] for item in control["entities"]] == [
        "switch.site_7_dcm_enabled",
        "number.site_7_dcm_max_load",
    ]
    assert station_section["cards"][0]["heading"] == "Station 1"
    assert {card.get("entity") for card in station_section["cards"]} >= {
        "sensor.station_1_charging_power",
        "sensor.station_1_charging_state",
    }
    assert card_types(config) <= CORE_CARD_TYPES


def test_devices_without_known_keys_get_no_section() -> None:
    """A device whose entities have no key in the tables is left out, not an empty box."""
    config = build_dashboard([])
    assert sections(config) == []


async def test_docs_dashboard_matches_the_demo(
    lovelace: None, hass: HomeAssistant, fems_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """docs/dashboard.yaml: core cards only, accepted by HA, its FEMS section as built.

    The FEMS REST entry here has the demo's hostname and title, so its entity ids are
    the demo's: when entity names change, this fails until docs/dashboard.yaml is
    regenerated (scripts/develop writes .develop/dashboard.yaml).
    """
    documented = yaml.safe_load(DOCS_DASHBOARD.read_text())
    assert card_types(documented) <= CORE_CARD_TYPES
    built = build_dashboard(await fetch_devices(ws))
    (fems_section,) = sections(built)
    assert fems_section in sections(documented)
    # The demo's five devices: two FEMS, two FlexConnect batteries, one sonnenBatterie.
    headings = [section["cards"][0]["heading"] for section in sections(documented)]
    assert len(headings) == 5
    assert headings[0] == "FEMS fems12345"
    assert entity_ids(documented) >= FEMS_ENTITIES
    await ws.call("lovelace/dashboards/create", url_path="pasted-board", title="Pasted")
    await ws.call("lovelace/config/save", url_path="pasted-board", config=documented)
    assert await ws.call("lovelace/config", url_path="pasted-board") == documented
