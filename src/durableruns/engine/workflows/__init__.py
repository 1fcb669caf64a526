"""Deterministic workflow code only: each module one workflow, importing records and names."""
