"""FEMS cloud control: an edge's `Controller.Ess.FixActivePower`, held through `control.py`.

The cloud cannot write the ESS channels an owner may write locally (`setChannelValue`
needs ADMIN), but an owner may reconfigure a fix-active-power controller
(`updateComponentConfig`): mode MANUAL_ON with `power` holds a battery power, MANUAL_OFF
hands control back. The FEMS sign is Home Assistant's (+ discharge, − charge).

That configuration is persistent on the FEMS: it is never repeated (no keep-alive) and
no timeout ends it. Durations, release on unload and release after a restart come from
`SetpointController` like for every battery.
"""

from __future__ import annotations

from datetime import timedelta

from ...api.fems import ESS_ID
from ...api.fems_cloud import FemsCloudClient, FemsCloudEdgeState, FixActivePowerController
from ...const import SetpointKind
from ...coordinator import EnergyFlexCoordinator
from ..fems.control import allowed_power_range


class FemsCloudControlAdapter:
    """Writes one edge's FixActivePower controller; bounds come from the edge's ESS."""

    def __init__(
        self,
        client: FemsCloudClient,
        coordinator: EnergyFlexCoordinator[dict[str, FemsCloudEdgeState]],
        edge_id: str,
        controller: FixActivePowerController,
    ) -> None:
        """Control `controller` of `edge_id`; read the allowed power from the last poll."""
        self._client = client
        self._coordinator = coordinator
        self._edge_id = edge_id
        self.component_id = controller.component_id
        # The polled AllowedCharge/DischargePower are ess0's: they bound only a
        # controller that drives ess0.
        self._drives_polled_ess = controller.ess_id in (None, ESS_ID)

    @property
    def keepalive_interval(self) -> timedelta | None:
        """Never: the FEMS keeps the configuration until it is changed again."""
        return None

    def _state(self) -> FemsCloudEdgeState | None:
        data = self._coordinator.data
        return data.get(self._edge_id) if data is not None else None

    def allowed_range(self, kind: SetpointKind) -> tuple[float, float] | None:
        """The ESS's allowed charge (negative) and discharge power, while the edge is online."""
        state = self._state()
        if kind is not SetpointKind.BATTERY_POWER or not self._drives_polled_ess:
            return None
        if state is None or not state.online:
            return None
        return allowed_power_range(state.snapshot, kind)

    def blocked_reason(self, kind: SetpointKind) -> str | None:
        """An offline edge takes no configuration change (the backend answers 3000)."""
        state = self._state()
        if state is not None and not state.online:
            return "edge_offline"
        return None

    async def async_write(self, kind: SetpointKind, value: float) -> None:
        """Mode MANUAL_ON with `power` = `value` (W, + discharge / − charge)."""
        await self._client.async_set_fix_active_power(self._edge_id, self.component_id, value)

    async def async_release(self, kind: SetpointKind) -> None:
        """Mode MANUAL_OFF: the edge's own logic runs the battery again."""
        await self._client.async_release_fix_active_power(self._edge_id, self.component_id)
