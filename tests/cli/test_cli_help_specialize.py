"""``-h`` of ``edgesea specialize``, ``augment``, ``export`` and ``footprint``: every option
explained, no type placeholder on flags, a one-sentence summary, and ``--augment-factor``
saying what it counts in each command."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from edgesea.cli import app

COMMANDS = ("specialize", "augment", "export", "footprint")
runner = CliRunner()


def _command(name: str):
    """The command object typer builds for ``edgesea NAME``."""
    return typer.main.get_command(app).commands[name]


def _options(name: str) -> list:
    return [p for p in _command(name).params if p.param_type_name == "option"]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help(name: str) -> None:
    options = _options(name)
    assert options
    missing = [p.opts[0] for p in options if not (p.help or "").strip()]
    assert missing == [], f"{name}: options without help: {missing}"


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_no_placeholder_on_flags(name: str) -> None:
    r = runner.invoke(app, [name, "-h"], env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    for placeholder in ("<bool>", "BOOLEAN", "<boolean>"):
        assert placeholder not in r.output, (name, placeholder)
    flags = [p for p in _options(name) if p.is_flag]
    assert flags, name
    for flag in flags:
        assert flag.opts[0] in r.output


@pytest.mark.parametrize("name", COMMANDS)
def test_summary_is_one_short_sentence(name: str) -> None:
    first = (_command(name).help or "").split("\n\n")[0].strip()
    assert "\n" not in first and len(first) <= 80, first
    assert first.endswith(".") and first.count(". ") == 0, first


def test_augment_factor_says_what_it_counts() -> None:
    def help_of(name: str) -> str:
        (opt,) = [p for p in _options(name) if "--augment-factor" in p.opts]
        return opt.help.lower()

    assert "per training window" in help_of("specialize")
    assert "per second of source audio" in help_of("augment")
    # each says it is not the other's unit
    assert "not per second" in help_of("specialize")
    assert "not per training window" in help_of("augment")


@pytest.mark.parametrize("name", ["specialize", "augment", "teacher-embed"])
def test_engine_help_names_the_ray_extra(name: str) -> None:
    # rich markup read "[ray]" as a style tag and printed "pip install edgesea)"
    r = runner.invoke(app, [name, "-h"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "edgesea[ray]" in r.output, name
    for opt in ("--address", "--num-actors", "--num-gpus-per-actor"):
        assert opt in r.output, (name, opt)


ALL_COMMANDS = sorted(typer.main.get_command(app).commands)


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_option_names_are_whole_at_80_columns(name: str) -> None:
    """``--reduction-options`` was shown as ``--reduction-optio…`` in an 80-column terminal."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "TERMINAL_WIDTH": "80"}
    res = subprocess.run([sys.executable, "-m", "edgesea.cli", name, "--help"], env=env,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    for p in _command(name).params:
        for opt in p.opts + p.secondary_opts:
            if opt.startswith("--"):
                assert opt in res.stdout, f"{name}: {opt} not shown whole"


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_options_named_in_help_exist(name: str) -> None:
    """A help text may name only options the command has (``--nproc`` named a ``--batch``
    that no command has); an option of another command only with that command's name."""
    import re

    cmd = _command(name)
    own = {o for p in cmd.params for o in p.opts + p.secondary_opts} | {"--help"}
    texts = [p.help or "" for p in cmd.params] + [cmd.help or ""]
    for text in texts:
        for sentence in re.split(r"(?<=[.;:])\s", text):
            for opt in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", sentence):
                other = re.search(r"edgesea ([a-z-]+) ", sentence)
                if opt in own:
                    continue
                assert other and opt in {o for p in _command(other.group(1)).params
                                         for o in p.opts}, f"{name}: {opt} in {sentence!r}"
