"""Which packages the development Home Assistant needs, and which of them are missing.

Home Assistant installs an integration's `requirements` when it loads it, and also those
of its `dependencies`, `after_dependencies` and the discovery integrations its manifest
names (homeassistant/requirements.py). scripts/develop starts it with `--skip-pip` instead,
so that nothing is installed behind the project's back, and installs the project's pins
(requirements_develop.txt) before Home Assistant starts. Needed are the packages of:

- the integrations of config/configuration.yaml (and Energy Flex);
- the integrations Home Assistant sets up on every start, whatever the configuration
  says (bootstrap.DEFAULT_INTEGRATIONS: the frontend, the base platforms, conversation ...);
- the components `helpers/service.py` imports to describe the services: without them
  `get_services` fails and the frontend stays on "Loading…" (ai_task, assist_satellite
  and camera need the voice and camera packages, two of which have C extensions).

"Missing" uses the test Home Assistant itself uses (`util.package.is_installed`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import homeassistant
from homeassistant.const import BASE_PLATFORMS
from homeassistant.requirements import DISCOVERY_INTEGRATIONS
from homeassistant.util.package import is_installed

REPOSITORY = Path(__file__).resolve().parents[1]
DEVELOP_REQUIREMENTS = REPOSITORY / "requirements_develop.txt"
HOME_ASSISTANT = Path(homeassistant.__file__).parent
BUILT_IN = HOME_ASSISTANT / "components"
CUSTOM = REPOSITORY / "custom_components"
HA_CONSTRAINTS = HOME_ASSISTANT / "package_constraints.txt"


def _module_tree(relative_path: str) -> ast.Module:
    # Read, not imported: importing homeassistant.bootstrap alone takes seconds of CPU,
    # and scripts/develop runs this check on every start.
    return ast.parse((HOME_ASSISTANT / relative_path).read_text())


def _set_constant(tree: ast.Module, name: str) -> frozenset[str]:
    """A module-level set of strings such as bootstrap.DEFAULT_INTEGRATIONS.

    The literal may unpack `BASE_PLATFORMS - {...}` (bootstrap.py does); nothing else
    is evaluated.
    """
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and target.id == name and value is not None:
            code = compile(ast.Expression(value), "bootstrap.py", "eval")
            names: set[str] = eval(  # noqa: S307
                code, {"__builtins__": {}}, {"BASE_PLATFORMS": BASE_PLATFORMS}
            )
            return frozenset(names)
    raise LookupError(name)


# Home Assistant sets these up whatever configuration.yaml says (bootstrap.py).
_BOOTSTRAP = _module_tree("bootstrap.py")
ALWAYS_LOADED = _set_constant(_BOOTSTRAP, "DEFAULT_INTEGRATIONS") | _set_constant(
    _BOOTSTRAP, "CORE_INTEGRATIONS"
)


@dataclass(frozen=True)
class Unmet:
    """A requirement of `integration` that is not installed."""

    integration: str
    requirement: str


def configured_domains(config_dir: Path) -> set[str]:
    """The integrations configuration.yaml sets up (its top-level keys, `logger` too)."""
    domains: set[str] = set()
    for line in (config_dir / "configuration.yaml").read_text().splitlines():
        # Top-level keys only: no indentation, not a comment; `sensor 2:` is `sensor`.
        if line and not line[0].isspace() and not line.startswith("#") and ":" in line:
            domains.add(line.split(":", 1)[0].split(" ", 1)[0])
    return domains


def service_description_components() -> set[str]:
    """The components Home Assistant imports to validate service descriptions.

    Read from `helpers.service._base_components` itself, so the list follows Home
    Assistant's version: `from homeassistant.components import ai_task, ...`.
    """
    function = next(
        node
        for node in _module_tree("helpers/service.py").body
        if isinstance(node, ast.FunctionDef) and node.name == "_base_components"
    )
    return {
        alias.name
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom) and node.module == "homeassistant.components"
        for alias in node.names
    }


def needed_domains(config_dir: Path) -> set[str]:
    """Every integration whose packages the development Home Assistant needs."""
    return (
        configured_domains(config_dir)
        | {"energy_flex"}
        | ALWAYS_LOADED
        | service_description_components()
    )


def _manifest(domain: str) -> dict[str, object] | None:
    for root in (CUSTOM, BUILT_IN):
        path = root / domain / "manifest.json"
        if path.is_file():
            manifest: dict[str, object] = json.loads(path.read_text())
            return manifest
    return None


def _strings(manifest: dict[str, object], key: str) -> list[str]:
    value = manifest.get(key, [])
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def requirement_closure(domains: Iterable[str]) -> dict[str, list[str]]:
    """Integration -> requirements, for `domains` and everything whose packages HA loads."""
    closure: dict[str, list[str]] = {}
    pending = list(domains)
    while pending:
        domain = pending.pop()
        if domain in closure or (manifest := _manifest(domain)) is None:
            continue
        closure[domain] = _strings(manifest, "requirements")
        pending += _strings(manifest, "dependencies") + _strings(manifest, "after_dependencies")
        pending += [
            discovery
            for discovery, keys in DISCOVERY_INTEGRATIONS.items()
            if any(key in manifest for key in keys)
        ]
    return closure


def unmet_requirements(domains: Iterable[str]) -> list[Unmet]:
    """Requirements of `domains` (and what they pull in) that are not installed."""
    return [
        Unmet(domain, requirement)
        for domain, requirements in sorted(requirement_closure(domains).items())
        for requirement in requirements
        if not is_installed(requirement)
    ]


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def develop_pins(path: Path = DEVELOP_REQUIREMENTS) -> dict[str, str]:
    """Canonical name -> `name==version` line of requirements_develop.txt."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            pins[canonical(line.split("==", 1)[0])] = line
    return pins
