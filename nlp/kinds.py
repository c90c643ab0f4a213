"""The shared vocabulary of activity kinds (SCHEMES.md, "Shared vocabulary")."""

from __future__ import annotations

KINDS: tuple[str, ...] = (
    "training",
    "conference",
    "exhibition",
    "reading",
    "article",
    "book",
    "teaching",
    "examining",
    "work_project",
    "mentoring",
    "committee",
    "volunteering",
    "qualification",
    "site_visit",
    "other",
)
"""The 15 kind ids, in the order of SCHEMES.md."""

AUTHORED_KINDS: frozenset[str] = frozenset({"article", "book"})
"""Kinds for which ``co_authors`` is meaningful."""
