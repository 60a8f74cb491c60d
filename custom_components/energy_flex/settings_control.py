"""Settings a device keeps by itself (DESIGN §4): an EV site's power cap, not a setpoint.

`SettingsController` serialises writes, merges a burst into one, and writes a change
with a duration back at its deadline, also across a restart. Unlike a held setpoint
nothing is repeated: the device keeps what it was told.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api.errors import EnergyFlexApiError
from .const import DOMAIN

if TYPE_CHECKING:
    from .control import WriteErrorMapper

_LOGGER = logging.getLogger(__name__)
_STORAGE_VERSION = 1

# A restore that failed (the service was down at the deadline) is tried again this often.
SETTING_RESTORE_RETRY = timedelta(seconds=60)


class SettingsAdapter(Protocol):
    """How one vendor reads and writes settings its device keeps (fields of JSON scalars)."""

    def current(self, setting: str) -> Mapping[str, Any] | None:
        """Every field of `setting` as the device last reported it; `None` if unknown."""

    async def async_write(
        self, setting: str, value: Mapping[str, Any], changed: Mapping[str, Any]
    ) -> None:
        """Send `value` (every field); `changed` holds the fields this write changes."""


class _StoredRestore(TypedDict):
    restore: dict[str, Any]
    until: str


@dataclass(slots=True)
class _Batch:
    """Changes to one setting that arrived while an earlier write was on its way."""

    change: dict[str, Any]
    duration: timedelta | None
    taken: bool = False
    error: Exception | None = None


class SettingsController:
    """Writes the settings of one device (DESIGN §4); the device keeps them, nothing repeats.

    - Writes are serialised; changes that queue up meanwhile merge into one write (the
      last value of each field), and every caller sees that write's outcome.
    - A change with a duration writes back the value found before it at its deadline, also
      when Home Assistant was down then (value and deadline are stored). Timed changes in
      a row restore the value found before the first; a change without a duration ends a
      pending restore, because the user set the value for good.
    - Unloading keeps pending restores (stored) for the next start, and writes nothing.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        adapter: SettingsAdapter,
        *,
        storage_key: str,
        map_error: WriteErrorMapper,
    ) -> None:
        """Set up; call `async_restore` once the device answered."""
        self._hass = hass
        self._adapter = adapter
        self._map_error = map_error
        self._store: Store[dict[str, _StoredRestore]] = Store(
            hass, _STORAGE_VERSION, f"{DOMAIN}.settings.{storage_key}"
        )
        self._lock = asyncio.Lock()
        self._pending: dict[str, _Batch] = {}
        self._restores: dict[str, _StoredRestore] = {}
        self._unsub_timers: dict[str, CALLBACK_TYPE] = {}

    def restore_deadline(self, setting: str) -> datetime | None:
        """When a timed change of `setting` is written back, if one is pending."""
        record = self._restores.get(setting)
        return dt_util.parse_datetime(record["until"]) if record else None

    async def async_change(
        self, setting: str, change: Mapping[str, Any], duration: timedelta | None = None
    ) -> None:
        """Write `change` (some fields) on top of what the device has, optionally for `duration`.

        Validate before calling: this only writes. Raises the mapped write error.
        """
        batch = self._pending.get(setting)
        if batch is None:
            batch = self._pending[setting] = _Batch({}, duration)
        batch.change.update(change)
        batch.duration = duration
        async with self._lock:
            if not batch.taken:
                batch.taken = True
                # An untaken batch is always the pending one: later changes start a new one.
                del self._pending[setting]
                try:
                    await self._async_apply(setting, batch.change, batch.duration)
                except Exception as err:
                    batch.error = err
                    raise
        if batch.error is not None:
            # This change went out with another caller's write, which failed.
            raise batch.error

    async def async_restore(self) -> None:
        """At setup: write back what is overdue, schedule the restores still ahead.

        Overdue: the deadline passed while Home Assistant was down.
        """
        stored = await self._store.async_load() or {}
        now = dt_util.utcnow()
        for setting, record in stored.items():
            until = _stored_deadline(record)
            if until is None:
                continue  # not ours (a hand edit, a future format): never written
            self._restores[setting] = record
            if until > now:
                self._schedule(setting, until)
            else:
                _LOGGER.info("Restoring %s, whose duration ended while stopped", setting)
                await self._async_expired(setting)

    @callback
    def async_unload(self) -> None:
        """Stop the timers; pending restores stay stored for the next start."""
        for unsub in self._unsub_timers.values():
            unsub()
        self._unsub_timers.clear()

    async def _async_apply(
        self, setting: str, change: dict[str, Any], duration: timedelta | None
    ) -> None:
        base = self._adapter.current(setting)
        if base is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="setting_unavailable"
            )
        try:
            await self._adapter.async_write(setting, {**base, **change}, change)
        except EnergyFlexApiError as err:
            raise self._map_error(err) from err
        if duration is not None:
            earlier = self._restores.get(setting)
            restore = earlier["restore"] if earlier else dict(base)
            until = dt_util.utcnow() + duration
            self._restores[setting] = {"restore": restore, "until": until.isoformat()}
            self._schedule(setting, until)
        elif not self._forget(setting):
            return  # nothing stored changed
        await self._async_save()

    def _schedule(self, setting: str, when: datetime) -> None:
        if unsub := self._unsub_timers.pop(setting, None):
            unsub()

        async def _due(_now: datetime) -> None:
            self._unsub_timers.pop(setting, None)
            await self._async_expired(setting)

        self._unsub_timers[setting] = async_track_point_in_utc_time(self._hass, _due, when)

    def _forget(self, setting: str) -> bool:
        """Drop a pending restore of `setting`; whether there was one."""
        if unsub := self._unsub_timers.pop(setting, None):
            unsub()
        return self._restores.pop(setting, None) is not None

    async def _async_expired(self, setting: str) -> None:
        async with self._lock:
            record = self._restores.get(setting)
            if record is None:
                return  # a change without a duration ended it meanwhile
            value = record["restore"]
            try:
                await self._adapter.async_write(setting, value, value)
            except EnergyFlexApiError as err:
                _LOGGER.warning(
                    "Could not restore %s after its duration, trying again in %s s: %s",
                    setting,
                    int(SETTING_RESTORE_RETRY.total_seconds()),
                    err,
                )

                @callback
                def _retry(_now: datetime) -> None:
                    self._unsub_timers.pop(setting, None)
                    self._hass.async_create_task(self._async_expired(setting))

                self._unsub_timers[setting] = async_call_later(
                    self._hass, SETTING_RESTORE_RETRY, _retry
                )
                return
            del self._restores[setting]
        _LOGGER.debug("Restored %s after its duration", setting)
        await self._async_save()

    async def _async_save(self) -> None:
        await self._store.async_save(dict(self._restores))


def _stored_deadline(record: object) -> datetime | None:
    """The deadline of a stored restore, or `None` if the record is not one."""
    if not isinstance(record, dict) or not isinstance(record.get("restore"), dict):
        return None
    until = record.get("until")
    return dt_util.parse_datetime(until) if isinstance(until, str) else None
