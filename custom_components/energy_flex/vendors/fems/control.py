"""FEMS control: ess0's write channels (held through `control.py`) and planning's facts."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from ...api.fems import (
    SET_ACTIVE_POWER_EQUALS,
    SET_ACTIVE_POWER_GREATER_OR_EQUALS,
    SET_ACTIVE_POWER_LESS_OR_EQUALS,
    FemsSnapshot,
)
from ...battery import BatteryFacts
from ...const import SetpointKind
from ...coordinator import (
    EnergyFlexCoordinator,
)
from ...plausibility import ValueKind, plausible

# Each held setpoint is one OpenEMS write channel of ess0.
_CHANNEL_BY_KIND = {
    SetpointKind.BATTERY_POWER: SET_ACTIVE_POWER_EQUALS,
    SetpointKind.DISCHARGE_LIMIT: SET_ACTIVE_POWER_LESS_OR_EQUALS,
    SetpointKind.CHARGE_LIMIT: SET_ACTIVE_POWER_GREATER_OR_EQUALS,
}


def allowed_power_range(data: FemsSnapshot, kind: SetpointKind) -> tuple[float, float] | None:
    """What the ESS allows for `kind` now, from its AllowedCharge/DischargePower."""
    # A limit that cannot be true would let any setpoint through: then none is known.
    allowed_charge, allowed_discharge = (
        plausible(ValueKind.BATTERY_POWER, power, rated_power_w=data.max_apparent_power)
        for power in (data.allowed_charge_power, data.allowed_discharge_power)
    )
    if allowed_charge is None or allowed_discharge is None:
        return None
    max_charge = max(0.0, -allowed_charge)
    max_discharge = max(0.0, allowed_discharge)
    if kind is SetpointKind.BATTERY_POWER:
        return (0.0 - max_charge, max_discharge)  # 0.0 - x: never a "-0" bound
    if kind is SetpointKind.DISCHARGE_LIMIT:
        return (0.0, max_discharge)
    return (0.0, max_charge)


class FemsChannelWriter(Protocol):
    """A FEMS client that writes ess0 channels by OpenEMS channel id."""

    async def async_set_channel(self, channel: str, value: float | None) -> None:
        """Write `value`, or release the channel with `None`."""


class FemsControlAdapter:
    """Drives ess0's write channels; FEMS forgets them 60 s after the last write."""

    def __init__(
        self,
        writer: FemsChannelWriter,
        coordinator: EnergyFlexCoordinator[FemsSnapshot],
        keepalive_interval: timedelta,
    ) -> None:
        """Write through `writer`; read the allowed power from the last poll."""
        self._writer = writer
        self._coordinator = coordinator
        self._keepalive_interval = keepalive_interval

    @property
    def keepalive_interval(self) -> timedelta:
        """Re-send held setpoints well inside the 60 s apiTimeout."""
        return self._keepalive_interval

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """The ESS's allowed charge (negative) and discharge power from the last poll.

        There always is one: control is built after the entry's first refresh succeeded,
        and a coordinator keeps its last data through failed polls.
        """
        return allowed_power_range(self._coordinator.data, kind)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """FEMS takes commands whenever it reports its allowed power."""
        return None

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Write one ess0 channel; the charge limit goes out negative (OpenEMS sign)."""
        channel_value = -value if kind is SetpointKind.CHARGE_LIMIT else value
        await self._writer.async_set_channel(_CHANNEL_BY_KIND[kind], channel_value)

    async def async_release(self, kind: SetpointKind) -> None:
        """`{"value": null}` drops the pending write at once."""
        await self._writer.async_set_channel(_CHANNEL_BY_KIND[kind], None)


def fems_battery_facts(data: FemsSnapshot) -> BatteryFacts:
    """State of charge and capacity as the FEMS reports them (`_sum/EssSoc`, `EssCapacity`).

    No reserve: the emergency-capacity reserve is a controller's setting, not a channel
    Energy Flex polls; a FEMS plan is bounded by the ESS's allowed discharge power only.
    """
    return BatteryFacts(state_of_charge=data.soc, usable_capacity=data.capacity)
