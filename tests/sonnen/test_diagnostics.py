"""sonnen diagnostics: the last status, counters and control state, no address."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulators.sonnen import SonnenSimulator

from .conftest import SERIAL


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sonnen: SonnenSimulator,
    sonnen_entry_loaded: MockConfigEntry,
) -> None:
    """Status, integrated energy and the client's facts; host and serial redacted."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, sonnen_entry_loaded)
    text = json.dumps(diagnostics)
    assert "127.0.0.1" not in text
    assert SERIAL not in text
    assert diagnostics["data"]["status"]["usoc"] == 47
    assert diagnostics["data"]["status"]["grid_state"] == "on_grid"
    assert diagnostics["data"]["energy"]["produced_energy"] == 0
    assert diagnostics["client"] == {
        "inverter_max_power": 4600,
        "option_max_power": None,
        "found_mode": None,
        "energy_integrator": {
            "rated_power_w": 4600,
            "rejected_samples": 0,
            "last_rejected": None,
        },
    }
    assert diagnostics["control"]["0"]["active"] is False
