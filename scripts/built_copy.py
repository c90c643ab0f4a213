"""Build the installed layout of the package into a directory, for tools that read files.

    python scripts/built_copy.py DEST

The folders of the repository are mapped onto ``cpd.*`` in ``pyproject.toml``; an editable
install reaches them through an import hook, which static tools (import-linter, mypy) do not
run. This copies the package as an installation lays it out (setuptools' own ``build_py``,
offline, well under a second): ``DEST/cpd/rules``, ``DEST/cpd/storage/migrations``... Point
the tools at it with ``PYTHONPATH=DEST``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(dest: Path) -> Path:
    """``dest`` holding the ``cpd`` package as installed (replaced if it exists)."""
    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(dest),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(build(Path(sys.argv[1]).resolve()))
