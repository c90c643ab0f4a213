"""Telling an outage from a bad message, for channels that retry what failed to store.

A channel that queued a message (the mail spool) must keep retrying while the database or the
disk is away, yet set aside a message that fails on its own while others are stored. The
exception alone says which is likely; :func:`is_transient` is that judgement, kept here so
the channels need not know the database driver.
"""

from __future__ import annotations

from cpd.storage.errors import is_transient

__all__ = ["is_transient"]
