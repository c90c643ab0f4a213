"""The package dependency rules of ARCHITECTURE.md, checked by import-linter in the test run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def test_import_linter_contracts_are_kept() -> None:
    executable = shutil.which("lint-imports")
    assert executable, "import-linter is a dev dependency"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([executable], cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
