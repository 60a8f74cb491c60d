"""The control logic of a sonnenBatterie, without HTTP (sonnen-api-notes.md §5).

- The unit remembers a charge and a discharge setpoint separately, until each is replaced
  (it has no timeout). The last non-zero one written wins; a zero only clears its own
  direction, so a remembered opposite command still acts.
- Setpoints act in manual mode (`EM_OperatingMode` 1). In any automatic mode a setpoint
  acts briefly, then the energy manager overrides it (`override_after_s`, about 20 s).
- Configuration (mode, backup reserve, limits) persists, also across a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from ..battery import BatteryModel
from ..jsontypes import JsonValue

MANUAL: Final = 1
KNOWN_MODES: Final = frozenset({1, 2, 4, 6, 7, 8, 10, 11})
CHARGE: Final = "charge"
DISCHARGE: Final = "discharge"


def _whole(value: JsonValue) -> int | None:
    """A configuration value as the unit stores it: int or numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class SonnenDevice:
    """Operating mode, remembered setpoints and the energy manager over a battery."""

    def __init__(
        self,
        battery: BatteryModel,
        configuration: dict[str, JsonValue],
        *,
        clock: Callable[[], float] = time.monotonic,
        override_after_s: float = 20.0,
    ) -> None:
        self.battery = battery
        # Values keep the type the firmware uses for them ("2" or 2).
        self.configuration = dict(configuration)
        self.override_after_s = override_after_s
        self._clock = clock
        self.charge_w = 0
        self.discharge_w = 0
        self._last_direction: str | None = None
        # When a setpoint was written outside manual mode (it acts until overridden).
        self._unmanaged_since: float | None = None
        self._restart_until: float | None = None
        self.overrides_by_manager = 0
        max_power = self.inverter_max_power_w
        if max_power is not None:
            battery.max_charge_w = battery.max_discharge_w = max_power

    # --- configuration --------------------------------------------------------------

    @property
    def operating_mode(self) -> int:
        mode = _whole(self.configuration.get("EM_OperatingMode", 2))
        return mode if mode is not None else 2

    @operating_mode.setter
    def operating_mode(self, mode: int) -> None:
        previous = self.operating_mode
        # Written back in the type this firmware uses.
        current = self.configuration.get("EM_OperatingMode")
        self.configuration["EM_OperatingMode"] = mode if isinstance(current, int) else str(mode)
        if mode != previous:
            self._unmanaged_since = None
        self.apply()

    @property
    def backup_buffer(self) -> int:
        buffer = _whole(self.configuration.get("EM_USOC", 0))
        return buffer if buffer is not None else 0

    @backup_buffer.setter
    def backup_buffer(self, percent: int) -> None:
        current = self.configuration.get("EM_USOC")
        self.configuration["EM_USOC"] = percent if isinstance(current, int) else str(percent)

    @property
    def inverter_max_power_w(self) -> int | None:
        return _whole(self.configuration.get("IC_InverterMaxPower_w"))

    # --- setpoints --------------------------------------------------------------------

    @property
    def commanded_w(self) -> float:
        """The remembered command in W, + discharge / − charge."""
        if self.discharge_w > 0 and (self.charge_w == 0 or self._last_direction == DISCHARGE):
            return float(self.discharge_w)
        if self.charge_w > 0:
            return -float(self.charge_w)
        return 0.0

    def write_setpoint(self, direction: str, watts: int) -> bool:
        """Remember a setpoint; True if it acts now (manual mode, on grid)."""
        if direction == CHARGE:
            self.charge_w = watts
        else:
            self.discharge_w = watts
        if watts > 0:
            self._last_direction = direction
        if self.operating_mode != MANUAL:
            self._unmanaged_since = self._clock()
        self.apply()
        return self.operating_mode == MANUAL and self.battery.on_grid

    # --- restart ----------------------------------------------------------------------

    def restart(self, duration_s: float) -> None:
        """Reboot: no answers for `duration_s`; configuration and setpoints persist."""
        self._restart_until = self._clock() + duration_s
        self._unmanaged_since = None
        self.apply()

    @property
    def restarting(self) -> bool:
        return self._restart_until is not None and self._clock() < self._restart_until

    # --- time ---------------------------------------------------------------------------

    def apply(self) -> None:
        """Bring the battery to what the mode, the setpoints and the clock say now."""
        desired: float | None = None
        if self.operating_mode == MANUAL:
            desired = self.commanded_w
        elif self._unmanaged_since is not None:
            if self._clock() - self._unmanaged_since < self.override_after_s:
                desired = self.commanded_w
            else:
                # The energy manager takes the battery back (ioBroker.sonnen #118).
                self._unmanaged_since = None
                self.overrides_by_manager += 1
        if self.battery.setpoint_w != desired:
            self.battery.setpoint_w = desired
