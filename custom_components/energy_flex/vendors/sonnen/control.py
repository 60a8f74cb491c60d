"""sonnenBatterie control: setpoints in manual mode, and the mode found restored on release.

Setpoints have no sign at sonnen: a positive battery setpoint goes to
`/setpoint/discharge/<W>`, a negative one to `/setpoint/charge/<|W|>`, each after zeroing
the other direction. Setpoints act only in manual mode (`EM_OperatingMode` 1) and then
persist on the unit, so taking control switches to manual, and release zeroes both
directions and restores the mode found (notes §5, §8.3).

The mode found is stored only once the takeover happened (the switch to manual succeeded,
or the unit already was in manual mode): a takeover that failed, e.g. while the unit was
down, leaves nothing that a later release, reload or shutdown would "restore" over what
the owner set since. A release restores only what Energy Flex itself changed.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Final, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ...api.errors import ApiWriteRejectedError, EnergyFlexApiError, WriteRejectedReason
from ...api.sonnen import SonnenClient, SonnenOperatingMode, SonnenStatus
from ...battery import BatteryFacts
from ...const import DOMAIN, SetpointKind
from ...coordinator import EnergyFlexCoordinator

# --- control ----------------------------------------------------------------------------
from .entities import SonnenData, is_off_grid, usable_capacity

_LOGGER = logging.getLogger(__name__)

# Translation key of the error shown when a command arrives while the unit is off grid.
OFF_GRID_REASON: Final = "sonnen_off_grid"
_MODE_STORAGE_VERSION: Final = 1


class _StoredMode(TypedDict):
    found_mode: int | None


class SonnenControlAdapter:
    """Drives the setpoint paths in manual mode and restores the mode it found."""

    def __init__(
        self,
        hass: HomeAssistant,
        client: SonnenClient,
        coordinator: EnergyFlexCoordinator[SonnenData],
        storage_key: str,
        *,
        inverter_max_power: float | None,
        option_max_power: float | None,
    ) -> None:
        """Read bounds from the unit (or the option); remember the mode in storage."""
        self._client = client
        self._coordinator = coordinator
        self._inverter_max_power = inverter_max_power
        self._option_max_power = option_max_power
        # Stored as soon as the unit is in manual mode, so a restart can still restore it.
        self._store: Store[_StoredMode] = Store(
            hass, _MODE_STORAGE_VERSION, f"{DOMAIN}.sonnen_mode.{storage_key}"
        )
        self._found_mode: int | None = None

    @property
    def found_mode(self) -> int | None:
        """The operating mode found when control was taken; `None` while not in control."""
        return self._found_mode

    @property
    def max_power(self) -> float | None:
        """The unit's inverter maximum, capped by the option; the option alone if unreported."""
        limits = [p for p in (self._inverter_max_power, self._option_max_power) if p]
        return min(limits, default=None)

    async def async_load(self) -> None:
        """Pick up a mode remembered before a restart."""
        stored = await self._store.async_load()
        if isinstance(stored, dict) and isinstance(mode := stored.get("found_mode"), int):
            self._found_mode = mode

    # --- ControlAdapter -----------------------------------------------------------

    @property
    def keepalive_interval(self) -> timedelta | None:
        """Setpoints persist on the unit in manual mode: nothing to repeat."""
        return None

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """−max … +max W; no discharge while the unit forbids it; nothing off grid."""
        status = self._status
        limit = self.max_power
        if status is None or limit is None or is_off_grid(status):
            return None
        return (0.0 - limit, 0.0 if status.discharge_not_allowed else limit)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """Off grid the inverter forms the grid itself; it must not take setpoints."""
        status = self._status
        return OFF_GRID_REASON if status is not None and is_off_grid(status) else None

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Manual mode first, then zero the other direction and set this one."""
        taking_over = self._found_mode is None
        await self._async_enter_manual_mode()
        try:
            watts = round(abs(value))
            if value > 0:
                await self._client.async_set_charge(0)
                await self._client.async_set_discharge(watts)
            else:
                await self._client.async_set_discharge(0)
                await self._client.async_set_charge(watts)
        except EnergyFlexApiError:
            if taking_over:
                # Leave the unit as it was, rather than in manual mode nobody holds.
                with contextlib.suppress(EnergyFlexApiError):
                    await self._async_restore_mode()
            raise

    async def async_release(self, kind: SetpointKind) -> None:
        """Both directions to 0 (the unit remembers each), then the mode found.

        With nothing taken over, off grid, nothing is sent: no setpoints off grid, and
        there is no mode to give back (notes §5.5).
        """
        status = self._status
        if self._found_mode is None and status is not None and is_off_grid(status):
            return
        await self._client.async_set_discharge(0)
        await self._client.async_set_charge(0)
        await self._async_restore_mode()

    # --- lifecycle ----------------------------------------------------------------

    async def async_hand_back(self) -> None:
        """At shutdown: give the unit back now, as it persists the last command.

        The controller keeps its record, so a command with a duration left resumes at
        the next start and an expired or unbounded one stays released.
        """
        if self._found_mode is None:
            return
        try:
            await self.async_release(SetpointKind.BATTERY_POWER)
        except EnergyFlexApiError as err:
            _LOGGER.warning("Could not hand the sonnenBatterie back at shutdown: %s", err)

    # --- internals ----------------------------------------------------------------

    @property
    def _status(self) -> SonnenStatus | None:
        data = self._coordinator.data
        return data.status if data is not None else None

    async def _async_enter_manual_mode(self) -> None:
        status = self._status
        mode = status.operating_mode if status is not None else None
        if mode is None:
            mode = await self._client.async_get_operating_mode()
        taking_over = self._found_mode is None
        if taking_over and mode is None:
            # Without the mode found, release could not restore it: do not start.
            raise ApiWriteRejectedError(WriteRejectedReason.MANUAL_MODE_UNAVAILABLE)
        if mode != SonnenOperatingMode.MANUAL and not await self._client.async_set_operating_mode(
            SonnenOperatingMode.MANUAL
        ):
            raise ApiWriteRejectedError(WriteRejectedReason.MANUAL_MODE_UNAVAILABLE)
        if taking_over:
            # Recorded only now that the unit is in manual mode: a switch that failed
            # (refused, or the unit down) changed nothing there is to give back.
            assert mode is not None
            await self._async_remember(mode)

    async def _async_restore_mode(self) -> None:
        found = self._found_mode
        if (
            found is not None
            and found != SonnenOperatingMode.MANUAL
            and not await self._client.async_set_operating_mode(found)
        ):
            raise ApiWriteRejectedError(WriteRejectedReason.MANUAL_MODE_UNAVAILABLE)
        await self._async_remember(None)

    async def _async_remember(self, mode: int | None) -> None:
        self._found_mode = mode
        await self._store.async_save({"found_mode": mode})


def sonnen_battery_facts(data: SonnenData) -> BatteryFacts:
    """USOC (the state of charge the unit shows), the capacity it spans, the backup buffer."""
    status = data.status
    return BatteryFacts(
        state_of_charge=status.usoc,
        usable_capacity=usable_capacity(status),
        reserve=status.backup_buffer,
    )
