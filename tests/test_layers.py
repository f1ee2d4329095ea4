"""The import graph of the package: one direction for every dependency (docs/development.md, "Layers").

Read from the source with ``ast``, so every import counts, including those under ``TYPE_CHECKING`` and inside
functions. A new cycle, a domain module that reaches for storage, the web or a framework, or a layer importing
one it should not, fails here with the offending import named.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = "erpnext_medusa"
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE

#: Which parts of the package each part may import (besides itself).
LAYERS = {
    "domain": set(),
    "store": {"domain"},
    "config": set(),
    "logs": set(),
    "metrics": set(),
    "services": {"config", "domain", "store"},
    "web": {"config", "domain", "logs", "metrics", "services"},
    # The CLI creates and upgrades databases (store) and starts the HTTP server (web).
    "cli": {"config", "domain", "logs", "services", "store", "web"},
    "__main__": {"cli"},
    "__init__": set(),
}
#: Frameworks and drivers the domain must not know.
FRAMEWORKS = {"fastapi", "starlette", "sqlalchemy", "alembic", "pydantic", "pydantic_settings", "typer", "rich",
              "redis", "jwt", "uvicorn", "httpx", "psycopg", "pymysql"}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in SOURCE.rglob("*.py") if "migrations" not in p.parts}


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, as absolute dotted names (a ``from x import y`` that names a submodule
    counts as an import of that submodule)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


GRAPH = {name: {m for m in _imports(name, path) if m in MODULES and m != name} for name, path in MODULES.items()}


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def test_the_graph_is_read_from_the_real_source():
    assert len(MODULES) > 30
    assert "erpnext_medusa.domain.addresses" in GRAPH["erpnext_medusa.web.methods"]
    assert "erpnext_medusa.domain.ports" in GRAPH["erpnext_medusa.domain.addresses"]


def _cycle_from(start: str) -> list[str] | None:
    """A path of imports that leads from ``start`` back to it, if there is one."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(GRAPH[node]):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_itself_through_others(module):
    cycle = _cycle_from(module)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_part_imports_only_the_layers_below_it(module):
    part = _part(module)
    allowed = LAYERS[part] | {part, "__init__"}  # the package root holds only the version
    wrong = sorted(m for m in GRAPH[module] if _part(m) not in allowed)
    assert not wrong, f"{module} ({part}) may not import {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part(m) == "domain"))
def test_the_domain_knows_no_framework(module):
    outside = {m.split(".")[0] for m in _imports(module, MODULES[module])} - {PACKAGE}
    assert not outside & FRAMEWORKS, f"{module} imports {sorted(outside & FRAMEWORKS)}"
    assert outside <= set(sys.stdlib_module_names) | {"__future__"}, sorted(outside - set(sys.stdlib_module_names))


def test_a_cycle_or_a_wrong_layer_would_be_found():
    """The checks themselves: a graph with a planted cycle and a planted wrong import fails them."""
    planted = {
        **GRAPH,
        "erpnext_medusa.domain.ports": {*GRAPH["erpnext_medusa.domain.ports"], "erpnext_medusa.web.app"},
    }
    saved = dict(GRAPH)
    GRAPH.update(planted)
    try:
        assert _cycle_from("erpnext_medusa.domain.ports") is not None
        assert _part("erpnext_medusa.web.app") not in LAYERS["domain"]
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
