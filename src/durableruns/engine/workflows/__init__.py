"""Deterministic workflow code only: each module is one long-lived or per-run workflow,
importing records, names and search attributes, never clients or I/O."""
