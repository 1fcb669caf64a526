"""Tasks with lifecycle hooks, and a global ``init`` module (tests/engine/test_hooks_engine.py).

Every hook counts its calls in files of ``payload["dir"]`` (one line per call), so the
counts are kept outside the task process and survive its death."""
