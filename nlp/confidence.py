"""The confidence threshold channels act on (kept apart from spaCy so that reading it loads
no model)."""

LOW_CONFIDENCE = 0.5
"""Below this kind confidence a channel should ask the member to pick the kind."""
