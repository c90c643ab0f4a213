"""At start, `cpd run` (``build_service``) removes the evidence temporary files a crash left."""

from __future__ import annotations

import os
import time
from pathlib import Path

from cpd.run import build_service
from cpd.settings import load_settings
from cpd.storage import store_bytes


def test_build_service_removes_incoming_leftovers(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    kept = store_bytes(settings.evidence_dir, b"evidence of a real claim").path
    leftover = kept.parent / ".incoming-k1ll3d"
    leftover.write_bytes(b"the first half of a photo")
    old = time.time() - 600
    os.utime(leftover, (old, old))
    service = build_service(settings)
    service.engine.dispose()
    assert kept.exists() and not leftover.exists()
