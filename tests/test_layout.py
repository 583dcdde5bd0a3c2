"""The folders show the architecture, and the imports agree with them.

lib/ holds packages that import no Pelican, plugins/ the Pelican glue, apps/ the programs.
Imports point down only (apps -> plugins/lib, plugins -> lib), no module takes part in
an import cycle (imports inside functions count: they are cycles put off, not removed),
and no package reaches into another's private names.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LAYERS = {"lib": 0, "plugins": 1, "apps": 2}


def _modules() -> dict[str, tuple[Path, str]]:
    """Module name -> (file, layer folder) for every package under the three folders."""
    found = {}
    for folder in LAYERS:
        for init in sorted((ROOT / folder).glob("*/__init__.py")):
            package = init.parent
            for path in sorted(package.rglob("*.py")):
                parts = path.relative_to(ROOT / folder).with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                found[name] = (path, folder)
    return found


MODULES = _modules()
PACKAGES = {name.split(".")[0]: folder for name, (_, folder) in MODULES.items()}


def _imports(name: str, path: Path) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) of every import in the file, relative
    imports resolved; names imported from a package that are its modules count as
    modules."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in MODULES:
                    found.append((f"{module}.{alias.name}", "", node.lineno))
                else:
                    found.append((module, alias.name, node.lineno))
    return found


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, (path, _) in MODULES.items():
        for module, _, _ in _imports(name, path):
            # An import of a.b.c runs a/__init__ and a/b/__init__ too.
            parts = module.split(".")
            for end in range(1, len(parts) + 1):
                target = ".".join(parts[:end])
                if target in MODULES and target != name and not name.startswith(target + "."):
                    edges[name].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_three_folders_hold_packages():
    assert {folder for folder in PACKAGES.values()} == set(LAYERS)
    for folder in LAYERS:
        strays = [p.name for p in (ROOT / folder).glob("*.py")]
        assert not strays, f"{folder}/ holds packages only, not modules: {strays}"


def test_no_import_cycles():
    assert _cycles(_edges()) == []


def test_imports_point_down_only():
    upward = []
    for name, (path, folder) in MODULES.items():
        for module, _, line in _imports(name, path):
            target = PACKAGES.get(module.split(".")[0])
            if target is None:
                continue
            if LAYERS[target] > LAYERS[folder]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({target}/)")
            # Plugins stand beside each other: one plugin never imports another.
            if folder == target == "plugins" and module.split(".")[0] != name.split(".")[0]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports the plugin {module}")
    assert upward == []


def test_lib_imports_no_pelican():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, (path, folder) in MODULES.items()
        if folder == "lib"
        for module, _, line in _imports(name, path)
        if module.split(".")[0] == "pelican"
    ]
    assert found == []


def test_no_private_names_across_packages():
    found = []
    for name, (path, _) in MODULES.items():
        for module, imported, line in _imports(name, path):
            other = module.split(".")[0]
            if other in PACKAGES and other != name.split(".")[0]:
                last = imported or module.rpartition(".")[2]
                if last.startswith("_") and not last.startswith("__"):
                    found.append(f"{path.relative_to(ROOT)}:{line} uses {module}.{last}")
    assert found == []


def test_the_checker_finds_a_cycle():
    """The cycle finder itself, on a made-up graph: a -> b -> c -> a, d alone."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
