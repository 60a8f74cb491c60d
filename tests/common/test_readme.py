"""The README documents what the quality scale says it does, and stays inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# Each available connection's section, by its heading.
CONNECTION_SECTIONS = (
    "## FENECON FEMS over REST/JSON",
    "## FENECON FEMS over Modbus/TCP",
    "## sonnenBatterie, local API v1",
    "## FlexHome FlexConnect",
)


def section(heading: str) -> str:
    """From `heading` to the next second-level heading."""
    start = README.index(heading)
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_installation_with_hacs_and_by_hand() -> None:
    """docs-installation-instructions: HACS custom repository, download, restart, add."""
    text = section("## Installation")
    for step in ("Custom repositories", "Download", "Restart", "Add integration", "Manually"):
        assert step in text, step


def test_every_connection_has_troubleshooting() -> None:
    """docs-troubleshooting, per connection."""
    for heading in CONNECTION_SECTIONS:
        assert "Troubleshooting" in section(heading), heading


def test_use_cases_with_automations() -> None:
    """docs-use-cases / docs-examples: time of use, export limiting, an EV cap."""
    text = section("## Use cases")
    for use_case in ("Time-of-use charging", "Export limiting", "EV charging cap"):
        assert f"### {use_case}" in text, use_case
    assert text.count("automation:") >= 3
    for field in ("device_id:", "max_load:", "unit:", "enabled:", "duration:"):
        assert field in text.split("energy_flex.set_site_limit", 2)[2], field


def test_links_stay_inside_the_repository() -> None:
    """Relative links point at files that exist here, never outside (../)."""
    for target in re.findall(r"\]\((?!https?://|#)([^)]+)\)", README):
        assert not target.startswith(".."), target
        assert (ROOT / target.split("#")[0]).exists(), target
