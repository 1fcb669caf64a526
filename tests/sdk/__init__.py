"""Tests of the Python SDK (src/durableruns/sdk)."""
