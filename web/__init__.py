"""The web channel: the secretary's desk, the member's portal and their JSON API."""
