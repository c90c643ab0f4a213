"""The process environment a settings test starts from: no CPD_* variable of the caller."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def clean_cpd_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every ``CPD_*`` variable removed and the working directory a fresh ``tmp_path``
    (where the default ``cpd-data`` and ``cpd.toml`` are looked for); returns it."""
    for key in [k for k in os.environ if k.startswith("CPD_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path
