"""Fixtures every test shares: real sockets, a real Home Assistant with Energy Flex."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from unittest.mock import PropertyMock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.helpers.entity import Entity
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

# Import ours before Home Assistant's loader runs: otherwise the plugin's own
# `custom_components` package shadows it ("Integration not found", DESIGN §6).
import custom_components.energy_flex  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None, socket_enabled: None) -> None:
    """Load integrations from custom_components/ and allow real sockets to 127.0.0.1.

    The simulators are real servers: tests talk to them over loopback, nothing else.
    """


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create entities that are disabled by default enabled, as core's fixture does.

    Snapshot tests cover every entity, including the expert ones that start disabled.
    """
    with patch.object(
        Entity,
        "entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


class EnergyFlexSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's serializer (ids, times and contexts as ANY); files in `__snapshots__/`.

    Core keeps snapshots in `snapshots/`; syrupy's own default is kept here, so the files sit
    where syrupy users look for them.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """`__snapshots__` next to the test module."""
        return str(Path(test_location.filepath).parent / "__snapshots__")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots that serialize states and registry entries as Home Assistant core does."""
    return snapshot.use_extension(EnergyFlexSnapshotExtension)


@pytest.fixture
def frozen_clock(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Home Assistant's clock at one fixed moment, for tests whose output must not vary."""
    from .common.snapshots import FROZEN_AT  # noqa: PLC0415

    freezer.move_to(FROZEN_AT)
    return freezer
