"""The dashboard: runs in the browser, served by the facade at ``/dashboard``.

``routes`` serves a few server-rendered HTML shells (``pages``) and the static files
whose JavaScript reads the facade's own JSON API; its login cookie is
``api.session``, checked with the secret key in one place (``api.deps``). The dashboard
reaches runs only over that HTTP API, never through the engine; it depends on the API,
never the other way round (``api.app`` only mounts it).
"""
