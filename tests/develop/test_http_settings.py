"""The development Home Assistant's HTTP settings: confirmed, loopback only, never reverted.

Since 2026.10 Home Assistant treats an `http:` block in configuration.yaml as a trial that it
reverts, with a restart, 5 minutes after start unless someone confirms it in the UI: the
demo died that way. scripts/develop writes the confirmed settings into the store instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from homeassistant.components.http.config import (
    ActiveConfigType,
    async_get_and_load_store,
    async_load_config,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from scripts.develop_bootstrap import http_store, write_http_config

CONFIG = Path(__file__).resolve().parents[2] / "config"


async def test_written_settings_are_what_home_assistant_starts_with(
    hass: HomeAssistant, hass_storage: dict[str, Any], issue_registry: ir.IssueRegistry
) -> None:
    """Loopback on the chosen port, as the stable config: no trial, no revert, no repair."""
    hass_storage["http"] = http_store(28123, created_at="2026-11-29T00:00:00+00:00")
    conf = await async_load_config(hass, {})
    assert conf["server_host"] == ["127.0.0.1"]
    assert conf["server_port"] == 28123
    store = await async_get_and_load_store(hass)
    assert store.active_config_type is ActiveConfigType.STABLE
    assert store.pending is None
    assert store.revert_deadline is None
    assert not [issue for issue in issue_registry.issues.values() if issue.domain == "http"]


async def test_a_yaml_http_block_would_be_a_trial_that_reverts(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Why the settings are not in configuration.yaml: the same settings there are pending."""
    conf = await async_load_config(hass, {"http": {"server_host": ["127.0.0.1"]}})
    store = await async_get_and_load_store(hass)
    assert conf["server_host"] == ["127.0.0.1"]
    assert store.active_config_type is ActiveConfigType.PENDING
    assert store.revert_deadline is not None
    store.async_cancel_revert()


def test_configuration_yaml_has_no_http_block() -> None:
    """So Home Assistant never stages a trial of its own."""

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_constructor("!env_var", lambda loader, node: None)
    config = yaml.load((CONFIG / "configuration.yaml").read_text(), Loader=_Loader)  # noqa: S506
    assert "http" not in config


def test_write_http_config_writes_the_store(tmp_path: Path) -> None:
    """Into <config>/.storage/http, created if missing, replaced on every start."""
    write_http_config(tmp_path, 18123)
    write_http_config(tmp_path, 8123)
    stored = yaml.safe_load((tmp_path / ".storage" / "http").read_text())
    assert stored["key"] == "http"
    assert stored["data"]["stable"]["server_port"] == 8123
    assert stored["data"]["pending"] is None
    assert stored["data"]["yaml_migration_done"] is True
