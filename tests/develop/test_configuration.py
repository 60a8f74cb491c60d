"""config/configuration.yaml and requirements_develop.txt: nothing installed at run time."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.util.package import is_installed

from scripts.develop_requirements import (
    ALWAYS_LOADED,
    BUILT_IN,
    Unmet,
    canonical,
    configured_domains,
    develop_pins,
    needed_domains,
    requirement_closure,
    service_description_components,
    unmet_requirements,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_configuration_lists_only_what_the_demo_needs() -> None:
    """No default_config (its run-time installs broke the UI); the demo's integrations."""
    configured = configured_domains(CONFIG)
    assert "default_config" not in configured
    assert {"frontend", "energy", "lovelace", "history", "recorder"} <= configured
    # Every listed integration exists in this Home Assistant.
    for domain in configured:
        assert (BUILT_IN / domain / "manifest.json").is_file(), domain


def test_debug_logging_is_a_switch_and_info_the_default() -> None:
    """ENERGY_FLEX_DEBUG=1 scripts/develop sets ENERGY_FLEX_LOG_LEVEL=debug; info otherwise."""
    text = (CONFIG / "configuration.yaml").read_text()
    assert "custom_components.energy_flex: !env_var ENERGY_FLEX_LOG_LEVEL info" in text
    develop = (CONFIG.parent / "scripts" / "develop").read_text()
    assert 'if [ "${ENERGY_FLEX_DEBUG:-0}" = 1 ]; then' in develop
    assert "export ENERGY_FLEX_LOG_LEVEL=debug" in develop


def test_configured_integrations_need_no_run_time_install() -> None:
    """Each requirement is in this venv, or pinned in requirements_develop.txt.

    scripts/develop installs requirements_develop.txt before Home Assistant starts
    (with --skip-pip), so nothing the configuration needs is installed at run time.
    """
    pins = develop_pins()
    for unmet in unmet_requirements(configured_domains(CONFIG) | {"energy_flex"}):
        name = canonical(unmet.requirement.split("==", 1)[0])
        assert pins.get(name) == unmet.requirement, unmet


def test_requirements_develop_covers_what_home_assistant_imports() -> None:
    """Also the always-loaded integrations and those get_services imports are covered."""
    pins = develop_pins()
    for unmet in unmet_requirements(needed_domains(CONFIG)):
        name = canonical(unmet.requirement.split("==", 1)[0])
        assert pins.get(name) == unmet.requirement, unmet


def test_requirements_develop_pins_exactly_what_home_assistant_pins() -> None:
    """No stale or extra pin: each is one of the needed integrations' own requirements."""
    wanted = {
        canonical(requirement.split("==", 1)[0]): requirement
        for requirements in requirement_closure(needed_domains(CONFIG)).values()
        for requirement in requirements
    }
    pins = develop_pins()
    assert pins
    for name, pin in pins.items():
        assert wanted.get(name) == pin, pin


def test_get_services_needs_the_voice_and_camera_components() -> None:
    """Why the voice packages are pinned: helpers/service.py imports these components."""
    components = service_description_components()
    assert {"ai_task", "assist_satellite", "camera", "light"} <= components
    closure = requirement_closure(components)
    assert "hassil==3.12.1" in closure["conversation"]
    assert "pymicro-vad==1.0.1" in closure["assist_pipeline"]
    assert "frontend" in ALWAYS_LOADED


def test_default_config_would_install_at_run_time(tmp_path: Path) -> None:
    """The check finds what default_config would make Home Assistant install."""
    (tmp_path / "configuration.yaml").write_text("# comment: x\ndefault_config:\nhttp:\n")
    assert configured_domains(tmp_path) == {"default_config", "http"}
    unmet = unmet_requirements({"default_config"})
    # dhcp's packages are in no requirements file of the project.
    assert any(item.integration == "dhcp" for item in unmet)
    assert all(not is_installed(item.requirement) for item in unmet)
    assert Unmet("dhcp", "x") != Unmet("dhcp", "y")


def test_energy_flex_needs_nothing_and_the_simulators_have_pymodbus() -> None:
    """Energy Flex has no requirements; the simulators' pymodbus comes with requirements_test.txt.

    scripts/develop runs the simulators (pymodbus servers) from the same .venv as the tests.
    """
    root = CONFIG.parent
    manifest = json.loads(
        (root / "custom_components" / "energy_flex" / "manifest.json").read_text()
    )
    assert manifest["requirements"] == []
    assert requirement_closure({"energy_flex"})["energy_flex"] == []
    pins = (root / "requirements_test.txt").read_text().splitlines()
    pymodbus = [line for line in pins if line.startswith("pymodbus==")]
    assert len(pymodbus) == 1
    assert is_installed(pymodbus[0])


def test_always_loaded_read_from_source_equals_home_assistants() -> None:
    """The fast reading of bootstrap.py gives what Home Assistant itself uses."""
    from homeassistant import bootstrap  # noqa: PLC0415

    assert ALWAYS_LOADED == bootstrap.DEFAULT_INTEGRATIONS | bootstrap.CORE_INTEGRATIONS
