"""matyan-api installs, imports and plugs into the matyan-backend CLI."""

from __future__ import annotations

from importlib.metadata import entry_points
from importlib.resources import files

import cyclopts

import matyan_api
from matyan_api import commands


def test_package_imports_and_is_typed() -> None:
    assert matyan_api.__doc__
    assert files("matyan_api").joinpath("py.typed").is_file()


def test_commands_entry_point_points_at_register() -> None:
    group = entry_points(group="matyan_backend.commands")
    eps = [ep for ep in group if ep.value.startswith("matyan_api.")]
    assert len(eps) == 1
    assert eps[0].load() is commands.register
    app = cyclopts.App(name="probe")
    commands.register(app)
