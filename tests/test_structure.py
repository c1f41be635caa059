"""The package's shape, read from its own imports: the layers the README's Design section draws.

Each folder (or top-level module) has a place in the flow; a module imports only from its own
place or one below it, no two modules import each other (directly or round a longer circle),
no module grows past 400 lines, and only the workspace loads a project.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "composer"
MAX_LINES = 400

# From the bottom of the flow up; a module may import from its own layer or any layer below.
LAYERS = [
    {"errors"},
    {"locking", "tls"},
    {"content"},
    {"lists"},
    {"email"},
    {"workspace"},
    {"delivery"},
    {"mailbox"},
    {"web"},
    {"commands"},
    {"views"},
    {"cli"},
    {"__main__"},
]


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """The package's modules this one imports (a `from x import y` counts y when it is a module)."""
    known = modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("composer")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("composer"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return {module for module in found if module in known and module != name}


def layer(name: str) -> int:
    parts = name.split(".")
    top = parts[1] if len(parts) > 1 else "composer"
    if top == "composer":
        return -1  # the package's own __init__: imports nothing
    return next(index for index, members in enumerate(LAYERS) if top in members)


def test_every_module_has_a_place_in_the_flow() -> None:
    tops = {name.split(".")[1] for name in modules() if "." in name}
    placed = set().union(*LAYERS)
    assert tops - {"starter"} <= placed, tops - placed


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_import_runs_against_the_flow(name: str) -> None:
    upward = [other for other in imports(name, modules()[name]) if layer(other) > layer(name)]
    assert upward == [], f"{name} imports from above it: {upward}"


def test_no_circle_of_imports() -> None:
    graph = {name: imports(name, path) for name, path in modules().items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("a circle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_no_module_is_over_the_limit() -> None:
    long = {
        name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_only_the_workspace_loads_a_project() -> None:
    callers = {
        name
        for name, path in modules().items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", "")) == "load_project"
    }
    assert callers == {"composer.workspace"}
