"""quality_scale.yaml lists every rule of Home Assistant's scale, and its claims hold."""

from __future__ import annotations

import json
from pathlib import Path

import homeassistant
from homeassistant.util.yaml import load_yaml_dict

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "energy_flex"
# A platinum core integration of the Home Assistant under test lists every rule there is.
REFERENCE = Path(homeassistant.__file__).parent / "components" / "peblar" / "quality_scale.yaml"


def rules(path: Path) -> dict[str, object]:
    return dict(load_yaml_dict(str(path))["rules"])


def test_every_rule_is_listed_exactly_once() -> None:
    """No rule missing (docs-conditions, docs-triggers were), none made up."""
    assert set(rules(INTEGRATION / "quality_scale.yaml")) == set(rules(REFERENCE))


def test_statuses_are_valid_and_exemptions_explained() -> None:
    """done, or exempt / todo with a comment that says why."""
    for rule, status in rules(INTEGRATION / "quality_scale.yaml").items():
        if status == "done":
            continue
        assert isinstance(status, dict), rule
        assert status["status"] in ("exempt", "todo"), rule
        assert status["comment"], rule


def test_no_conditions_or_triggers_exist() -> None:
    """docs-conditions and docs-triggers are exempt because there are none."""
    names = {path.name for path in INTEGRATION.rglob("*.py")}
    for platform in ("condition.py", "trigger.py", "device_condition.py", "device_trigger.py"):
        assert platform not in names
    assert not (INTEGRATION / "conditions.yaml").exists()
    assert not (INTEGRATION / "triggers.yaml").exists()


def test_no_repair_issue_the_user_cannot_repair() -> None:
    """A FlexConnect command the battery did not apply is shown on the device instead."""
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    assert "command_not_applied" not in english["issues"]
    assert "command_not_applied" in english["entity"]["binary_sensor"]
