"""CPD Claims Assistant: members claim CPD points in chat or by mail; secretaries decide.

This package's own modules are the settings, the ``cpd`` command line and the wiring of
``cpd run``; its subpackages (``cpd.rules``, ``cpd.claims``, ``cpd.bot``...) live in the
repository's top-level folders, mapped in ``pyproject.toml``.
"""
