"""The channel-neutral claims workflow (not built yet: issue 4)."""
