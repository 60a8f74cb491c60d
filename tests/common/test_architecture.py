"""The layout DESIGN §2 describes: no import cycle, one folder per connection."""

from __future__ import annotations

import ast
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "energy_flex"
CONNECTIONS = ("fems_rest", "fems_modbus", "sonnen", "flexconnect", "powerflex", "fems_cloud")


def _module_name(path: Path) -> str:
    parts = path.relative_to(INTEGRATION).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute (integration-relative) name a relative import points at."""
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([target] if target else [])])


def _import_graph() -> dict[str, set[str]]:
    """Every module's imports of other integration modules, annotations-only ones included."""
    modules = {_module_name(p): p for p in INTEGRATION.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            target = _resolve(name, is_package, node.level, node.module)
            for alias in node.names:
                candidate = f"{target}.{alias.name}" if target else alias.name
                if candidate in modules:  # `from . import x` names a module
                    graph[name].add(candidate)
                elif target in modules:
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None. A package importing its own submodule is not one."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(f"{node}.") or node == "":
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_cycle_among_the_integration_modules() -> None:
    """Not even through imports made only for type annotations."""
    graph = _import_graph()
    assert "coordinator" in graph
    assert "descriptions" in graph["coordinator"]
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above would notice one."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_every_connection_is_one_folder() -> None:
    """The Home Assistant side of each connection lives in vendors/<connection>/."""
    vendors = INTEGRATION / "vendors"
    assert sorted(p.name for p in vendors.glob("*.py")) == ["__init__.py", "base.py"]
    for connection in CONNECTIONS:
        assert (vendors / connection / "__init__.py").is_file(), connection
        assert (vendors / connection / "setup.py").is_file(), connection
