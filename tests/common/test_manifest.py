"""manifest.json and hacs.json follow hassfest's and HACS's rules."""

from __future__ import annotations

import json
from pathlib import Path

import homeassistant
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.util.package import is_installed

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = json.loads((ROOT / "custom_components" / "energy_flex" / "manifest.json").read_text())


def test_manifest_keys_in_hassfest_order() -> None:
    """domain, name, then the rest alphabetically; custom integrations need a version."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    for required in (
        "codeowners",
        "config_flow",
        "documentation",
        "integration_type",
        "iot_class",
        "issue_tracker",
        "requirements",
        "version",
    ):
        assert required in MANIFEST
    assert MANIFEST["integration_type"] == "hub"
    assert MANIFEST["config_flow"] is True


def test_requirements_satisfy_home_assistant_constraints() -> None:
    """Every requirement is pinned as Home Assistant pins it, and installed as such."""
    constraints_file = Path(homeassistant.__file__).parent / "package_constraints.txt"
    constraints = {
        line.split("==")[0].lower(): line.strip()
        for line in constraints_file.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in MANIFEST["requirements"]:
        name = requirement.split("==")[0].lower()
        if name in constraints:
            assert requirement == constraints[name]
        assert is_installed(requirement)


def test_no_requirements_of_its_own() -> None:
    """aiohttp comes with Home Assistant and Modbus/TCP is our own (`api/modbus_tcp.py`).

    So no pin of ours can clash with a core integration's (pymodbus with core `modbus`).
    """
    assert MANIFEST["requirements"] == []


def test_hacs_minimum_home_assistant() -> None:
    """HACS offers the integration from Home Assistant 2026.10.0 on."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["homeassistant"] == "2026.10.0"
    assert (MAJOR_VERSION, MINOR_VERSION) >= (2026, 10)


def test_license_file_is_the_one_pyproject_names() -> None:
    """HACS shows the repository's LICENSE: the full Apache-2.0 text, as pyproject says."""
    text = (ROOT / "LICENSE").read_text()
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
