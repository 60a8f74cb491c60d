"""Translations: German mirrors English, and every key the code uses exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "energy_flex"


def load(language: str) -> dict[str, Any]:
    """One translation file."""
    return json.loads((INTEGRATION / "translations" / f"{language}.json").read_text())


def key_paths(tree: dict[str, Any], prefix: str = "") -> set[str]:
    """Every leaf path of a translation tree."""
    paths: set[str] = set()
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        paths |= key_paths(value, path) if isinstance(value, dict) else {path}
    return paths


def test_german_has_exactly_the_english_keys() -> None:
    """No string is missing or left over in de.json."""
    assert key_paths(load("de")) == key_paths(load("en"))


def test_placeholders_match() -> None:
    """Every {placeholder} survives translation."""
    english, german = load("en"), load("de")
    for path in key_paths(english):
        en_text, de_text = english, german
        for part in path.split("."):
            en_text, de_text = en_text[part], de_text[part]
        assert set(re.findall(r"{\w+}", en_text)) == set(re.findall(r"{\w+}", de_text)), path


def test_every_translation_key_in_code_exists() -> None:
    """translation_key="x" in the code has a string in en.json."""
    english = json.dumps(load("en"))
    for source in INTEGRATION.rglob("*.py"):
        for key in re.findall(r'translation_key="(\w+)"', source.read_text()):
            assert f'"{key}"' in english, f"{source.name}: {key}"


def test_entity_names_are_short_and_carry_no_sign_convention() -> None:
    """Names fit a tile ("Battery power"); the sign convention lives in the README.

    Home Assistant's entity translations have no description field, so a name that tried
    to carry "(+ discharge, − charge)" would be cut off everywhere it is shown.
    """
    for language in ("en", "de"):
        entities = load(language)["entity"]
        for platform, keys in entities.items():
            for key, strings in keys.items():
                name = strings["name"]
                assert len(name) <= 32, f"{language} {platform}.{key}: {name}"
                assert not {"+", "−", "("} & set(name), f"{language}: {name}"
    sensors = load("en")["entity"]["sensor"]
    assert sensors["battery_power"]["name"] == "Battery power"
    assert sensors["grid_power"]["name"] == "Grid power"
    assert load("en")["entity"]["number"]["battery_power_setpoint"]["name"] == (
        "Battery power setpoint"
    )
