"""Deterministic workflow code: the run, batch, catalog, queue, token and schedule-tick
workflows. Imports only the standard library, temporalio, core records, and
``engine.names`` / ``engine.search_attributes`` (enforced by tests/unit/test_architecture.py)."""
