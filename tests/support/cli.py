"""The `cpd` command line in-process: click's ``CliRunner`` (the one typer's wraps; typer's
own ``invoke`` takes a Typer app, not the entry point) driving ``cpd.cli.main``, so that an
argument test costs milliseconds instead of a Python start-up (about 4-5 s here), and still
sees exactly what a user would: stdout, stderr, the exit code.

Only what a real process alone shows (the console script itself, ``cpd run``'s logging and
signals) needs a subprocess.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
from click.testing import CliRunner

from cpd.cli import main


@dataclass(frozen=True)
class CliResult:
    """What one `cpd` command gave: the fields of ``subprocess.CompletedProcess``."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def _forward(argv: tuple[str, ...]) -> None:
    main(list(argv))


_ENTRY = click.Command(
    "cpd",
    params=[click.Argument(["argv"], nargs=-1, type=click.UNPROCESSED)],
    callback=_forward,
    add_help_option=False,
    context_settings={"ignore_unknown_options": True},
)
"""A click command that hands its arguments untouched to ``cpd.cli.main``, so the console
script's one-line error handling is part of what is tested."""


def run_cpd(
    *args: str,
    data_dir: Path,
    cwd: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> CliResult:
    """``cpd ARGS`` with ``CPD_DATA_DIR=data_dir``, the web desk off, no CPD_* variable of the
    caller, and ``env`` on top; run in ``cwd`` (default: the data directory's parent)."""
    environment: dict[str, str | None] = {n: None for n in os.environ if n.startswith("CPD_")}
    environment.update({"CPD_DATA_DIR": str(data_dir), "CPD_WEB_LISTEN": "", **(env or {})})
    with contextlib.chdir(cwd or data_dir.parent):
        result = CliRunner().invoke(
            _ENTRY,
            list(args),
            input=stdin,
            env=environment,
            catch_exceptions=False,
        )
    return CliResult(tuple(args), result.exit_code, result.stdout, result.stderr)


CPD_COMMAND = (sys.executable, "-c", "from cpd.cli import main; main()")
"""The console script as a real process, on this interpreter."""


def cpd_process(
    *args: str, env: dict[str, str], cwd: Path, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``cpd ARGS`` as a real process with exactly ``env`` (for what only a process shows)."""
    return subprocess.run(
        [*CPD_COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
