"""Every registered action is described: services.yaml, its translations and its icon."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict

from custom_components.energy_flex.const import DOMAIN

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "energy_flex"


def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INTEGRATION / name).read_text())
    return data


async def test_registered_actions_match_their_descriptions(hass: HomeAssistant) -> None:
    """services.yaml (anchors resolved), en.json and icons.json name the same actions and fields."""
    assert await async_setup_component(hass, DOMAIN, {})
    registered = set(hass.services.async_services_for_domain(DOMAIN))
    described = await hass.async_add_executor_job(
        load_yaml_dict, str(INTEGRATION / "services.yaml")
    )
    translated = _json("translations/en.json")["services"]
    icons = _json("icons.json")["services"]
    assert registered == set(described) == set(translated) == set(icons)
    for action, spec in described.items():
        fields = set((spec or {}).get("fields") or {})
        assert fields == set(translated[action].get("fields", {})), action
