"""Dependency direction of the workspace: models <- store <- {api, workers, ops}.

api, workers and ops never import each other, and the store stays a library (no web or Kafka framework).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE_MODULES = {"matyan_models", "matyan_store", "matyan_api", "matyan_workers", "matyan_ops"}
ALLOWED: dict[str, set[str]] = {
    "matyan_models": set(),
    "matyan_store": {"matyan_models"},
    "matyan_api": {"matyan_models", "matyan_store"},
    "matyan_workers": {"matyan_models", "matyan_store"},
    "matyan_ops": {"matyan_models", "matyan_store"},
}
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "matyan_store": {"fastapi", "faststream", "granian", "starlette"}
}


def imported_top_levels(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def package_sources(module: str) -> list[Path]:
    src = ROOT / "packages" / module.replace("_", "-") / "src" / module
    return sorted(src.rglob("*.py"))


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_follow_the_layering(module: str) -> None:
    sources = package_sources(module)
    assert sources, f"no sources found for {module}"
    violations = []
    for source in sources:
        imported = imported_top_levels(source)
        for name in imported & WORKSPACE_MODULES - {module} - ALLOWED[module]:
            violations.append(f"{source.relative_to(ROOT)} imports {name}")
        for name in imported & FORBIDDEN_THIRD_PARTY.get(module, set()):
            violations.append(f"{source.relative_to(ROOT)} imports {name}")
    assert not violations, "\n".join(violations)


def test_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import matyan_api.app\nfrom matyan_workers import x\n", encoding="utf-8")
    assert imported_top_levels(bad) >= {"matyan_api", "matyan_workers"}


# --- inside the store: the module import graph is a DAG ------------------------------------------------

STORE = "matyan_store"


def _module_of(source: Path, package_root: Path) -> str:
    parts = list(source.relative_to(package_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an ``import from`` names (relative forms resolved against ``module``)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    # In a package's __init__ one dot is the package itself; in a module it is the module's package.
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def internal_imports(source: Path, module: str, modules: set[str], *, is_package: bool) -> set[str]:
    """Modules of ``modules`` that ``source`` imports anywhere (module level and inside functions).

    ``from package import name`` counts as importing ``package.name`` when that is a module, else
    ``package`` itself; a plain ``import a.b`` counts as importing ``a.b``.
    """
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, is_package)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif target in modules:
                    found.add(target)
    found.discard(module)
    return found


def store_import_graph() -> dict[str, set[str]]:
    root = ROOT / "packages" / "matyan-store" / "src" / STORE
    sources = {_module_of(source, root): source for source in sorted(root.rglob("*.py"))}
    modules = set(sources)
    return {
        module: internal_imports(source, module, modules, is_package=source.name == "__init__.py")
        for module, source in sources.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a closed path (first module repeated at the end), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_store_import_graph_is_a_dag() -> None:
    graph = store_import_graph()
    assert graph.get(f"{STORE}.runs"), "the graph builder found no store imports"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle inside matyan_store: " + " -> ".join(cycle or [])


def test_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "a.py").write_text("from pkg import b\n", encoding="utf-8")
    (pkg / "b.py").write_text("def f() -> None:\n    from .sub import c\n", encoding="utf-8")
    (pkg / "sub" / "__init__.py").write_text("from .c import thing\n", encoding="utf-8")
    (pkg / "sub" / "c.py").write_text("import pkg.a\nthing = 1\n", encoding="utf-8")
    modules = {"pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"}
    graph = {
        m: internal_imports(s, m, modules, is_package=s.name == "__init__.py")
        for m, s in {
            "pkg": pkg / "__init__.py",
            "pkg.a": pkg / "a.py",
            "pkg.b": pkg / "b.py",
            "pkg.sub": pkg / "sub" / "__init__.py",
            "pkg.sub.c": pkg / "sub" / "c.py",
        }.items()
    }
    assert graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub"] == {"pkg.sub.c"}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]
    assert find_cycle({"x": {"y"}, "y": set()}) is None
