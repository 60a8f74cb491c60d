"""Every sonnenBatterie entity and device on each firmware profile, pinned by snapshots."""

from __future__ import annotations

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from ..common.snapshots import assert_devices_match, assert_platform_matches
from .conftest import PROFILE_NAMES, FakeClock, make_sonnen, setup_sonnen_entry

# Home Assistant\'s clock is frozen before any simulator starts: identical values every run.
pytestmark = pytest.mark.usefixtures("frozen_clock")

# The profiles' serial numbers; tn007 has none and is identified by its address.
IDENTITY = {"eu_current": "330123", "eu_old": "212345", "us": "US81234", "tn007": None}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.NUMBER, Platform.SENSOR]
)
async def test_platform(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    clock: FakeClock,
    platform: Platform,
    profile: str,
) -> None:
    """Entities of one platform: which a firmware gets, their classes and values."""
    async with make_sonnen(profile, clock=clock) as simulator:

        async def setup() -> MockConfigEntry:
            # tn007's address identity would carry the (random) port into every id.
            identity = IDENTITY[profile] or "tn007-unit"
            return await setup_sonnen_entry(hass, simulator, unique_id=identity)

        await assert_platform_matches(hass, freezer, entity_registry, snapshot, platform, setup)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
async def test_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    clock: FakeClock,
    profile: str,
) -> None:
    """The unit as a device: sonnen, "sonnenBatterie (local API v1)", the dashboard link."""
    async with make_sonnen(profile, clock=clock) as simulator:

        async def setup() -> MockConfigEntry:
            identity = IDENTITY[profile] or "tn007-unit"
            return await setup_sonnen_entry(hass, simulator, unique_id=identity)

        await assert_devices_match(hass, freezer, device_registry, snapshot, setup)
