"""Fixtures every test shares: real sockets, a real Home Assistant with Energy Flex."""

from __future__ import annotations

import pytest

# Import ours before Home Assistant's loader runs: otherwise the plugin's own
# `custom_components` package shadows it ("Integration not found", DESIGN §6).
import custom_components.energy_flex  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None, socket_enabled: None) -> None:
    """Load integrations from custom_components/ and allow real sockets to 127.0.0.1.

    The simulators are real servers: tests talk to them over loopback, nothing else.
    """
