"""FlexConnect control: instructions sent through the client, the mode found restored on release."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ...api.flexconnect import (
    ControlMode,
    FlexConnectClient,
)
from ...battery import BatteryFacts
from ...const import DOMAIN, SetpointKind
from ...coordinator import (
    EnergyFlexCoordinator,
)
from ...descriptions.settings import EnergyFlexSelectDescription
from ...device import EnergyFlexDevice

# --- control --------------------------------------------------------------------------------
from .entities import (
    FlexConnectBatteryData,
    current_instructions,
    desired_instructions,
    enum_option,
    enum_options,
    to_flexconnect_setpoint,
)

_LOGGER = logging.getLogger(__name__)

# Before we take control we remember the battery's mode, to hand it back on release.
_RELEASE_STORAGE_VERSION = 1
# The mode to hand back to when the battery did not say which one it was in.
FALLBACK_RELEASE_MODE = ControlMode.AUTO


class _StoredRelease(TypedDict):
    mode_before: int | None


class FlexConnectControlAdapter:
    """Sends one battery's commands as `BatteryControlModifyRequest`s.

    A battery setpoint is mode POWER with the converted setpoint. The first command
    remembers (in storage, so a restart keeps it) the mode the battery ran in; release
    sends that mode back with setpoint 0 (notes §7). Commands do not expire, so nothing
    is repeated.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        client: FlexConnectClient,
        coordinator: EnergyFlexCoordinator[dict[str, FlexConnectBatteryData]],
        *,
        ski: str,
        storage_key: str,
        power_limits: tuple[float, float],
        on_sent: Callable[[str, ControlMode, float], None],
    ) -> None:
        """Control battery `ski`; `power_limits` are (max charge, max discharge) in W."""
        self._client = client
        self._coordinator = coordinator
        self._ski = ski
        self._max_charge, self._max_discharge = power_limits
        self._on_sent = on_sent
        self._store: Store[_StoredRelease] = Store(
            hass, _RELEASE_STORAGE_VERSION, f"{DOMAIN}.flexconnect_release.{storage_key}"
        )
        self._mode_before: ControlMode | None = None
        # Set for the duration of one release that hands over to a chosen mode.
        self._release_to: ControlMode | None = None

    async def async_load(self) -> None:
        """Recall the mode remembered before a restart."""
        stored = await self._store.async_load()
        raw = stored.get("mode_before") if stored else None
        # Whatever else is stored (a hand edit, a future format) is forgotten, not trusted.
        self._mode_before = next((mode for mode in ControlMode if mode.value == raw), None)

    @property
    def keepalive_interval(self) -> timedelta | None:
        """FlexConnect keeps a setpoint until it is changed; nothing to repeat."""
        return None

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """The bounds from the options, while the battery takes commands."""
        if kind is not SetpointKind.BATTERY_POWER or self.blocked_reason(kind):
            return None
        return (0.0 - self._max_charge, self._max_discharge)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """Offline, off, failing or in failsafe: no command would be followed."""
        data = self._data
        if data is None:
            return "battery_unavailable"
        if not data.controllable:
            return "battery_not_controllable"
        return None

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Mode POWER with `value` (W, + discharge) as FlexConnect's + charge setpoint.

        Whole watts, as the vendor's examples send them.
        """
        if self._mode_before is None:
            await self._async_remember_mode()
        await self._async_send(ControlMode.POWER, float(round(to_flexconnect_setpoint(value))))

    async def async_release(self, kind: SetpointKind) -> None:
        """Hand back to the mode found before we took control, with setpoint 0.

        Without a remembered mode we never took control: nothing is sent.
        """
        mode = self._release_to or self._mode_before
        if mode is None:
            return
        await self._async_send(mode, 0.0)
        if self._mode_before is not None:
            self._mode_before = None
            await self._store.async_save({"mode_before": None})

    async def async_select_mode(self, device: EnergyFlexDevice, mode: ControlMode) -> None:
        """The `control_mode` select, through the controller so writes stay serialised.

        POWER takes control at the held setpoint (0 W when none is held). PCC or AUTO
        hands the battery over to that mode: a release to the chosen mode.
        """
        controller = device.controller
        assert controller is not None  # selects exist only for controllable devices
        if mode is ControlMode.POWER:
            held = controller.held(SetpointKind.BATTERY_POWER)
            await controller.async_set(SetpointKind.BATTERY_POWER, held or 0.0)
            return
        self._release_to = mode
        try:
            await controller.async_release()
        finally:
            self._release_to = None

    @property
    def _data(self) -> FlexConnectBatteryData | None:
        data = self._coordinator.data
        return data.get(self._ski) if data is not None else None

    async def _async_remember_mode(self) -> None:
        data = self._data
        mode = current_instructions(data).control_mode if data is not None else None
        if mode is None:
            _LOGGER.info(
                "Battery %s did not report its control mode; release will select %s",
                self._ski[:8],
                FALLBACK_RELEASE_MODE.name,
            )
            mode = FALLBACK_RELEASE_MODE
        self._mode_before = mode
        # Saved before the command goes out: a crash right after it still knows the way back.
        await self._store.async_save({"mode_before": int(mode)})

    async def _async_send(self, mode: ControlMode, setpoint_power: float) -> None:
        await self._client.async_modify_battery_control(self._ski, mode, setpoint_power)
        self._on_sent(self._ski, mode, setpoint_power)


def control_mode_select(
    adapters: Mapping[str, FlexConnectControlAdapter],
) -> EnergyFlexSelectDescription:
    """The `control_mode` select of an entry whose batteries have these adapters."""

    async def select(device: EnergyFlexDevice, option: str) -> None:
        await adapters[device.identity].async_select_mode(device, ControlMode[option.upper()])

    return EnergyFlexSelectDescription(
        key="control_mode",
        translation_key="control_mode",
        options=enum_options(ControlMode),
        # What was requested, like the setpoint number; the sensors show what applies.
        current_fn=lambda data: enum_option(desired_instructions(data).control_mode),
        select_fn=select,
    )


def flexconnect_battery_facts(data: FlexConnectBatteryData) -> BatteryFacts:
    """State of charge and usable capacity as the battery reports them.

    A battery that omits `usableCapacity` still tells its energy: capacity = energy ÷ SoC.
    """
    state = data.state
    soc, capacity = state.state_of_charge, state.usable_capacity
    if capacity is None and state.state_of_energy is not None and soc:
        capacity = state.state_of_energy * 100 / soc
    return BatteryFacts(state_of_charge=soc, usable_capacity=capacity)
