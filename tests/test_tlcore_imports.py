"""No import cycle among tlcore, studio and app_pages: read from the source (no module is run),
imports inside functions included, and the packages Python runs on the way (importing
``tlcore.a.b`` runs ``tlcore/a/__init__.py`` first). A cycle makes the order modules load in
decide what works, and a local import only hides it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_files(package: Path) -> dict[str, Path]:
    modules = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(module: str, path: Path, node: ast.AST) -> list[str]:
    """Every module an import statement may load, absolute."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in imported_names(module, path, node):
                parts = target.split(".")
                # the target and the packages run before it, except the ones this module is inside
                for loaded in {".".join(parts[:n]) for n in range(2, len(parts) + 1)}:
                    if loaded in modules and loaded != module and not module.startswith(loaded + "."):
                        graph[module].add(loaded)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle_through_a_lazy_import_and_a_package(tmp_path):
    package = tmp_path / "pkg"
    (package / "a").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a" / "__init__.py").write_text("from .b import x\n")
    (package / "a" / "b.py").write_text("x = 1\n\ndef later():\n    from .. import c\n")
    (package / "c.py").write_text("from pkg.a.b import x\n")
    assert cycles(import_graph(module_files(package))) == [["pkg.a", "pkg.a.b", "pkg.c"]]


def test_tlcore_studio_and_the_pages_have_no_import_cycle():
    modules = {name: path for package in ("tlcore", "studio", "app_pages") for name, path in
               module_files(ROOT / package).items()}
    graph = import_graph(modules)
    assert len(modules) > 80 and sum(map(len, graph.values())) > 250  # every package was read
    assert {"studio.state", "app_pages.model"} <= set(modules)
    assert cycles(graph) == []
