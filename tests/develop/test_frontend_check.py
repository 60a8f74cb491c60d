"""The calls the frontend makes first, checked before scripts/develop prints the URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from scripts.develop_bootstrap import (
    FRONTEND_FIRST_CALLS,
    CommandError,
    HassWebSocket,
    _missing_modules,
    check_frontend,
)


async def test_passes_against_a_working_home_assistant(
    hass: HomeAssistant, fems_entry: MockConfigEntry, ws: HassWebSocket
) -> None:
    """Energy Flex loaded, its services described: every first call succeeds."""
    assert await check_frontend(ws) == []
    services = await ws.call("get_services")
    assert "energy_flex" in services
    states = await ws.call("get_states")
    assert any(state["entity_id"].startswith("sensor.fems_fems12345_") for state in states)
    assert FRONTEND_FIRST_CALLS == ("get_config", "get_services", "get_states")


async def test_fails_when_get_services_fails(hass: HomeAssistant, ws: HassWebSocket) -> None:
    """The symptom of issue 11: get_services errors, the UI stays on "Loading…"."""

    @websocket_api.websocket_command({"type": "get_services"})
    @websocket_api.async_response
    async def broken_get_services(
        hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
    ) -> None:
        # What Home Assistant 2026.10 raises when a voice package is missing.
        raise HomeAssistantError("No module named 'hassil'")

    # Home Assistant's own registry of commands: the real handler is replaced.
    websocket_api.async_register_command(hass, broken_get_services)
    problems = await check_frontend(ws)
    assert len(problems) == 1
    assert problems[0].startswith("get_services: home_assistant_error: ")
    assert "hassil" in problems[0]


async def test_fails_in_recovery_mode(hass: HomeAssistant, ws: HassWebSocket) -> None:
    """The frontend did not load, Home Assistant fell back to recovery mode."""
    hass.config.recovery_mode = True
    assert await check_frontend(ws) == [
        "Home Assistant runs in recovery mode (the frontend did not load)"
    ]


async def test_a_failing_command_raises_with_its_code(
    hass: HomeAssistant, ws: HassWebSocket
) -> None:
    """An unknown command comes back as Home Assistant's error code, not a hang."""
    with pytest.raises(CommandError) as caught:
        await ws.call("no_such/command")
    assert caught.value.code == "unknown_command"
    assert caught.value.command == "no_such/command"


def test_missing_modules_are_named_from_the_log(tmp_path: Path) -> None:
    """A failing check points at the package Home Assistant could not import."""
    log = tmp_path / "hass.log"
    log.write_text(
        "ModuleNotFoundError: No module named 'hassil'\n"
        "ModuleNotFoundError: No module named 'pymicro_vad'\n"
        "ModuleNotFoundError: No module named 'hassil'\n"
    )
    (hint,) = _missing_modules(log)
    assert "No module named 'hassil', 'pymicro_vad'" in hint
    log.write_text("all fine\n")
    assert _missing_modules(log) == []
    assert _missing_modules(None) == []
