"""The "Energy Flex" dashboard: built from the registries, only core cards, saved by HA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from scripts.develop_bootstrap import HassWebSocket, ensure_dashboard, fetch_devices
from scripts.develop_dashboard import (
    CORE_CARD_TYPES,
    DASHBOARD_URL_PATH,
    build_dashboard,
    card_types,
    entity_ids,
)
from tests.develop.conftest import HOUSE_LOAD

DOCS_DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "dashboard.yaml"
FEMS = "fems_fems12345"
SITE = "powerflex_site_3"
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


async def test_a_powerflex_site_and_its_stations_get_sections(
    lovelace: None, hass: HomeAssistant, powerflex_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """A real PowerFlex entry: the site's power, load and DCM; a section per station."""
    config = await ensure_dashboard(ws, await fetch_devices(ws))

    fems_section, site_section, *station_sections = sections(config)
    assert fems_section["cards"][0]["heading"] == "FEMS fems12345"
    site_heading, *site_cards = site_section["cards"]
    assert site_heading["heading"] == "PowerFlex site 3"
    assert site_cards == [
        {"type": "tile", "entity": f"sensor.{SITE}_site_charging_power"},
        {"type": "tile", "entity": f"sensor.{SITE}_real_time_load_sent"},
        {
            "type": "history-graph",
            "hours_to_show": 6,
            "entities": [
                {"entity": f"sensor.{SITE}_site_charging_power"},
                {"entity": f"sensor.{SITE}_real_time_load_sent"},
            ],
        },
        {
            "type": "entities",
            "title": "Control",
            "entities": [
                {"entity": f"switch.{SITE}_dcm_site_limit_enabled"},
                {"entity": f"number.{SITE}_dcm_site_limit"},
                {"entity": f"number.{SITE}_target_peak_power_this_month"},
            ],
        },
    ]
    # The simulator's site 3 has three stations.
    assert [section["cards"][0]["heading"] for section in station_sections] == [
        f"PowerFlex site 3 station {acs_id}" for acs_id in (1, 2, 3)
    ]
    station = f"{SITE}_station_1"
    assert [card.get("entity") for card in station_sections[0]["cards"][1:]] == [
        f"sensor.{station}_charging_power",
        f"sensor.{station}_charging_state",
        f"sensor.{station}_session_energy",
        None,  # the history graph
    ]
    assert station_sections[0]["cards"][-1]["entities"] == [
        {"entity": f"sensor.{station}_charging_power"}
    ]
    assert card_types(config) <= CORE_CARD_TYPES
    for entity_id in entity_ids(config):
        assert hass.states.get(entity_id) is not None, entity_id
    # The load sent is the house load's, in whole kW.
    house_load = hass.states.get(HOUSE_LOAD)
    sent = hass.states.get(f"sensor.{SITE}_real_time_load_sent")
    assert house_load is not None
    assert sent is not None
    assert sent.state == str(round(float(house_load.state) / 1000))


async def test_the_cloud_edges_get_sections_with_their_connection(
    lovelace: None, hass: HomeAssistant, fems_cloud_entry: ConfigEntry, ws: HassWebSocket
) -> None:
    """A FEMS through the cloud: a FEMS section with its cloud connection; control where
    the edge has a FixActivePower controller (fems1001), none where it has not."""
    config = await ensure_dashboard(ws, await fetch_devices(ws))

    with_control, without_control = sections(config)
    for section, edge in ((with_control, "fems1001"), (without_control, "fems1002")):
        heading, gauge, connection, *rest = section["cards"]
        assert heading["heading"] == f"FEMS {edge}"
        assert gauge["entity"] == f"sensor.fems_{edge}_state_of_charge"
        assert connection == {
            "type": "tile",
            "entity": f"binary_sensor.fems_{edge}_cloud_connection",
        }
        assert [card.get("entity") for card in rest[:4]] == [
            f"sensor.fems_{edge}_{key}"
            for key in ("battery_power", "grid_power", "production_power", "consumption_power")
        ]
    assert with_control["cards"][-1] == {
        "type": "entities",
        "title": "Control",
        "entities": [
            {"entity": "number.fems_fems1001_battery_power_setpoint"},
            {"entity": "binary_sensor.fems_fems1001_control_active"},
            {"entity": "button.fems_fems1001_release_control"},
        ],
    }
    assert "Control" not in [card.get("title") for card in without_control["cards"]]
    # fems1002 starts offline: its cards are there, its values unavailable until it is back.
    offline = hass.states.get("binary_sensor.fems_fems1002_cloud_connection")
    assert offline is not None
    assert offline.state == STATE_OFF
    for entity_id in entity_ids(config):
        assert hass.states.get(entity_id) is not None, entity_id


def test_devices_without_known_keys_get_no_section() -> None:
    """A device whose entities have no key in the tables is left out, not an empty box."""
    config = build_dashboard([])
    assert sections(config) == []


async def test_docs_dashboard_matches_the_demo(
    lovelace: None,
    hass: HomeAssistant,
    powerflex_entry: MockConfigEntry,
    fems_cloud_entry: ConfigEntry,
    ws: HassWebSocket,
) -> None:
    """docs/dashboard.yaml: core cards only, accepted by HA, FEMS, PowerFlex and the
    FENECON cloud as built.

    The FEMS REST, PowerFlex and cloud entries here have the demo's hostname, site, edges
    and titles, so their entity ids are the demo's: when entity names change, this fails
    until docs/dashboard.yaml is regenerated (scripts/develop writes
    .develop/dashboard.yaml).
    """
    documented = yaml.safe_load(DOCS_DASHBOARD.read_text())
    assert card_types(documented) <= CORE_CARD_TYPES
    built = build_dashboard(await fetch_devices(ws))
    # FEMS, the PowerFlex site and its three stations (the demo has a fourth), the two
    # cloud edges.
    assert len(sections(built)) == 7
    for section in sections(built):
        assert section in sections(documented), section["cards"][0]["heading"]
    # The demo's twelve devices: two FEMS, two FlexConnect batteries, one sonnenBatterie,
    # the PowerFlex site and its four stations, the two FEMS of the cloud account.
    headings = [section["cards"][0]["heading"] for section in sections(documented)]
    assert len(headings) == 12
    assert headings[0] == "FEMS fems12345"
    assert headings[5:] == [
        "PowerFlex site 3",
        *(f"PowerFlex site 3 station {acs_id}" for acs_id in (1, 2, 3, 4)),
        "FEMS fems1001",
        "FEMS fems1002",
    ]
    assert entity_ids(documented) >= FEMS_ENTITIES
    await ws.call("lovelace/dashboards/create", url_path="pasted-board", title="Pasted")
    await ws.call("lovelace/config/save", url_path="pasted-board", config=documented)
    assert await ws.call("lovelace/config", url_path="pasted-board") == documented
