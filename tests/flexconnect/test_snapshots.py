"""Every FlexConnect entity and device (two batteries), pinned by snapshots."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from simulators.flexconnect import FlexConnectSimulator

from ..common.snapshots import assert_devices_match, assert_platform_matches
from .conftest import setup_entry

# Home Assistant\'s clock is frozen before any simulator starts: identical values every run.
pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platform",
    [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.NUMBER, Platform.SELECT, Platform.SENSOR],
)
async def test_platform(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    flexconnect: FlexConnectSimulator,
    platform: Platform,
) -> None:
    """Entities of one platform; the simulator's clock is Home Assistant's, frozen."""

    async def setup() -> MockConfigEntry:
        return await setup_entry(hass, flexconnect)

    await assert_platform_matches(hass, freezer, entity_registry, snapshot, platform, setup)


async def test_devices(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    flexconnect: FlexConnectSimulator,
) -> None:
    """One device per battery, no "Visit" link."""

    async def setup() -> MockConfigEntry:
        return await setup_entry(hass, flexconnect)

    await assert_devices_match(hass, freezer, device_registry, snapshot, setup)
