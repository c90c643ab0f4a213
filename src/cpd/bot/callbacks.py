"""Callback data carried by inline buttons: short ``prefix:claim:arg`` strings (≤ 64 bytes).

Anything that arrives in a callback is checked again by the claims service (who may act on
which claim), so a forged or stale button does nothing it should not.
"""

from __future__ import annotations

from dataclasses import dataclass

DRAFT = "d"  # member actions on a draft
KIND = "k"  # member picks a kind
CATEGORY = "c"  # member picks a category
DECIDE = "s"  # secretary decisions
WITHDRAW = "w"  # member withdraws a pending claim


@dataclass(frozen=True, slots=True)
class Callback:
    """A decoded button press."""

    prefix: str
    claim_id: int
    arg: str


def encode(prefix: str, claim_id: int, arg: str = "") -> str:
    """The callback data for a button."""
    data = f"{prefix}:{claim_id}:{arg}"
    if len(data.encode("utf-8")) > 64:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """The button press, or None when the data is not one of ours."""
    if not data:
        return None
    parts = data.split(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return Callback(parts[0], int(parts[1]), parts[2])
