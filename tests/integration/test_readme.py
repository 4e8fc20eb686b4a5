"""The README's samples run as written: every ``python`` and ``sh`` code block, in order, on
the shipped models and the real clips of ``examples/audio``.

The blocks run in a scratch folder holding a copy of ``examples/`` (so outputs never land in
the repository), Python blocks in one shared namespace (as a reader pasting them into one
session), shell blocks with ``bash -e`` and this environment's ``edgesea`` first on PATH. A
block preceded by ``<!-- readme-test: skip (why) -->`` is not run (it trains for minutes or
needs data the repository does not ship); the reason is part of the README source.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgesea.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b")


def readme_blocks(text: str) -> list[tuple[int, str, str, bool]]:
    """``(line, language, code, skipped)`` for every fenced block of ``text``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        previous = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        blocks.append((start + 1, lang, "\n".join(lines[start + 1:j]),
                       bool(SKIP.search(previous))))
        i = j + 1
    return blocks


def shell_commands(code: str) -> list[list[str]] | None:
    """The ``edgesea`` command lines of a shell block as argument lists (continuations
    joined, comments dropped), or None when the block holds anything else."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        args = shlex.split(line, comments=True)
        if not args:
            continue
        if args[0] != "edgesea":
            return None
        commands.append(args[1:])
    return commands


def test_readme_blocks_are_tagged() -> None:
    """Every block says what it is: runnable samples are ``python``/``sh``, anything else
    (output, layouts, diagrams) ``text``; so a new sample cannot silently escape the test."""
    untagged = [line for line, lang, _, _ in readme_blocks(README.read_text()) if not lang]
    assert not untagged, f"README code blocks without a language at lines {untagged}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", work / "examples")
    return work


@pytest.mark.slow
def test_readme_samples_run(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in readme_blocks(README.read_text()) if b[1] in ("python", "sh")]
    assert len([b for b in blocks if not b[3]]) >= 5, "the README lost its samples"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
               f"{os.environ.get('PATH', '')}", COLUMNS="100")
    monkeypatch.chdir(scratch)
    namespace: dict = {"__name__": "__readme__"}
    for line, lang, code, skipped in blocks:
        if skipped:
            continue
        t0 = time.perf_counter()
        if lang == "python":
            try:
                exec(compile(code, f"README.md:{line}", "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"README.md block at line {line} failed: {e!r}") from e
        elif (commands := shell_commands(code)) is not None:
            # `edgesea ...` lines run in this process (the same typer app as the console
            # script, which tests/cli/test_cli.py runs as a script): no interpreter start-up each
            for args in commands:
                result = CliRunner().invoke(app, args, env={"COLUMNS": "100"})
                assert result.exit_code == 0, (
                    f"README.md block at line {line}: `edgesea {shlex.join(args)}` exited "
                    f"{result.exit_code}:\n{result.output[-3000:]}\n{result.exception!r}")
        else:
            proc = subprocess.run(["bash", "-e", "-c", code], cwd=scratch, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, (f"README.md block at line {line} exited "
                                          f"{proc.returncode}:\n{code}\n{proc.stdout[-2000:]}"
                                          f"\n{proc.stderr[-3000:]}")
        print(f"README.md:{line} ({lang}) {time.perf_counter() - t0:.1f} s")


def test_every_command_names_a_documented_python_function() -> None:
    """The README's command -> Python table: every command of the CLI is listed, and every
    ``edgesea.*`` name in it exists and has a docstring."""
    import importlib

    import typer

    text = README.read_text()
    rows = [r for r in text.splitlines() if re.match(r"^\| `[a-z0-9-]+` \| `edgesea\.", r)]
    listed = {re.match(r"^\| `([a-z0-9-]+)`", r).group(1) for r in rows}
    commands = set(typer.main.get_command(app).commands)
    assert commands <= listed, f"commands missing from the README table: {commands - listed}"
    for name in {n for r in rows for n in re.findall(r"(edgesea(?:\.\w+)+)\(", r)}:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable module prefix
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        assert obj.__doc__, f"{name} has no docstring"
