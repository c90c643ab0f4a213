"""The web channel's routers, one per concern."""
