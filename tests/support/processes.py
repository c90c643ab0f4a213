"""Processes as Linux's /proc shows them: alive or not, and whose children they are."""

from __future__ import annotations

import time
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not count)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in {"Z", "X"}


def wait_gone(pid: int, timeout: float = 10) -> None:
    """Wait until ``pid`` is no longer alive; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} still runs after {timeout} s")
        time.sleep(0.05)


def children_of(pid: int) -> dict[int, str]:
    """The live processes whose parent is ``pid``: their command lines, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or fields[0] in {"Z", "X"} or int(fields[1]) != pid:
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = command.strip()
    return found
