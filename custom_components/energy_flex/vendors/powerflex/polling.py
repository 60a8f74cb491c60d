"""PowerFlex polling: one poll of a site in a fixed number of requests, whatever its size.

Every poll asks `get_measurement_data` for `ct_response` and `evse_response` over the last
minute (one answer holds every station of the account; the client keeps this site's) and
`get_external_signal` for the DCM cap: 3 requests, however many stations the site has.
The monthly target peak power changes rarely and is asked every 10 minutes (and taken
from the answer whenever Energy Flex changes it): one more request then.

Only an outage (`ApiConnectionError`) or rejected credentials fail a poll; a site without
DCM (the signal or target endpoints refuse) still shows its stations.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Final

from homeassistant.util import dt as dt_util

from ...api.errors import ApiAuthError, ApiConnectionError, EnergyFlexApiError
from ...api.powerflex import DEFAULT_WINDOW_S, PowerFlexClient
from .entities import PowerFlexSiteData, dcm_signal

_LOGGER = logging.getLogger(__name__)

POLL_INTERVAL: Final = timedelta(seconds=30)
# Twice the poll interval (the client's default): a late row is not missed.
WINDOW_S: Final = DEFAULT_WINDOW_S
TARGETS_REFRESH: Final = timedelta(minutes=10)


class SitePoller:
    """Polls one site; the coordinator's `fetch`."""

    def __init__(self, client: PowerFlexClient, site_id: int) -> None:
        """Poll `site_id` through `client`."""
        self._client = client
        self._site_id = site_id
        self._targets: dict[str, int] | None = None
        self._targets_at: datetime | None = None
        # Optional parts that did not answer, so each outage of them is logged once.
        self._missing: set[str] = set()

    def remember_targets(self, targets: dict[str, int]) -> None:
        """The service's answer to a change: as fresh as a poll."""
        self._targets = dict(targets)
        self._targets_at = dt_util.utcnow()

    async def async_poll(self) -> PowerFlexSiteData:
        """Stations, the DCM cap and (when due) the targets."""
        snapshot = await self._client.async_fetch_site(self._site_id, WINDOW_S)
        signals = await self._optional(
            "DCM external signal", self._client.async_get_external_signals(self._site_id)
        )
        now = dt_util.utcnow()
        if self._targets_at is None or now - self._targets_at >= TARGETS_REFRESH:
            # A site without targets is asked again at the next refresh, not every poll.
            self._targets = await self._optional(
                "target peak power", self._client.async_get_target_peak_power(self._site_id)
            )
            self._targets_at = now
        return PowerFlexSiteData(
            snapshot=snapshot,
            signal=dcm_signal(signals) if signals is not None else None,
            targets=self._targets,
        )

    async def _optional[T](self, what: str, call: Awaitable[T]) -> T | None:
        """A part the site may lack: its refusal is `None` (an outage still fails the poll)."""
        try:
            result = await call
        except ApiConnectionError, ApiAuthError:
            raise
        except EnergyFlexApiError as err:
            if what not in self._missing:
                self._missing.add(what)
                _LOGGER.info("PowerFlex site %s: no %s (%s)", self._site_id, what, err)
            return None
        if what in self._missing:
            self._missing.discard(what)
            _LOGGER.info("PowerFlex site %s: %s answers again", self._site_id, what)
        return result
