"""The demo's FENECON cloud: its form reaches the simulator, one edge drops off and returns."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from scripts.develop_bootstrap import _form_data, _parser
from simulators.__main__ import _parser as simulators_parser
from simulators.fems_cloud import FemsCloudSimulator, default_edges, default_users
from tests.develop.conftest import CLOUD_EDGES, FLAKY_EDGE, OFFLINE_CYCLE_S

pytestmark = pytest.mark.usefixtures("socket_enabled")

DEVELOP = (Path(__file__).resolve().parents[2] / "scripts" / "develop").read_text()
# The script with its continued lines joined and its spaces collapsed.
DEVELOP_FLAT = " ".join(DEVELOP.replace("\\\n", " ").split())


def state(hass: HomeAssistant, entity_id: str) -> str:
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


def test_form_data_uses_the_simulators_owner_and_both_edges() -> None:
    """The cloud form gets a login of `python -m simulators` that sees both edges."""
    data = _form_data(_parser().parse_args(["--fems-cloud-port", "29094"]))["fems_cloud"]
    assert data == {
        "url": "http://127.0.0.1:29094/fems/rest/jsonrpc",
        "username": "owner@example.com",
        "password": "owner",
        "edge_ids": ["fems1001", "fems1002"],
    }
    # What the simulator serves with the edge count scripts/develop passes.
    edges = default_edges(2)
    assert [edge.edge_id for edge in edges] == data["edge_ids"]
    assert edges[0].fix_active_power_id is not None  # fems1001: control
    assert edges[1].fix_active_power_id is None
    (owner,) = (
        user for user in default_users(data["edge_ids"]) if user.username == "owner@example.com"
    )
    assert owner.password == data["password"]
    assert all(owner.role_for(edge_id) is not None for edge_id in data["edge_ids"])
    assert _parser().parse_args([]).fems_cloud_port == 18094


def test_develop_starts_the_cloud_as_the_bootstrap_expects() -> None:
    """scripts/develop: the port, two edges, fems1002 cycling, and the port passed on."""
    assert "FEMS_CLOUD_PORT=${FEMS_CLOUD_PORT:-18094}" in DEVELOP
    assert "FEMS_CLOUD_OFFLINE_CYCLE=${FEMS_CLOUD_OFFLINE_CYCLE:-300}" in DEVELOP
    # Checked free before the start, and waited for after it.
    assert '"$FEMS_CLOUD_PORT" "$POWERFLEX_PORT")' in DEVELOP_FLAT
    simulators = DEVELOP_FLAT[DEVELOP_FLAT.index("detached .venv/bin/python -m simulators") :]
    simulators = simulators[: simulators.index(">")]
    assert "--only fems_cloud" in simulators
    assert (
        '--fems-cloud-port "$FEMS_CLOUD_PORT" --fems-cloud-edges 2 --fems-cloud-offline fems1002 '
        '--fems-cloud-offline-cycle "$FEMS_CLOUD_OFFLINE_CYCLE"'
    ) in simulators
    # The bootstrap gets the same port.
    bootstrap = DEVELOP_FLAT[DEVELOP_FLAT.index("-m scripts.develop_bootstrap --url") :]
    assert '--fems-cloud-port "$FEMS_CLOUD_PORT"' in bootstrap[: bootstrap.index("then")]
    # ... and the simulators accept what scripts/develop passes.
    args = simulators_parser().parse_args(
        [
            "--fems-cloud-edges",
            "2",
            "--fems-cloud-offline",
            FLAKY_EDGE,
            "--fems-cloud-offline-cycle",
            "300",
        ]
    )
    assert (args.fems_cloud_edges, args.fems_cloud_offline_cycle) == (2, OFFLINE_CYCLE_S)


async def test_the_demo_entry_loads_and_follows_the_flaky_edge(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fems_cloud: FemsCloudSimulator,
    fems_cloud_entry: ConfigEntry,
) -> None:
    """Both edges are devices; fems1001 has control; fems1002 is offline, then back, then not."""
    assert fems_cloud_entry.state is ConfigEntryState.LOADED
    assert fems_cloud_entry.title == "FENECON cloud owner@example.com"
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), fems_cloud_entry.entry_id)
    assert sorted(device.name or "" for device in devices) == [f"FEMS {e}" for e in CLOUD_EDGES]
    assert state(hass, "number.fems_fems1001_battery_power_setpoint") != STATE_UNAVAILABLE
    assert hass.states.get("number.fems_fems1002_battery_power_setpoint") is None
    assert state(hass, "binary_sensor.fems_fems1001_cloud_connection") == STATE_ON

    flaky_online = "binary_sensor.fems_fems1002_cloud_connection"
    flaky_soc = "sensor.fems_fems1002_state_of_charge"
    assert state(hass, flaky_online) == STATE_OFF
    assert state(hass, flaky_soc) == STATE_UNAVAILABLE

    async def poll_after(seconds: float) -> None:
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)

    await poll_after(OFFLINE_CYCLE_S + 1)
    assert state(hass, flaky_online) == STATE_ON
    assert float(state(hass, flaky_soc)) >= 0
    await poll_after(OFFLINE_CYCLE_S)
    assert state(hass, flaky_online) == STATE_OFF
    assert state(hass, flaky_soc) == STATE_UNAVAILABLE
    # fems1001 stayed online throughout.
    assert state(hass, "binary_sensor.fems_fems1001_cloud_connection") == STATE_ON
