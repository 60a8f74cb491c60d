"""FlexConnect polling: one poll of every battery, and faster polls while a command travels.

A poll sends a `BatteryStateRequest` and a `BatteryControlRequest` per battery, all at
once: the API addresses one device per request and has no batched read. A battery that
does not answer becomes unavailable on its own; only when none answers does the whole
poll fail.

After a command the battery may take up to a minute to apply it (First Steps,
"Command latency"). `CommandTracker` shortens the coordinator's `update_interval` until
the current instructions show the command, and marks a command that did not arrive in
time as overdue (the battery's `command_not_applied` problem sensor turns on); then the
normal interval returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ...api.errors import EnergyFlexApiError
from ...api.flexconnect import (
    BatteryControl,
    BatteryState,
    ControlInstructions,
    ControlMode,
    FlexConnectClient,
)
from ...coordinator import EnergyFlexCoordinator
from .entities import FlexConnectBatteryData, PendingCommand

_LOGGER = logging.getLogger(__name__)

# The development client forwards every request to the cloud; 30 s is plenty for a battery.
NORMAL_INTERVAL: Final = timedelta(seconds=30)
# While a command travels (notes §7: poll every 5–10 s).
FAST_INTERVAL: Final = timedelta(seconds=5)
# "Up to a minute" plus a margin; then the command is reported as not applied (notes §7).
COMMAND_TIMEOUT: Final = timedelta(seconds=90)

type Polled = Mapping[str, tuple[BatteryState, BatteryControl]]


class CommandTracker:
    """Follows the commands Energy Flex sent until each battery shows it applied."""

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: EnergyFlexCoordinator[Any],
        battery_names: Mapping[str, str],
    ) -> None:
        """Track commands to the batteries of `coordinator`'s entry."""
        self._hass = hass
        self._coordinator = coordinator
        self._names = battery_names
        self._commands: dict[str, PendingCommand] = {}

    def command(self, ski: str) -> PendingCommand | None:
        """Our command to `ski` that the battery does not show as applied yet."""
        return self._commands.get(ski)

    @callback
    def sent(self, ski: str, mode: ControlMode, setpoint_power: float) -> None:
        """A modify request was accepted: poll fast until the battery applies it."""
        self._commands[ski] = PendingCommand(
            control_mode=mode, setpoint_power=setpoint_power, since=dt_util.utcnow()
        )
        # A newer command replaces one that was overdue.
        self._apply_interval()
        self._show_requested(ski, mode, setpoint_power)

    def _show_requested(self, ski: str, mode: ControlMode, setpoint_power: float) -> None:
        """Show the accepted command as desired now, not only after the next poll.

        The battery accepted it, so it *is* the desired instruction; the current ones stay
        as last polled. A refresh follows at once, or after the refresh cooldown.
        """
        data = self._coordinator.data
        battery = data.get(ski) if data else None
        if battery is None:
            return
        desired = ControlInstructions(control_mode=mode, setpoint_power=setpoint_power)
        self._coordinator.async_set_updated_data(
            {
                **data,
                ski: replace(
                    battery,
                    control=replace(battery.control, desired=desired),
                    command=self._commands[ski],
                ),
            }
        )

    @callback
    def observe(self, polled: Polled) -> None:
        """Settle the commands a poll shows as applied; mark those that are late."""
        now = dt_util.utcnow()
        for ski, command in list(self._commands.items()):
            answer = polled.get(ski)
            if answer is not None and _applied(command, answer[1]):
                del self._commands[ski]
                if command.overdue:
                    _LOGGER.info("Battery %s applied the late command", self._names[ski])
            elif not command.overdue and now - command.since >= COMMAND_TIMEOUT:
                self._commands[ski] = replace(command, overdue=True)
                self._report_overdue(ski)
        self._apply_interval()

    @callback
    def async_unload(self) -> None:
        """An unloaded entry polls no more: forget the commands on their way."""
        self._commands.clear()

    def _report_overdue(self, ski: str) -> None:
        _LOGGER.warning(
            "Battery %s has not applied the command after %s s; polling normally again",
            self._names[ski],
            int(COMMAND_TIMEOUT.total_seconds()),
        )

    def _apply_interval(self) -> None:
        waiting = any(not command.overdue for command in self._commands.values())
        self._coordinator.update_interval = FAST_INTERVAL if waiting else NORMAL_INTERVAL


def _applied(command: PendingCommand, control: BatteryControl) -> bool:
    """The battery applies our command: it is current and nothing newer is pending.

    Only the current instructions settle a command. One that another client replaced
    before it applied is never settled: it is reported late, which it is. Setpoints are
    compared with ProtoJSON's default applied: an omitted `setpointPower` is 0 W.
    """
    current = control.current
    if current is None or not control.applied:
        return False
    return current.same_command(command.control_mode, command.setpoint_power)


class BatteryPoller:
    """Polls every battery of an entry; the coordinator's `fetch`."""

    def __init__(
        self,
        client: FlexConnectClient,
        skis: Sequence[str],
        tracker: CommandTracker,
        battery_names: Mapping[str, str],
    ) -> None:
        """Poll `skis` through `client`, telling `tracker` what each poll shows."""
        self._client = client
        self._skis = tuple(skis)
        self._tracker = tracker
        self._names = battery_names
        # Batteries logged as not answering, so each outage is logged once.
        self._silent: set[str] = set()

    async def async_poll(self) -> dict[str, FlexConnectBatteryData]:
        """One poll; batteries that did not answer are missing from the result."""
        results = await asyncio.gather(*(self._async_poll_one(ski) for ski in self._skis))
        polled = {
            ski: result
            for ski, result in zip(self._skis, results, strict=True)
            if not isinstance(result, EnergyFlexApiError)
        }
        self._tracker.observe(polled)
        if not polled:
            # The client itself (or every battery) is down: the coordinator logs it once.
            raise next(err for err in results if isinstance(err, EnergyFlexApiError))
        for ski, result in zip(self._skis, results, strict=True):
            self._log_availability(ski, result)
        return {
            ski: FlexConnectBatteryData(
                state=state, control=control, command=self._tracker.command(ski)
            )
            for ski, (state, control) in polled.items()
        }

    async def _async_poll_one(
        self, ski: str
    ) -> tuple[BatteryState, BatteryControl] | EnergyFlexApiError:
        failure: EnergyFlexApiError | None = None
        try:
            # Both at once; if one fails the other is cancelled, not left running.
            async with asyncio.TaskGroup() as group:
                state = group.create_task(self._client.async_get_battery_state(ski))
                control = group.create_task(self._client.async_get_battery_control(ski))
        except* EnergyFlexApiError as errors:
            first = errors.exceptions[0]
            assert isinstance(first, EnergyFlexApiError)
            failure = first
        if failure is not None:
            return failure
        return state.result(), control.result()

    def _log_availability(
        self, ski: str, result: tuple[BatteryState, BatteryControl] | EnergyFlexApiError
    ) -> None:
        if isinstance(result, EnergyFlexApiError):
            if ski not in self._silent:
                self._silent.add(ski)
                _LOGGER.warning("Battery %s does not answer: %s", self._names[ski], result)
        elif ski in self._silent:
            self._silent.discard(ski)
            _LOGGER.info("Battery %s answers again", self._names[ski])
