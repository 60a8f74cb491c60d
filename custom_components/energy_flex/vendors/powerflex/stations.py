"""PowerFlex charging stations: devices that come and go while the entry is loaded.

A station becomes a device (linked to the site with `via_device`) at its first report,
without a reload. A station that has not reported for `STALE_AFTER` (7 days) is removed
with its entities; until then its entities are unavailable, and if it reports again after
its removal it comes back as a new device. The last report of every station is stored,
so a restart neither forgets absent stations nor restarts their clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final, TypedDict

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...api.powerflex import PowerFlexSiteSnapshot
from ...const import DOMAIN
from ...coordinator import EnergyFlexConfigEntry, EnergyFlexRuntime
from ...device import EnergyFlexDevice
from .entities import STATION_KEYS, PowerFlexSiteData

_LOGGER = logging.getLogger(__name__)

STALE_AFTER: Final = timedelta(days=7)
MANUFACTURER: Final = "PowerFlex"
_STORAGE_VERSION: Final = 1
# Last-seen times change every poll; membership changes are saved at once.
_SEEN_SAVE_DELAY_S: Final = 60


class _StoredStation(TypedDict):
    last_seen: str
    model: str | None


class StationTracker:
    """Keeps the entry's station devices in step with what the site reports."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EnergyFlexConfigEntry,
        *,
        site_identity: str,
        site_device_id: str,
    ) -> None:
        """Track the stations of the site `site_identity` (registry id `site_device_id`)."""
        self._hass = hass
        self._entry = entry
        self._site_identity = site_identity
        self._site_device_id = site_device_id
        self._store: Store[dict[str, _StoredStation]] = Store(
            hass, _STORAGE_VERSION, f"{DOMAIN}.powerflex_stations.{entry.entry_id}"
        )
        self._last_seen: dict[int, datetime] = {}
        self._models: dict[int, str | None] = {}
        self._devices: dict[int, EnergyFlexDevice] = {}
        self._runtime: EnergyFlexRuntime | None = None
        self._observed: PowerFlexSiteSnapshot | None = None

    @property
    def devices(self) -> list[EnergyFlexDevice]:
        """The station devices, by station id."""
        return [self._devices[acs_id] for acs_id in sorted(self._devices)]

    def station_identity(self, acs_id: int) -> str:
        """A station's identity: unique per service host, site and `acs_id`."""
        return f"{self._site_identity}_station_{acs_id}"

    async def async_load(self, data: PowerFlexSiteData) -> None:
        """The stations known before (stored) and those in the first poll."""
        stored = await self._store.async_load() or {}
        for raw_id, record in stored.items():
            seen = _stored_time(record)
            if not raw_id.isdigit() or seen is None:
                continue  # not ours: forgotten, not trusted
            acs_id = int(raw_id)
            self._last_seen[acs_id] = seen
            model = record.get("model")
            self._models[acs_id] = model if isinstance(model, str) else None
            self._devices[acs_id] = self._device(acs_id)
        _new, gone = self._observe(data.snapshot)
        for acs_id in gone:
            self._remove(acs_id)  # its time ran out while Home Assistant was stopped

    @callback
    def async_attach(self, runtime: EnergyFlexRuntime) -> CALLBACK_TYPE:
        """Follow `runtime`'s polls from now on; returns the detacher."""
        self._runtime = runtime
        return runtime.coordinator.async_add_listener(self._async_polled)

    @callback
    def _async_polled(self) -> None:
        runtime = self._runtime
        assert runtime is not None
        coordinator = runtime.coordinator
        if not coordinator.last_update_success or coordinator.data is None:
            return  # an outage says nothing about the stations
        new, gone = self._observe(coordinator.data.snapshot)
        if new:
            _LOGGER.info("%s: new charging station(s) %s", self._entry.title, new)
            runtime.async_add_devices([self._devices[acs_id] for acs_id in new])
        for acs_id in gone:
            self._remove(acs_id)

    def _observe(self, snapshot: PowerFlexSiteSnapshot) -> tuple[list[int], list[int]]:
        """Note who reported; the stations that are new and those gone for too long."""
        if snapshot is self._observed:
            return [], []  # the same poll again (a write's answer was shown)
        self._observed = snapshot
        now = dt_util.utcnow()
        new: list[int] = []
        for acs_id, station in snapshot.stations.items():
            self._last_seen[acs_id] = now
            if station.evse_type is not None:
                self._models[acs_id] = station.evse_type
            if acs_id not in self._devices:
                self._devices[acs_id] = self._device(acs_id)
                new.append(acs_id)
        gone = [
            acs_id
            for acs_id, seen in self._last_seen.items()
            if acs_id not in snapshot.stations and now - seen >= STALE_AFTER
        ]
        for acs_id in gone:
            del self._last_seen[acs_id]
            self._models.pop(acs_id, None)
        self._store.async_delay_save(self._stored, 0 if new or gone else _SEEN_SAVE_DELAY_S)
        return new, gone

    def _remove(self, acs_id: int) -> None:
        device = self._devices.pop(acs_id)
        _LOGGER.info(
            "%s: charging station %s has not reported for %s days; removing it",
            self._entry.title,
            acs_id,
            STALE_AFTER.days,
        )
        if self._runtime is not None:
            self._runtime.async_remove_device(device)
        registry = dr.async_get(self._hass)
        if entry := registry.async_get_device_by_identifier(
            (DOMAIN, device.identity), self._entry.entry_id
        ):
            # Its entities go with it.
            registry.async_update_device(entry.id, remove_config_entry_id=self._entry.entry_id)

    def _device(self, acs_id: int) -> EnergyFlexDevice:
        identity = self.station_identity(acs_id)
        info = DeviceInfo(
            identifiers={(DOMAIN, identity)},
            via_device_id=self._site_device_id,
            manufacturer=MANUFACTURER,
            name=f"{self._entry.title} station {acs_id}",
        )
        if model := self._models.get(acs_id):
            info["model"] = model
        return EnergyFlexDevice(
            identity=identity,
            info=info,
            data=lambda data: data.station(acs_id) if data is not None else None,
            entity_keys=STATION_KEYS,
        )

    def _stored(self) -> dict[str, _StoredStation]:
        return {
            str(acs_id): {"last_seen": seen.isoformat(), "model": self._models.get(acs_id)}
            for acs_id, seen in self._last_seen.items()
        }


def _stored_time(record: object) -> datetime | None:
    seen = record.get("last_seen") if isinstance(record, dict) else None
    return dt_util.parse_datetime(seen) if isinstance(seen, str) else None
