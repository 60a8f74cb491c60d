"""What every vendor provides to the config flow and to entry setup."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import probatio
from homeassistant.core import HomeAssistant

from ..coordinator import EnergyFlexConfigEntry, EnergyFlexRuntime


@dataclass(frozen=True, slots=True)
class IdentifiedDevice:
    """What the config flow learns from a device before creating its entry."""

    unique_id: str
    title: str
    # True when `unique_id` is only the address, so reconfigure may change it.
    address_based: bool = False


class FlowError(Exception):
    """A vendor-specific config-flow error; `key` is a translated error id."""

    def __init__(self, key: str) -> None:
        """Carry the error id the form shows."""
        super().__init__(key)
        self.key = key


class Vendor(ABC):
    """One connection of the vendor menu (DESIGN §1)."""

    menu_id: ClassVar[str]
    # Fields that hold secrets: asked again on reauth and redacted in diagnostics.
    secret_keys: ClassVar[tuple[str, ...]]

    @abstractmethod
    def form_schema(self, defaults: Mapping[str, Any]) -> probatio.Schema:
        """The setup (and reconfigure) form, prefilled with `defaults`."""

    @abstractmethod
    async def async_identify(
        self, hass: HomeAssistant, data: Mapping[str, Any]
    ) -> IdentifiedDevice:
        """Reach the device with `data`; raise client errors or `FlowError`."""

    def options_schema(self, options: Mapping[str, Any]) -> probatio.Schema | None:
        """The options form, or `None` when the vendor has no options."""
        return None

    @abstractmethod
    async def async_create_runtime(
        self, hass: HomeAssistant, entry: EnergyFlexConfigEntry
    ) -> EnergyFlexRuntime:
        """Build the client, coordinator and devices of a loaded entry."""
