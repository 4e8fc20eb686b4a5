"""The public API and the command line are unchanged by the layout redesign (issue 37):
``edgesea.__all__`` and every CLI command with its options, defaults and kinds equal the
snapshot taken before the redesign (``tests/data/public_surface.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import typer

import edgesea
from edgesea.cli import app

SNAPSHOT = Path(__file__).parent / "data" / "public_surface.json"


def surface() -> dict:
    """``edgesea.__all__`` and each command's parameters, as the snapshot records them."""
    cmd = typer.main.get_command(app)
    ctx = click.Context(cmd)
    out: dict = {"all": sorted(edgesea.__all__), "commands": {}}
    for name in sorted(cmd.list_commands(ctx)):
        sub = cmd.get_command(ctx, name)
        out["commands"][name] = [
            {"name": p.name, "opts": sorted(p.opts + p.secondary_opts),
             "kind": type(p).__name__,
             "default": "callable" if callable(p.default) else repr(p.default),
             "required": p.required, "multiple": p.multiple} for p in sub.params]
    return out


def test_public_api_and_cli_are_unchanged() -> None:
    want = json.loads(SNAPSHOT.read_text())
    got = json.loads(json.dumps(surface()))
    assert got["all"] == want["all"]
    assert sorted(got["commands"]) == sorted(want["commands"])
    for name, params in want["commands"].items():
        assert got["commands"][name] == params, name


def test_every_public_name_resolves() -> None:
    for name in edgesea.__all__:
        assert getattr(edgesea, name) is not None
    assert edgesea.get_embedding.__module__ == "edgesea.inference.api"
