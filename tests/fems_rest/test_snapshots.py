"""Every FEMS REST entity and device, pinned by snapshots (`--snapshot-update` to accept)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from simulators.fems_rest import FemsRestSimulator

from ..common.snapshots import assert_devices_match, assert_platform_matches
from ..fems_modbus.conftest import FakeClock
from .conftest import make_simulator, setup_fems_entry

# Home Assistant\'s clock is frozen before any simulator starts: identical values every run.
pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.fixture
async def still_fems() -> AsyncIterator[FemsRestSimulator]:
    """A FEMS whose battery and controller cycle stand still: the same values every run."""
    simulator = make_simulator(clock=FakeClock())
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.NUMBER, Platform.SENSOR]
)
async def test_platform(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    still_fems: FemsRestSimulator,
    platform: Platform,
) -> None:
    """Entities of one platform: registry entries and states."""

    async def setup() -> MockConfigEntry:
        return await setup_fems_entry(hass, still_fems)

    await assert_platform_matches(hass, freezer, entity_registry, snapshot, platform, setup)


async def test_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    still_fems: FemsRestSimulator,
) -> None:
    """The FEMS device: FENECON, "FEMS (local REST)", the web interface on port 80."""

    async def setup() -> MockConfigEntry:
        return await setup_fems_entry(hass, still_fems)

    await assert_devices_match(hass, freezer, device_registry, snapshot, setup)
