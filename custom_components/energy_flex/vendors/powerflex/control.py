"""PowerFlex DCM control: the site's cap and monthly targets, written through `SettingsController`.

PowerFlex keeps what it is sent (nothing lapses, nothing is repeated), so these are
settings, not held setpoints: a number or switch change is one write and stays; only
`set_site_limit` with a duration is undone, by writing the previous signal back (all
three fields) at its deadline, also across a restart. Every write to the site, the
real-time load included, goes through one `SettingsController`: serialised, and a
burst merges into one write with the newest value of each field.

Validation comes first and refusals send nothing: a cap below 0 or above the site
maximum of the options (per unit), a target that is not a whole number of kW.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final, cast

from homeassistant.components.number import NumberDeviceClass, NumberMode
from homeassistant.const import UnitOfElectricCurrent, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from ...api.errors import EnergyFlexApiError
from ...api.powerflex import MONTHS, ExternalSignal, LoadUnit, PowerFlexClient
from ...const import DOMAIN
from ...coordinator import EnergyFlexCoordinator, map_write_error
from ...descriptions.settings import EnergyFlexSettingNumberDescription, EnergyFlexSwitchDescription
from ...device import EnergyFlexDevice
from ...settings_control import SettingsController
from .entities import PowerFlexSiteData, this_month
from .polling import SitePoller

# The settings of one site, as `SettingsController` names them (and stores restores).
SIGNAL: Final = "dcm_signal"
TARGETS: Final = "target_peak_power"
REAL_TIME_LOAD: Final = "real_time_load"

# Beyond any site: a target peak power above 100 MW is a typo, not a plan.
MAX_TARGET_PEAK_POWER_KW: Final = 100_000

_UNITS: Final[dict[str, str]] = {"kW": UnitOfPower.KILO_WATT, "A": UnitOfElectricCurrent.AMPERE}
_DEVICE_CLASSES: Final[dict[str, NumberDeviceClass]] = {
    "kW": NumberDeviceClass.POWER,
    "A": NumberDeviceClass.CURRENT,
}


class PowerFlexSiteAdapter:
    """Reads the site's settings from the last poll and writes them with the client.

    Each answer (the signal echoed, the twelve months) goes straight into the
    coordinator's data, so entities and the next change see it without another poll.
    """

    def __init__(
        self,
        client: PowerFlexClient,
        site_id: int,
        coordinator: EnergyFlexCoordinator[PowerFlexSiteData],
        poller: SitePoller,
    ) -> None:
        """Write to `site_id`; show the answers in `coordinator`'s data."""
        self._client = client
        self._site_id = site_id
        self._coordinator = coordinator
        self._poller = poller

    def current(self, setting: str) -> Mapping[str, Any] | None:
        """The setting as last polled (or answered); the real-time load has no state."""
        data = self._coordinator.data
        if setting == REAL_TIME_LOAD:
            return {}
        if setting == SIGNAL:
            signal = data.signal if data is not None else None
            return signal_fields(signal) if signal is not None else None
        targets = data.targets if data is not None else None
        return dict(targets) if targets is not None else None

    async def async_write(
        self, setting: str, value: Mapping[str, Any], changed: Mapping[str, Any]
    ) -> None:
        """One request: the whole signal, the changed months, or the load."""
        if setting == REAL_TIME_LOAD:
            await self._client.async_set_real_time_load(self._site_id, int(value["kw"]))
            return
        if setting == SIGNAL:
            signal = await self._client.async_set_external_signal(
                self._site_id,
                max_load=float(value["max_load"]),
                max_load_unit=cast(LoadUnit, value["max_load_unit"]),
                is_enabled=bool(value["is_enabled"]),
                name=str(value["name"]),
            )
            self._show(signal=signal)
            return
        months = await self._client.async_set_target_peak_power(
            self._site_id, {month: int(kw) for month, kw in changed.items()}
        )
        self.show_targets(months)

    def show_targets(self, months: dict[str, int]) -> None:
        """Twelve months the service answered, for entities and the next poll."""
        self._poller.remember_targets(months)
        self._show(targets=months)

    def _show(self, **changes: Any) -> None:
        data = self._coordinator.data
        if data is not None:
            self._coordinator.async_set_updated_data(replace(data, **changes))


def signal_fields(signal: ExternalSignal) -> dict[str, Any]:
    """All fields of a signal, as the settings controller stores and merges them."""
    return {
        "name": signal.name,
        "max_load": signal.max_load,
        "max_load_unit": signal.max_load_unit,
        "is_enabled": signal.is_enabled,
    }


class PowerFlexSite:
    """What the site's entities and actions do: validate, then write once."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        identity: str,
        client: PowerFlexClient,
        site_id: int,
        coordinator: EnergyFlexCoordinator[PowerFlexSiteData],
        poller: SitePoller,
        storage_key: str,
        max_load: Mapping[str, float],
    ) -> None:
        """`identity` is the site device's; `max_load` the highest cap per unit (kW, A)."""
        self.identity = identity
        self._hass = hass
        self._client = client
        self._site_id = site_id
        self._coordinator = coordinator
        self._max_load = dict(max_load)
        self.adapter = PowerFlexSiteAdapter(client, site_id, coordinator, poller)
        entry = coordinator.config_entry
        self.settings = SettingsController(
            hass,
            self.adapter,
            storage_key=storage_key,
            map_error=lambda err: map_write_error(hass, entry, err),
        )

    @property
    def data(self) -> PowerFlexSiteData | None:
        """The last poll."""
        return self._coordinator.data

    def load_range(self, unit: str) -> tuple[float, float]:
        """The caps the options allow in `unit` ("kW" or "A")."""
        return (0.0, self._max_load.get(unit, 0.0))

    # --- the DCM cap ------------------------------------------------------------------

    async def async_set_max_load(self, value: float) -> None:
        """The `dcm_max_load` number: a new cap in the signal's own unit."""
        signal = self._signal()
        self._validate_load(value, signal.max_load_unit)
        await self.settings.async_change(SIGNAL, {"max_load": float(value)})

    async def async_set_enabled(self, enabled: bool) -> None:
        """The `dcm_enabled` switch: the cap stays as it is."""
        self._signal()
        await self.settings.async_change(SIGNAL, {"is_enabled": enabled})

    async def async_set_site_limit(
        self, max_load: float, unit: str, enabled: bool, duration: timedelta | None
    ) -> None:
        """`energy_flex.set_site_limit`: the previous signal comes back after `duration`."""
        self._signal()
        self._validate_load(max_load, unit)
        change = {"max_load": float(max_load), "max_load_unit": unit, "is_enabled": enabled}
        await self.settings.async_change(SIGNAL, change, duration)

    def _require_answering(self) -> None:
        """Refuse a change while the site does not answer: nothing is sent.

        An empty or cut answer to a write would otherwise pass for a confirmation.
        """
        if not self._coordinator.last_update_success:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="site_unavailable"
            )

    def _signal(self) -> ExternalSignal:
        self._require_answering()
        data = self.data
        if data is None or data.signal is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="dcm_unavailable"
            )
        return data.signal

    def _validate_load(self, value: float, unit: str) -> None:
        low, high = self.load_range(unit)
        if not math.isfinite(value) or not low <= value <= high:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="site_limit_out_of_range",
                translation_placeholders={
                    "value": f"{value:g}",
                    "unit": unit,
                    "max": f"{high:g}",
                },
            )

    # --- target peak power ------------------------------------------------------------

    async def async_set_target_this_month(self, value: float) -> None:
        """The `target_peak_power` number: this month's target (Home Assistant's time zone)."""
        months = validate_months({this_month(): value})
        self._require_answering()
        await self._async_change_targets(months)

    async def async_set_target_peak_power(self, months: Mapping[str, Any]) -> dict[str, int]:
        """`energy_flex.set_target_peak_power`; answers all twelve months."""
        targets = validate_months(months)
        self._require_answering()
        await self._async_change_targets(targets)
        answered = self.adapter.current(TARGETS)
        assert answered is not None  # the write's answer is shown in the data
        return dict(answered)

    async def async_get_target_peak_power(self) -> dict[str, int]:
        """`energy_flex.get_target_peak_power`: asked now, all twelve months."""
        try:
            months = await self._client.async_get_target_peak_power(self._site_id)
        except EnergyFlexApiError as err:
            raise map_write_error(self._hass, self._coordinator.config_entry, err) from err
        self.adapter.show_targets(months)
        return months

    async def _async_change_targets(self, months: dict[str, int]) -> None:
        if self.adapter.current(TARGETS) is None:
            # Not polled yet (or refused then): the change needs the other months.
            await self.async_get_target_peak_power()
        await self.settings.async_change(TARGETS, months)


def validate_months(months: Mapping[str, Any]) -> dict[str, int]:
    """`{"Jun": 700}` with months in any case → whole kW by month; refused otherwise."""
    targets: dict[str, int] = {}
    for key, raw in months.items():
        month = next((m for m in MONTHS if isinstance(key, str) and m.lower() == key.lower()), None)
        if month is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_month",
                translation_placeholders={"month": str(key)[:20]},
            )
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | float)
            or not math.isfinite(raw)
            or not float(raw).is_integer()
            or not 0 <= raw <= MAX_TARGET_PEAK_POWER_KW
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="target_peak_power_invalid",
                translation_placeholders={
                    "value": str(raw)[:20],
                    "max": str(MAX_TARGET_PEAK_POWER_KW),
                },
            )
        targets[month] = int(raw)
    if not targets:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_month_given")
    return targets


# --- entities -------------------------------------------------------------------------------


def dcm_numbers(site: PowerFlexSite) -> tuple[EnergyFlexSettingNumberDescription, ...]:
    """`dcm_max_load` (in the signal's unit) and `target_peak_power` (this month, kW)."""

    async def set_max_load(_device: EnergyFlexDevice, value: float) -> None:
        await site.async_set_max_load(value)

    async def set_target(_device: EnergyFlexDevice, value: float) -> None:
        await site.async_set_target_this_month(value)

    def unit(data: PowerFlexSiteData) -> str | None:
        return _UNITS[data.signal.max_load_unit] if data.signal else None

    def device_class(data: PowerFlexSiteData) -> NumberDeviceClass | None:
        return _DEVICE_CLASSES[data.signal.max_load_unit] if data.signal else None

    def load_range(data: PowerFlexSiteData) -> tuple[float, float]:
        return site.load_range(data.signal.max_load_unit if data.signal else "kW")

    def target(data: PowerFlexSiteData) -> float | None:
        return data.targets.get(this_month()) if data.targets else None

    return (
        EnergyFlexSettingNumberDescription(
            key="dcm_max_load",
            translation_key="dcm_max_load",
            mode=NumberMode.BOX,
            native_step=0.1,
            value_fn=lambda data: data.signal.max_load if data.signal else None,
            set_fn=set_max_load,
            unit_fn=unit,
            device_class_fn=device_class,
            range_fn=load_range,
        ),
        EnergyFlexSettingNumberDescription(
            key="target_peak_power",
            translation_key="target_peak_power",
            native_unit_of_measurement=UnitOfPower.KILO_WATT,
            device_class=NumberDeviceClass.POWER,
            mode=NumberMode.BOX,
            native_step=1,
            native_min_value=0,
            native_max_value=MAX_TARGET_PEAK_POWER_KW,
            value_fn=target,
            set_fn=set_target,
        ),
    )


def dcm_switches(site: PowerFlexSite) -> tuple[EnergyFlexSwitchDescription, ...]:
    """`dcm_enabled`: whether the cap applies; switching keeps `max_load`."""

    async def set_enabled(_device: EnergyFlexDevice, enabled: bool) -> None:
        await site.async_set_enabled(enabled)

    return (
        EnergyFlexSwitchDescription(
            key="dcm_enabled",
            translation_key="dcm_enabled",
            is_on_fn=lambda data: data.signal.is_enabled if data.signal else None,
            set_fn=set_enabled,
        ),
    )
