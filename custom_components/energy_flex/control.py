"""The one place that holds, repeats, bounds and releases setpoints (DESIGN §4).

A vendor supplies a `ControlAdapter` that knows how to write and release one setpoint
on its device; `SetpointController` does everything else the same way for every vendor:

- validate before anything is sent (out of range: translated `ServiceValidationError`);
- serialise writes to the device and collapse a burst to its last value;
- repeat held setpoints (keep-alive) for devices that forget API writes;
- remember deadlines in storage, so a command ends even if Home Assistant was down
  when it should have, and a restart never silently resumes an unbounded command;
- finish a release that failed (the device did not answer) as soon as the device answers
  again, on the next keep-alive tick or the next successful poll; until then the release
  wins over the held setpoint, which is never re-sent;
- carry the plan a command belongs to (`planner.py`), stored with its deadline, so a
  planned command resumes with its plan after a restart and any other command ends it.

Settings a device keeps by itself (an EV site's power cap) go through
`settings_control.SettingsController` instead.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Final, NotRequired, Protocol, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_time_interval,
)
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api.errors import EnergyFlexApiError
from .const import DOMAIN, SetpointKind

_LOGGER = logging.getLogger(__name__)
_STORAGE_VERSION = 1


# Translation key of the refusal while the device does not answer its polls.
DEVICE_NOT_ANSWERING: Final = "battery_unavailable"


class ControlAdapter(Protocol):
    """How one vendor writes setpoints; values are in W with Home Assistant's sign."""

    @property
    def keepalive_interval(self) -> timedelta | None:
        """How often a held setpoint must be re-sent, or `None` if the device keeps it."""

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """Lowest and highest value the device accepts now, or `None` if unknown."""

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """A translation key when the device takes no command now (e.g. off grid)."""

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Send one setpoint to the device."""

    async def async_release(self, kind: SetpointKind) -> None:
        """Hand that setpoint back to the device's own logic."""


class _StoredSetpoint(TypedDict):
    value: float | None
    until: str | None
    # A release was asked for but has not reached the device yet.
    releasing: NotRequired[bool]
    # The plan that re-plans this command's value (opaque here; `planner.py` reads it).
    plan: NotRequired[dict[str, Any]]


type WriteErrorMapper = Callable[[EnergyFlexApiError], HomeAssistantError]


class SetpointController:
    """Holds the setpoints of one device."""

    def __init__(
        self,
        hass: HomeAssistant,
        adapter: ControlAdapter,
        *,
        storage_key: str,
        map_error: WriteErrorMapper,
        on_written: Callable[[], Awaitable[None]],
        answering: Callable[[], bool] = lambda: True,
    ) -> None:
        """Set up an idle controller; call `async_restore` once the device answered.

        `answering` says whether the device answered its last poll: new commands wait for
        one (their bounds would be stale, and a device that answers nonsense might take
        half a command); releases and repeats of held setpoints still go through.
        """
        self._hass = hass
        self._adapter = adapter
        self._answering = answering
        self._map_error = map_error
        self._on_written = on_written
        self._store: Store[dict[str, _StoredSetpoint]] = Store(
            hass, _STORAGE_VERSION, f"{DOMAIN}.control.{storage_key}"
        )
        self._lock = asyncio.Lock()
        # What callers asked for last (a burst overwrites it) and what the device holds.
        self._desired: dict[SetpointKind, float] = {}
        self._held: dict[SetpointKind, float] = {}
        # Releases asked for that did not reach the device yet: they win over `_held`.
        self._releasing: set[SetpointKind] = set()
        self._deadlines: dict[SetpointKind, datetime] = {}
        # The plan of each planned command; a command without one ends the plan.
        self._plans: dict[SetpointKind, dict[str, Any]] = {}
        self._unsub_deadlines: dict[SetpointKind, CALLBACK_TYPE] = {}
        self._unsub_keepalive: CALLBACK_TYPE | None = None
        self._keepalive_failing = False
        self._release_failing = False
        self._unloaded = False
        self._listeners: list[CALLBACK_TYPE] = []

    # --- what entities show -------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether any setpoint is held, or a release of one has not reached the device."""
        return bool(self._held or self._releasing)

    @property
    def release_pending(self) -> bool:
        """Whether a release failed and waits for the device to answer again."""
        return bool(self._releasing)

    def held(self, kind: SetpointKind) -> float | None:
        """The value held for `kind`, or `None` when the device runs on its own."""
        return self._held.get(kind)

    def deadline(self, kind: SetpointKind) -> datetime | None:
        """When a held setpoint ends by itself, if it has a duration."""
        return self._deadlines.get(kind)

    def plan(self, kind: SetpointKind) -> dict[str, Any] | None:
        """The plan the held `kind` belongs to, or `None` for a direct command."""
        return self._plans.get(kind)

    def next_deadline(self) -> datetime | None:
        """The earliest moment a held setpoint ends by itself."""
        return min(self._deadlines.values(), default=None)

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """The device's current bounds for `kind`."""
        return self._adapter.allowed_range(kind)

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever what is held changes; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # --- commands -----------------------------------------------------------------

    def validate(self, kind: SetpointKind, value: float) -> None:
        """Refuse a value the device would not accept; nothing is sent when this raises."""
        if not self._answering():
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key=DEVICE_NOT_ANSWERING
            )
        if reason := self._adapter.blocked_reason(kind):
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key=reason)
        bounds = self._adapter.allowed_range(kind)
        if not math.isfinite(value):
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="setpoint_not_a_number"
            )
        if bounds is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="setpoint_range_unknown"
            )
        low, high = bounds
        if not low <= value <= high:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="setpoint_out_of_range",
                translation_placeholders={
                    "value": f"{value:g}",
                    "min": f"{low:g}",
                    "max": f"{high:g}",
                },
            )

    async def async_set(
        self,
        kind: SetpointKind,
        value: float,
        duration: timedelta | None = None,
        *,
        plan: dict[str, Any] | None = None,
    ) -> None:
        """Validate, send and hold a setpoint, optionally for `duration` and by a `plan`.

        Every command replaces the plan of what it holds: one without `plan` ends it.
        """
        self.validate(kind, value)
        self._desired[kind] = value
        async with self._lock:
            target = self._desired.get(kind)
            if target is None:
                return  # released while this call waited
            # A pending release may have reached the device on its own (FEMS forgets
            # unrefreshed writes): a new command is always sent, whatever was held.
            if self._held.get(kind) != target or kind in self._releasing:
                # Only the newest value of a burst is still `desired` here.
                await self._async_write(kind, target)
                self._held[kind] = target
                self._releasing.discard(kind)
            self._schedule_deadline(kind, duration)
            if plan is None:
                self._plans.pop(kind, None)
            else:
                self._plans[kind] = plan
        await self._async_save()
        self._ensure_keepalive()
        self._notify()
        await self._on_written()

    async def async_adjust(self, kind: SetpointKind, value: float, plan: dict[str, Any]) -> bool:
        """Change the value that `plan` holds, keeping its deadline.

        Nothing is sent, and False returned, once another command, a release or a newer
        call waiting to be sent has replaced `plan`: a re-plan never overrides the user.
        """
        self.validate(kind, value)
        async with self._lock:
            if not self._plan_holds(kind, plan):
                return False
            if self._held.get(kind) == value:
                return True
            self._desired[kind] = value
            await self._async_write(kind, value)
            self._held[kind] = value
        await self._async_save()
        self._notify()
        await self._on_written()
        return True

    async def async_release(
        self,
        kinds: tuple[SetpointKind, ...] | None = None,
        *,
        keep_trying: bool = False,
        plan: dict[str, Any] | None = None,
    ) -> None:
        """Hand control back to the device; without `kinds`, everything held.

        With `plan`, only what that plan still holds: a plan that ends never ends a
        command given meanwhile.

        Releasing when nothing is held still tells the device, so the button also
        recovers a setpoint left behind by an earlier crash. A release that does not
        reach the device raises, and is finished as soon as the device answers again:
        for what is held, and with `keep_trying` (what an earlier run left on the device)
        also for what is not.
        """
        if kinds is None:
            kinds = self._kinds_in_control() or (SetpointKind.BATTERY_POWER,)
        failure: EnergyFlexApiError | None = None
        async with self._lock:
            if plan is not None:
                kinds = tuple(kind for kind in kinds if self._plan_holds(kind, plan))
                if not kinds:
                    return  # another command took over: it is not ours to end
            for kind in kinds:
                self._desired.pop(kind, None)
                if failure is None:
                    try:
                        await self._adapter.async_release(kind)
                    except EnergyFlexApiError as err:
                        failure = err
                    else:
                        self._forget(kind)
                        continue
                # Not released: the device did not answer (or a kind before this one
                # failed, and the device would most likely not answer this one either).
                if keep_trying or kind in self._held or kind in self._releasing:
                    self._releasing.add(kind)
                    self._cancel_deadline(kind)
                    self._plans.pop(kind, None)
        if failure is not None:
            self._ensure_keepalive()
        elif not self.active:
            self._stop_keepalive()
        await self._async_save()
        self._notify()
        if failure is not None:
            raise self._map_error(failure) from failure
        await self._on_written()

    async def async_retry_release(self) -> None:
        """Finish the releases that did not reach the device; call when it answers again."""
        if not self._releasing or self._unloaded:
            return
        async with self._lock:
            released = await self._async_finish_releases()
        if released:
            await self._async_released()

    # --- lifecycle ------------------------------------------------------------------

    async def async_restore(self) -> None:
        """Finish what was held before a restart.

        A command with a deadline still ahead resumes until that deadline. An expired
        one, one without a deadline, or one whose release was pending, is released:
        never resume a command that nobody bounded, and end the ones whose time passed
        while Home Assistant was down. A release that fails now stays pending.
        """
        stored = await self._store.async_load() or {}
        now = dt_util.utcnow()
        to_release: list[SetpointKind] = []
        for raw_kind, record in stored.items():
            try:
                kind = SetpointKind(raw_kind)
            except ValueError:
                continue
            until = dt_util.parse_datetime(record["until"]) if record["until"] else None
            value = record["value"]
            if not record.get("releasing") and value is not None and until and until > now:
                try:
                    plan = record.get("plan")
                    await self.async_set(
                        kind, value, until - now, plan=plan if isinstance(plan, dict) else None
                    )
                except HomeAssistantError as err:
                    # Keep the record: the next start tries again.
                    _LOGGER.warning("Could not restore %s after the restart: %s", kind, err)
                continue
            _LOGGER.info("Releasing %s held before the restart", kind)
            if value is not None:
                self._held[kind] = value  # shown as held until the device takes the release
            to_release.append(kind)
        if not to_release:
            return
        try:
            await self.async_release(tuple(to_release), keep_trying=True)
        except HomeAssistantError as err:
            _LOGGER.warning(
                "Could not release %s after the restart; trying again when the device answers: %s",
                ", ".join(to_release),
                err,
            )

    async def async_unload(self) -> None:
        """Stop repeating and hand held setpoints back when the entry goes away."""
        self._unloaded = True
        self._stop_keepalive()
        for kind in list(self._unsub_deadlines):
            self._cancel_deadline(kind)
        if self.active:
            try:
                await self.async_release(self._kinds_in_control())
            except HomeAssistantError as err:
                # Stored as pending: the next start releases it. FEMS also drops
                # unrefreshed writes by itself (60 s).
                _LOGGER.warning("Could not release control on unload: %s", err)

    # --- internals ------------------------------------------------------------------

    async def _async_write(self, kind: SetpointKind, value: float) -> None:
        try:
            await self._adapter.async_write(kind, value)
        except EnergyFlexApiError as err:
            # Forget the request: the device still has what it had before.
            if kind in self._held and kind not in self._releasing:
                self._desired[kind] = self._held[kind]
            else:
                self._desired.pop(kind, None)
            raise self._map_error(err) from err

    def _plan_holds(self, kind: SetpointKind, plan: dict[str, Any]) -> bool:
        """`plan` holds `kind`, and no newer command or release replaced or awaits it."""
        return (
            self._plans.get(kind) == plan
            and kind not in self._releasing
            and self._desired.get(kind) == self._held.get(kind)
        )

    def _kinds_in_control(self) -> tuple[SetpointKind, ...]:
        """Held kinds in the order they were taken, then those only pending a release."""
        pending = sorted(self._releasing - self._held.keys())
        return (*self._held, *pending)

    def _forget(self, kind: SetpointKind) -> None:
        """The device runs `kind` on its own again."""
        self._held.pop(kind, None)
        self._releasing.discard(kind)
        self._cancel_deadline(kind)
        self._plans.pop(kind, None)

    async def _async_finish_releases(self) -> bool:
        """Send the pending releases (under the lock); True if any reached the device."""
        released = False
        for kind in sorted(self._releasing):
            try:
                await self._adapter.async_release(kind)
            except EnergyFlexApiError as err:
                if not self._release_failing:
                    _LOGGER.warning(
                        "Could not finish releasing %s; trying again when the device answers: %s",
                        kind,
                        err,
                    )
                self._release_failing = True
                return released
            self._forget(kind)
            released = True
            _LOGGER.info("Released %s now that the device answers again", kind)
        self._release_failing = False
        return released

    async def _async_released(self) -> None:
        """What follows a pending release that reached the device."""
        if not self.active:
            self._stop_keepalive()
        await self._async_save()
        self._notify()
        await self._on_written()

    def _schedule_deadline(self, kind: SetpointKind, duration: timedelta | None) -> None:
        self._cancel_deadline(kind)
        if duration is None:
            return
        deadline = dt_util.utcnow() + duration
        self._deadlines[kind] = deadline

        async def _expired(_now: datetime) -> None:
            self._unsub_deadlines.pop(kind, None)
            _LOGGER.debug("Duration of %s ended, releasing", kind)
            try:
                await self.async_release((kind,))
            except HomeAssistantError as err:
                _LOGGER.warning("Could not release %s at its deadline: %s", kind, err)

        self._unsub_deadlines[kind] = async_track_point_in_utc_time(self._hass, _expired, deadline)

    def _cancel_deadline(self, kind: SetpointKind) -> None:
        self._deadlines.pop(kind, None)
        if unsub := self._unsub_deadlines.pop(kind, None):
            unsub()

    def _ensure_keepalive(self) -> None:
        interval = self._adapter.keepalive_interval
        if (
            interval is None
            or self._unsub_keepalive is not None
            or not self.active
            or self._unloaded
        ):
            return
        self._unsub_keepalive = async_track_time_interval(
            self._hass, self._async_keepalive, interval, cancel_on_shutdown=True
        )

    def _stop_keepalive(self) -> None:
        if self._unsub_keepalive is not None:
            self._unsub_keepalive()
            self._unsub_keepalive = None

    async def _async_keepalive(self, _now: datetime) -> None:
        async with self._lock:
            # A pending release first: the setpoint it ends is never asserted again.
            released = await self._async_finish_releases() if self._releasing else False
            if not self._releasing:  # else the device still does not answer
                await self._async_repeat_held()
        if released:
            await self._async_released()

    async def _async_repeat_held(self) -> None:
        for kind, value in list(self._held.items()):
            try:
                await self._adapter.async_write(kind, value)
            except EnergyFlexApiError as err:
                if not self._keepalive_failing:
                    _LOGGER.warning("Could not repeat the held %s: %s", kind, err)
                self._keepalive_failing = True
                return
        if self._keepalive_failing:
            _LOGGER.info("Repeating held setpoints works again")
        self._keepalive_failing = False

    async def _async_save(self) -> None:
        records: dict[str, _StoredSetpoint] = {}
        for kind in self._kinds_in_control():
            deadline = self._deadlines.get(kind)
            record: _StoredSetpoint = {
                "value": self._held.get(kind),
                "until": deadline.isoformat() if deadline else None,
            }
            if kind in self._releasing:
                record["releasing"] = True
            if (plan := self._plans.get(kind)) is not None:
                record["plan"] = plan
            records[kind.value] = record
        await self._store.async_save(records)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
