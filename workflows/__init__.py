"""Example tasks that orchestrate other runs (trigger_and_wait, waits).

Their code runs as attempts too; the orchestration (child runs, durable timers) happens
in the run workflow. ``durableruns dev`` loads this package by default.
"""
