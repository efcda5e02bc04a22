"""matyan-workers installs, imports and plugs into the matyan-backend CLI."""

from __future__ import annotations

from importlib.metadata import entry_points
from importlib.resources import files

import cyclopts

import matyan_workers
from matyan_workers import commands


def test_package_imports_and_is_typed() -> None:
    assert matyan_workers.__doc__
    assert files("matyan_workers").joinpath("py.typed").is_file()


def test_commands_entry_point_points_at_register() -> None:
    eps = [
        ep for ep in entry_points(group="matyan_backend.commands") if ep.value.startswith("matyan_workers.")
    ]
    assert len(eps) == 1
    assert eps[0].load() is commands.register
    app = cyclopts.App(name="probe")
    commands.register(app)
