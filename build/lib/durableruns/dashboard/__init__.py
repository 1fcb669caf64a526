"""The dashboard: runs in the browser, served by the facade at ``/dashboard``.

``routes`` serves a few server-rendered HTML shells (``pages``) and the static files
whose JavaScript reads the facade's own JSON API; ``session`` is the login cookie that
lets those calls through ``require_secret_key``. The dashboard reaches runs only over
that HTTP API, never through the engine.

This package's ``__init__`` imports nothing: ``api.deps`` imports ``session`` while
``routes`` imports ``api.deps``.
"""
