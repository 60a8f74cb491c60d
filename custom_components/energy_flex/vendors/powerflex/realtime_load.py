"""PowerFlex real-time load: a Home Assistant power sensor pushed to the site's DCM.

With the option `real_time_load_entity` set, the sensor's power (any power unit, W and
kW included) is sent as whole kW (`set_real_time_load`, rounded half up):

- when the whole-kW value changes, but never sooner than `real_time_load_interval` s
  after the previous send (a change meanwhile is sent when that time is up);
- while the value stays the same, again once a minute (or every interval, if longer:
  the interval is a limit the user set), so PowerFlex knows the load is still current.

A source that is unavailable, unknown, not a number, not a power, or stale (no report for
`STALE_SOURCE_AFTER`) sends nothing: PowerFlex never gets a made-up load. The
`real_time_load_problem` binary sensor turns on at once, and a repair issue is raised
when the source stays unusable for a minute (a start-up, when the source entity is not
there yet, raises none). The `real_time_load` sensor shows the last value sent.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    EntityCategory,
    UnitOfPower,
)
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import (
    async_call_later,
    async_track_point_in_utc_time,
    async_track_state_change_event,
    async_track_state_report_event,
)
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import PowerConverter

from ...const import DOMAIN
from ...coordinator import EnergyFlexConfigEntry
from ...descriptions import EnergyFlexSensorDescription
from ...descriptions.binary_sensor import EnergyFlexBinarySensorDescription
from ...settings_control import SettingsController
from .control import REAL_TIME_LOAD

_LOGGER = logging.getLogger(__name__)

KEEPALIVE: Final = timedelta(seconds=60)
STALE_SOURCE_AFTER: Final = timedelta(minutes=5)
ISSUE_AFTER: Final = timedelta(seconds=60)
# A site load beyond 100 MW is not a reading (DESIGN §4): nothing is sent.
MAX_LOAD_KW: Final = 100_000


def issue_id(entry: EnergyFlexConfigEntry) -> str:
    """The repair issue of an unusable source."""
    return f"real_time_load_source_{entry.entry_id}"


def read_load_kw(state: State | None, now: datetime) -> int | None:
    """The source's power in whole kW, or `None` when it must not be sent."""
    if (
        state is None
        or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN)
        or now - state.last_reported > STALE_SOURCE_AFTER
    ):
        return None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    try:
        value = float(state.state)
    except ValueError:
        return None
    if unit not in PowerConverter.VALID_UNITS or not math.isfinite(value):
        return None
    load_kw = PowerConverter.convert(value, unit, UnitOfPower.KILO_WATT)
    if abs(load_kw) > MAX_LOAD_KW:
        return None
    return math.floor(load_kw + 0.5)


class RealTimeLoadPush:
    """Pushes the source entity's power to one site; start with `async_start`."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EnergyFlexConfigEntry,
        settings: SettingsController,
        *,
        source: str,
        interval: timedelta,
    ) -> None:
        """Send `source`'s power at most every `interval`, through the site's `settings`."""
        self._hass = hass
        self._entry = entry
        self._settings = settings
        self._source = source
        self._interval = interval
        self._keepalive = max(KEEPALIVE, interval)
        self.last_sent_kw: int | None = None
        self.last_sent_at: datetime | None = None
        self._last_attempt: datetime | None = None
        self.problem = False
        self._failing = False
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_due: CALLBACK_TYPE | None = None
        self._unsub_keepalive: CALLBACK_TYPE | None = None
        self._unsub_issue: CALLBACK_TYPE | None = None
        self._listeners: list[CALLBACK_TYPE] = []

    @property
    def source(self) -> str:
        """The entity id whose power is sent."""
        return self._source

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` when what was sent or the problem state changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_start(self) -> None:
        """Follow the source (changes and same-value reports) and send its value now."""
        self._unsubs.append(
            async_track_state_change_event(self._hass, self._source, self._async_source_event)
        )
        self._unsubs.append(
            async_track_state_report_event(self._hass, self._source, self._async_source_event)
        )
        self._evaluate()

    @callback
    def async_stop(self) -> None:
        """Stop following and sending; an unloaded entry raises no issue."""
        for unsub in (
            *self._unsubs,
            self._unsub_due,
            self._unsub_keepalive,
            self._unsub_issue,
        ):
            if unsub is not None:
                unsub()
        self._unsubs.clear()
        self._unsub_due = self._unsub_keepalive = self._unsub_issue = None
        ir.async_delete_issue(self._hass, DOMAIN, issue_id(self._entry))

    # --- deciding -------------------------------------------------------------------------

    @callback
    def _async_source_event(self, _event: Event[Any]) -> None:
        self._evaluate()

    @callback
    def _async_timer(self, _now: datetime) -> None:
        self._evaluate()

    @callback
    def _evaluate(self) -> None:
        now = dt_util.utcnow()
        value = read_load_kw(self._hass.states.get(self._source), now)
        self._set_problem(value is None)
        if value is None:
            return
        last = self._last_attempt
        if last is not None and value == self.last_sent_kw and now < last + self._keepalive:
            return  # nothing new; the keep-alive timer sends it again
        due = now if last is None else last + self._interval
        if now >= due:
            self._send(value, now)
        elif self._unsub_due is None:
            self._unsub_due = async_track_point_in_utc_time(self._hass, self._due, due)

    @callback
    def _due(self, now: datetime) -> None:
        self._unsub_due = None
        self._async_timer(now)

    @callback
    def _send(self, value: int, now: datetime) -> None:
        self._last_attempt = now
        if self._unsub_keepalive is not None:
            self._unsub_keepalive()
        self._unsub_keepalive = async_track_point_in_utc_time(
            self._hass, self._keepalive_due, now + self._keepalive
        )
        self._entry.async_create_background_task(
            self._hass, self._async_send(value), f"{DOMAIN} real-time load"
        )

    @callback
    def _keepalive_due(self, now: datetime) -> None:
        self._unsub_keepalive = None
        self._async_timer(now)

    async def _async_send(self, value: int) -> None:
        try:
            await self._settings.async_change(REAL_TIME_LOAD, {"kw": value})
        except HomeAssistantError as err:
            if not self._failing:
                _LOGGER.warning("%s: could not send the real-time load: %s", self._entry.title, err)
            self._failing = True
            return
        if self._failing:
            _LOGGER.info("%s: sending the real-time load works again", self._entry.title)
        self._failing = False
        self.last_sent_kw = value
        self.last_sent_at = dt_util.utcnow()
        self._notify()

    # --- problem --------------------------------------------------------------------------

    def _set_problem(self, problem: bool) -> None:
        if problem == self.problem:
            return
        self.problem = problem
        if problem:
            _LOGGER.debug("%s: %s is not usable; sending nothing", self._entry.title, self._source)
            self._unsub_issue = async_call_later(self._hass, ISSUE_AFTER, self._raise_issue)
        else:
            if self._unsub_issue is not None:
                self._unsub_issue()
                self._unsub_issue = None
            ir.async_delete_issue(self._hass, DOMAIN, issue_id(self._entry))
        self._notify()

    @callback
    def _raise_issue(self, _now: datetime) -> None:
        self._unsub_issue = None
        _LOGGER.warning(
            "%s: %s has been unavailable, unknown or stale for %s s; no real-time load is sent",
            self._entry.title,
            self._source,
            int(ISSUE_AFTER.total_seconds()),
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(self._entry),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="real_time_load_source_unusable",
            translation_placeholders={"title": self._entry.title, "entity_id": self._source},
        )

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


def real_time_load_entities(
    push: RealTimeLoadPush,
) -> tuple[EnergyFlexSensorDescription, EnergyFlexBinarySensorDescription]:
    """`real_time_load` (kW last sent) and `real_time_load_problem` of the site."""
    return (
        EnergyFlexSensorDescription(
            key="real_time_load",
            translation_key="real_time_load",
            native_unit_of_measurement=UnitOfPower.KILO_WATT,
            device_class=SensorDeviceClass.POWER,
            state_class=SensorStateClass.MEASUREMENT,
            value_fn=lambda _data: push.last_sent_kw,
            listen_fn=push.async_add_listener,
        ),
        EnergyFlexBinarySensorDescription(
            key="real_time_load_problem",
            translation_key="real_time_load_problem",
            device_class=BinarySensorDeviceClass.PROBLEM,
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=lambda _data: push.problem,
            listen_fn=push.async_add_listener,
        ),
    )
