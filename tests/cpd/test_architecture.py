"""The package dependency rules of ARCHITECTURE.md, checked by import-linter in the test run.

import-linter reads files, and the editable install maps the top-level folders onto ``cpd.*``
by an import hook it does not run, so it reads a copy laid out as an installation is
(``scripts/built_copy.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def built_copy(dest: Path) -> Path:
    """The package as installed, under ``dest`` (scripts/built_copy.py)."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "built_copy.py"), str(dest)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dest


def test_import_linter_contracts_are_kept(tmp_path: Path) -> None:
    executable = shutil.which("lint-imports")
    assert executable, "import-linter is a dev dependency"
    copy = built_copy(tmp_path / "installed")
    result = subprocess.run(
        [executable, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "Analyzed" in result.stdout and " 0 files" not in result.stdout
