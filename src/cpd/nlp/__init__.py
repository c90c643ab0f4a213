"""Offline spaCy pipeline: from a member's words to an activity (kind, hours, dates...)."""
