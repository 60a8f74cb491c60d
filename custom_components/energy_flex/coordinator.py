"""Polling coordinator and the mapping of client errors to Home Assistant errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api.errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiDeviceError,
    ApiWriteRejectedError,
    EnergyFlexApiError,
)
from .const import DOMAIN
from .control import ControlAdapter, SetpointController, SetpointKind
from .descriptions import (
    EnergyFlexBinarySensorDescription,
    EnergyFlexNumberDescription,
    EnergyFlexSelectDescription,
    EnergyFlexSensorDescription,
)
from .device import EnergyFlexDevice

_LOGGER = logging.getLogger(__name__)


class EnergyFlexCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Polls one connection; the client's errors become translated update errors."""

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        fetch: Callable[[], Awaitable[DataT]],
        update_interval: timedelta,
    ) -> None:
        """Poll `fetch` every `update_interval`."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=update_interval,
        )
        self._fetch = fetch
        # Values the sensors refuse now as impossible, by (device identity, key).
        self.rejected_values: dict[tuple[str, str], str] = {}

    async def _async_update_data(self) -> DataT:
        try:
            return await self._fetch()
        except ApiAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except ApiConnectionError as err:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="cannot_connect") from err
        except ApiDeviceError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=err.reason,
                translation_placeholders=device_error_placeholders(err),
            ) from err
        except EnergyFlexApiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="invalid_response"
            ) from err


def device_error_placeholders(err: ApiDeviceError) -> dict[str, str]:
    """The device's own error number, for translations that show it."""
    return {"code": str(err.code)} if err.code is not None else {}


def write_issue_id(entry: ConfigEntry) -> str:
    """The repair issue raised when the device refuses writes."""
    return f"write_rejected_{entry.entry_id}"


def map_write_error(
    hass: HomeAssistant, entry: ConfigEntry, err: EnergyFlexApiError
) -> HomeAssistantError:
    """Turn a failed write into what the user sees, and start reauth or a repair."""
    if isinstance(err, ApiAuthError):
        entry.async_start_reauth(hass)
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="write_auth_failed")
    if isinstance(err, ApiWriteRejectedError):
        key = f"write_{err.reason.value}"
        ir.async_create_issue(
            hass,
            DOMAIN,
            write_issue_id(entry),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=key,
            translation_placeholders={"title": entry.title},
        )
        return HomeAssistantError(translation_domain=DOMAIN, translation_key=key)
    if isinstance(err, ApiConnectionError):
        return HomeAssistantError(translation_domain=DOMAIN, translation_key="cannot_connect")
    if isinstance(err, ApiDeviceError):
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=err.reason,
            translation_placeholders=device_error_placeholders(err),
        )
    return HomeAssistantError(translation_domain=DOMAIN, translation_key="invalid_response")


# Translation key of the refusal while the device does not answer its polls.
DEVICE_NOT_ANSWERING = "battery_unavailable"


class _AnsweringDeviceAdapter:
    """Takes new commands only while the device answers its polls.

    After a failed poll the bounds a command is checked against are stale, and a device
    that answers nonsense might take half a command: refuse (nothing is sent) until a
    poll succeeds again. Releases and repeats of held setpoints still go through.
    """

    def __init__(self, adapter: ControlAdapter, coordinator: EnergyFlexCoordinator[Any]) -> None:
        self._adapter = adapter
        self._coordinator = coordinator

    @property
    def keepalive_interval(self) -> timedelta | None:
        return self._adapter.keepalive_interval

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        return self._adapter.allowed_range(kind)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        if not self._coordinator.last_update_success:
            return DEVICE_NOT_ANSWERING
        return self._adapter.blocked_reason(kind)

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        await self._adapter.async_write(kind, value)

    async def async_release(self, kind: SetpointKind) -> None:
        await self._adapter.async_release(kind)

    def __getattr__(self, name: str) -> Any:
        # Anything vendor-specific (e.g. sonnen's hand-back) is the vendor adapter's.
        return getattr(self._adapter, name)


def build_controller(
    hass: HomeAssistant,
    coordinator: EnergyFlexCoordinator[Any],
    adapter: ControlAdapter,
    storage_key: str,
) -> SetpointController:
    """A controller whose errors are translated and whose writes refresh the data."""
    entry = coordinator.config_entry

    async def written() -> None:
        # A write went through: a "write rejected" repair no longer applies.
        ir.async_delete_issue(hass, DOMAIN, write_issue_id(entry))
        await coordinator.async_request_refresh()

    return SetpointController(
        hass,
        _AnsweringDeviceAdapter(adapter, coordinator),
        storage_key=storage_key,
        map_error=lambda err: map_write_error(hass, entry, err),
        on_written=written,
    )


@dataclass(kw_only=True)
class EnergyFlexRuntime:
    """What an entry holds while it is loaded (`entry.runtime_data`)."""

    coordinator: EnergyFlexCoordinator[Any]
    devices: list[EnergyFlexDevice]
    sensors: tuple[EnergyFlexSensorDescription, ...] = ()
    binary_sensors: tuple[EnergyFlexBinarySensorDescription, ...] = ()
    numbers: tuple[EnergyFlexNumberDescription, ...] = ()
    selects: tuple[EnergyFlexSelectDescription, ...] = ()
    # Client-side facts for diagnostics (never secrets; they are redacted anyway).
    diagnostics: Callable[[], dict[str, Any]] = dict


type EnergyFlexConfigEntry = ConfigEntry[EnergyFlexRuntime]
