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
