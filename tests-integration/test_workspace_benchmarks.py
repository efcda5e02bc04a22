"""Benchmarks live in benchmarks/ (the matyan-benchmarks workspace member), never in a runtime package.

A runtime package ships in an image, so a benchmark module there, or an import of one, would ship too.
"""

from __future__ import annotations

import re
from pathlib import Path

from test_workspace_layering import imported_top_levels

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_SOURCES = sorted(ROOT.glob("packages/*/src/**/*.py"))
BENCHMARKS = ROOT / "benchmarks" / "src" / "matyan_benchmarks"
SHARED = {"__init__", "harness"}


def test_no_benchmark_module_in_a_runtime_package() -> None:
    assert RUNTIME_SOURCES, "no runtime sources found"
    found = [str(p.relative_to(ROOT)) for p in RUNTIME_SOURCES if p.name.startswith("bench")]
    assert not found, found


def test_no_runtime_module_imports_the_benchmarks() -> None:
    found = [
        str(p.relative_to(ROOT)) for p in RUNTIME_SOURCES if "matyan_benchmarks" in imported_top_levels(p)
    ]
    assert not found, found


def test_the_image_build_context_leaves_the_benchmarks_out() -> None:
    docker = ROOT / "infra" / "docker"
    kept = [
        line for line in (docker / "Dockerfile.dockerignore").read_text().splitlines() if line.startswith("!")
    ]
    assert kept, "the dockerignore keeps nothing: it no longer excludes everything first"
    assert not [line for line in kept if "bench" in line]
    copies = [line for line in (docker / "Dockerfile").read_text().splitlines() if line.startswith("COPY")]
    assert not [line for line in copies if "bench" in line]


def test_every_benchmark_has_a_make_target() -> None:
    modules = {p.stem for p in BENCHMARKS.glob("*.py")} - SHARED
    assert modules, f"no benchmarks found in {BENCHMARKS}"
    run = set(re.findall(r"python -m matyan_benchmarks\.(\w+)", (ROOT / "Makefile").read_text()))
    assert run == modules
