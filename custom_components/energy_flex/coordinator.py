"""Polling coordinator and the mapping of client errors to Home Assistant errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.importlib import async_import_module
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .api.errors import (
    ApiAuthError,
    ApiConnectionError,
    ApiDeviceError,
    ApiWriteRejectedError,
    EnergyFlexApiError,
)
from .const import DOMAIN
from .descriptions import EnergyFlexNumberDescription, EnergyFlexSensorDescription
from .device import EnergyFlexDevice

if TYPE_CHECKING:
    from .control import ControlAdapter, SetpointController

    # Annotations only: a connection that has none of these never loads their classes.
    from .descriptions.binary_sensor import EnergyFlexBinarySensorDescription
    from .descriptions.settings import (
        EnergyFlexSelectDescription,
        EnergyFlexSettingNumberDescription,
        EnergyFlexSwitchDescription,
    )

_LOGGER = logging.getLogger(__name__)


class EnergyFlexCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Polls one connection; the client's errors become translated update errors.

    Only rejected credentials ask the user (reauth). A device that does not answer makes
    the entities unavailable and is polled again; with `max_backoff`, each further failure
    in a row doubles the wait (up to that), and the first answer restores the interval.
    """

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        fetch: Callable[[], Awaitable[DataT]],
        update_interval: timedelta,
        max_backoff: timedelta | None = None,
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
        self._max_backoff = max_backoff
        self._connection_failures = 0
        # Values the sensors refuse now as impossible, by (device identity, key).
        self.rejected_values: dict[tuple[str, str], str] = {}

    async def _async_update_data(self) -> DataT:
        try:
            data = await self._fetch()
        except ApiAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except ApiConnectionError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cannot_connect",
                retry_after=self._next_retry_after(),
            ) from err
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
        self._connection_failures = 0
        return data

    def _next_retry_after(self) -> float | None:
        """Seconds until the next poll after one more connection failure in a row."""
        self._connection_failures += 1
        interval: timedelta | None = self.update_interval
        if self._max_backoff is None or interval is None:
            return None
        factor = 2 ** min(self._connection_failures - 1, 16)
        wait: timedelta = min(interval * factor, self._max_backoff)
        return wait.total_seconds()


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


async def async_build_controller(
    hass: HomeAssistant,
    coordinator: EnergyFlexCoordinator[Any],
    adapter: ControlAdapter,
    storage_key: str,
    *,
    answered: Callable[[Any], bool] = lambda data: data is not None,
) -> SetpointController:
    """A controller whose errors are translated and whose writes refresh the data.

    After a poll in which the device `answered` (given the coordinator's data; an entry
    with several devices picks its own), a release that failed is finished. The control
    code loads (in the import executor) with the first device Energy Flex controls: a
    device that is only read never needs it.
    """
    entry = coordinator.config_entry
    controller_class: type[SetpointController] = (
        await async_import_module(hass, f"{__package__}.control")
    ).SetpointController

    async def written() -> None:
        # A write went through: a "write rejected" repair no longer applies.
        ir.async_delete_issue(hass, DOMAIN, write_issue_id(entry))
        await coordinator.async_request_refresh()

    controller = controller_class(
        hass,
        adapter,
        storage_key=storage_key,
        map_error=lambda err: map_write_error(hass, entry, err),
        on_written=written,
        answering=lambda: coordinator.last_update_success,
    )

    @callback
    def device_answered() -> None:
        # A poll went through: a release that did not reach the device is finished now.
        if (
            controller.release_pending
            and coordinator.last_update_success
            and answered(coordinator.data)
        ):
            entry.async_create_background_task(
                hass, controller.async_retry_release(), f"{DOMAIN} finish release"
            )

    entry.async_on_unload(coordinator.async_add_listener(device_answered))
    return controller


@dataclass(kw_only=True)
class EnergyFlexRuntime:
    """What an entry holds while it is loaded (`entry.runtime_data`)."""

    coordinator: EnergyFlexCoordinator[Any]
    devices: list[EnergyFlexDevice]
    sensors: tuple[EnergyFlexSensorDescription, ...] = ()
    binary_sensors: tuple[EnergyFlexBinarySensorDescription, ...] = ()
    numbers: tuple[EnergyFlexNumberDescription, ...] = ()
    selects: tuple[EnergyFlexSelectDescription, ...] = ()
    setting_numbers: tuple[EnergyFlexSettingNumberDescription, ...] = ()
    switches: tuple[EnergyFlexSwitchDescription, ...] = ()
    # Client-side facts for diagnostics (never secrets; they are redacted anyway).
    diagnostics: Callable[[], dict[str, Any]] = dict
    # What a vendor's own actions need of a loaded entry (e.g. PowerFlex's site control).
    vendor_data: object = None
    _device_listeners: list[Callable[[list[EnergyFlexDevice]], None]] = field(
        default_factory=list, repr=False
    )

    @callback
    def async_add_devices(self, devices: list[EnergyFlexDevice]) -> None:
        """Devices that appeared while the entry is loaded: every platform adds their entities."""
        self.devices.extend(devices)
        for listener in list(self._device_listeners):
            listener(devices)

    @callback
    def async_remove_device(self, device: EnergyFlexDevice) -> None:
        """Forget a device that is gone (its registry entry is removed by the caller)."""
        self.devices.remove(device)

    @callback
    def async_listen_new_devices(
        self, listener: Callable[[list[EnergyFlexDevice]], None]
    ) -> CALLBACK_TYPE:
        """Call `listener` with the devices each `async_add_devices` brings; returns the remover."""
        self._device_listeners.append(listener)
        return lambda: self._device_listeners.remove(listener)


type EnergyFlexConfigEntry = ConfigEntry[EnergyFlexRuntime]
