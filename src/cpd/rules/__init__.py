"""Scheme files and the pure rules engine that turns claims into points and balances."""
