"""Every FEMS Modbus entity and device, pinned by snapshots (`--snapshot-update` to accept)."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from simulators.fems_modbus import FemsModbusSimulator

from ..common.snapshots import assert_devices_match, assert_platform_matches
from .conftest import setup_entry

# Home Assistant\'s clock is frozen before any simulator starts: identical values every run.
pytestmark = pytest.mark.usefixtures("frozen_clock")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.NUMBER, Platform.SENSOR]
)
async def test_platform(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    sim: FemsModbusSimulator,
    platform: Platform,
) -> None:
    """Entities of one platform on a FEMS Home with the read-write app (fake clock)."""

    async def setup() -> MockConfigEntry:
        return await setup_entry(hass, sim)

    await assert_platform_matches(hass, freezer, entity_registry, snapshot, platform, setup)


async def test_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    sim: FemsModbusSimulator,
) -> None:
    """The FEMS device: as over REST, with the `_meta` product line and serial."""

    async def setup() -> MockConfigEntry:
        return await setup_entry(hass, sim)

    await assert_devices_match(hass, freezer, device_registry, snapshot, setup)
