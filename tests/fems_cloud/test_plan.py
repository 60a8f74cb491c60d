"""`reach_state_of_charge` on a FEMS through the FENECON cloud: what only this connection shows.

The behaviour every connection shares is pinned in tests/common/test_plan.py.
"""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..common.plan_harness import advance, open_harness, reach, state
from .conftest import EDGE_A as CLOUD_EDGE


async def test_a_plan_writes_the_persistent_setting_only_when_it_changes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The FixActivePower setting stays on the FEMS: re-plans rewrite it, nothing repeats it."""
    async with open_harness(hass, "fems_cloud", efficiency=0.9) as harness:
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=3))
        await advance(hass, freezer, timedelta(hours=1))
        commands = harness.commands()
        assert len(commands) >= 2  # the lossy battery made it re-plan
        assert all(command is not None and command < 0 for command in commands)  # charging
        # One updateComponentConfig per distinct command: no keep-alive.
        assert len(harness.received()) == len(commands)
        assert harness.simulator.calls["edgeRpc/updateComponentConfig"] == len(commands)


async def test_a_deadline_while_the_edge_is_offline_releases_when_it_is_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The backend refuses writes to an offline FEMS, which keeps charging: the release is
    retried until the FEMS takes it, and then the battery runs on its own logic again."""
    async with open_harness(hass, "fems_cloud") as harness:
        edge = harness.simulator.edges[CLOUD_EDGE]
        await reach(hass, harness, 80, dt_util.utcnow() + timedelta(hours=1))
        (command,) = harness.commands()
        assert command is not None
        assert command < 0
        harness.simulator.set_online(CLOUD_EDGE, False)
        await advance(hass, freezer, timedelta(hours=1, minutes=10))
        assert harness.simulator.writes.rejected  # the release at the deadline, refused
        assert harness.commands() == [command]
        assert edge.setpoint_w == command  # still held on the FEMS, and shown as held
        assert state(hass, harness.plan_sensor).state == "holding_setpoint"

        harness.simulator.set_online(CLOUD_EDGE, True)
        await advance(hass, freezer, timedelta(minutes=2), step=timedelta(minutes=1))
        assert harness.commands() == [command, None]
        assert edge.setpoint_w is None
        assert state(hass, harness.plan_sensor).state == "idle"
