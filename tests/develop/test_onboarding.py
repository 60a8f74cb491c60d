"""A new development config starts with the onboarding steps that ask nothing already done.

Finishing `core_config` through the API starts onboarding's weather, radio and
text-to-speech flows, whose packages the development Home Assistant does not have: each
logged a traceback on a fresh `scripts/develop`. Recorded as done before the first start,
the step starts nothing, and the bootstrap still onboards the owner and the integration step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.components.onboarding import (
    STORAGE_KEY,
    STORAGE_VERSION,
    OnboardingStorage,
    async_is_onboarded,
    async_is_user_onboarded,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from scripts.develop_bootstrap import (
    ONBOARDING_STEPS,
    PRESEEDED_ONBOARDING_STEPS,
    _onboarded_on_disk,
    onboarding_store,
    prepare_storage,
    preseed_onboarding,
)


async def test_home_assistant_reads_the_preseeded_steps_as_they_are(
    hass: HomeAssistant, hass_storage: dict[str, Any], tmp_path: Path
) -> None:
    """The store is at Home Assistant's version: loaded without migration, steps unchanged."""
    assert preseed_onboarding(tmp_path)
    stored = json.loads((tmp_path / ".storage" / "onboarding").read_text())
    assert stored["version"] == STORAGE_VERSION
    hass_storage[STORAGE_KEY] = stored

    data = await OnboardingStorage(hass, STORAGE_VERSION, STORAGE_KEY, private=True).async_load()

    # An older version would have been migrated, which appends the integration step.
    assert data == {"done": ["core_config", "analytics"]}


async def test_onboarding_still_asks_for_the_owner_and_the_integration_step(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Home Assistant stays in onboarding: the bootstrap creates the owner as before."""
    hass_storage[STORAGE_KEY] = onboarding_store(PRESEEDED_ONBOARDING_STEPS)
    assert await async_setup_component(hass, "onboarding", {})

    assert not async_is_onboarded(hass)
    assert not async_is_user_onboarded(hass)
    assert set(PRESEEDED_ONBOARDING_STEPS) < ONBOARDING_STEPS


def test_a_config_that_has_an_onboarding_store_keeps_it(tmp_path: Path) -> None:
    """Only a config Home Assistant never ran on is preseeded; an onboarded one is left alone."""
    storage = tmp_path / ".storage"
    storage.mkdir()
    finished = onboarding_store(sorted(ONBOARDING_STEPS))
    (storage / "onboarding").write_text(json.dumps(finished))

    assert not preseed_onboarding(tmp_path)
    assert json.loads((storage / "onboarding").read_text()) == finished
    assert _onboarded_on_disk(tmp_path)


def test_prepare_storage_writes_http_settings_every_time_and_onboarding_once(
    tmp_path: Path,
) -> None:
    """Before each start the port applies; the preseed is never written over."""
    prepare_storage(tmp_path, 18123)
    onboarding = tmp_path / ".storage" / "onboarding"
    onboarding.write_text(json.dumps(onboarding_store(["user", "core_config", "analytics"])))

    prepare_storage(tmp_path, 8123)

    http = json.loads((tmp_path / ".storage" / "http").read_text())
    assert http["data"]["stable"]["server_port"] == 8123
    assert json.loads(onboarding.read_text())["data"]["done"] == [
        "user",
        "core_config",
        "analytics",
    ]
    assert not _onboarded_on_disk(tmp_path)  # the integration step is still to do
