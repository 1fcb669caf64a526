"""Tests of the ``durableruns`` command (src/durableruns/cli), as real processes."""
