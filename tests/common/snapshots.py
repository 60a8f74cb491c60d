"""Snapshot tests of one platform of a loaded entry, as Home Assistant core writes them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

# A fixed moment: Home Assistant's clock (and the simulators that follow it) stand still
# here, so every value, timestamp-derived or not, is the same on every run. Snapshot
# modules freeze it before their simulators start (`frozen_clock` in tests/conftest.py).
FROZEN_AT = "2026-06-01T10:00:00+00:00"


async def assert_platform_matches(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
    setup: Callable[[], Awaitable[MockConfigEntry]],
) -> None:
    """Set the entry up with only `platform` and compare every entity and state.

    Loading one platform at a time is how core does it (`snapshot_platform` refuses
    more); the entities' registry entries and states carry class, unit, category,
    options, attributes and value, so any change to one shows up in review.
    """
    freezer.move_to(FROZEN_AT)  # still there: setup itself takes no time
    with patch("custom_components.energy_flex.PLATFORMS", [platform]):
        entry = await setup()
        await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def assert_devices_match(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    setup: Callable[[], Awaitable[MockConfigEntry]],
) -> None:
    """The entry's devices: name, manufacturer, model, versions, serial, "Visit" link."""
    freezer.move_to(FROZEN_AT)
    entry = await setup()
    devices = dr.async_entries_for_config_entry(device_registry, entry.entry_id)
    assert devices
    for device in sorted(devices, key=lambda item: str(sorted(item.identifiers))):
        assert device == snapshot(name=device.name or "")
    assert await hass.config_entries.async_unload(entry.entry_id)
