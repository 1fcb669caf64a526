"""Trigger options from Python keyword arguments to the facade's JSON (camelCase), for
every SDK call that triggers (``tasks.trigger``, ``batch.trigger``)."""

from __future__ import annotations

from typing import Any

from durableruns.in_task import python_options
from durableruns.options import idempotency_key_hash
from durableruns.wire import TriggerOptions

OPTION_NAMES = frozenset(
    {
        "tags",
        "metadata",
        "max_attempts",
        "max_duration",
        "test",
        "delay",
        "ttl",
        "idempotency_key",
        "idempotency_key_ttl",
        "idempotency_key_scope",
        "queue",
        "concurrency_key",
        "priority",
        "lock_to_version",
    }
)


def check_option_names(options: dict[str, Any]) -> None:
    """TypeError for an option we don't know (a typo should not pass silently)."""
    unknown = set(options) - OPTION_NAMES
    if unknown:
        raise TypeError(f"Unknown trigger options: {', '.join(sorted(unknown))}")


def wire_options(options: dict[str, Any]) -> dict[str, Any]:
    """Python trigger options as the facade's JSON ``options`` (camelCase)."""
    check_option_names(options)
    options = python_options({k: v for k, v in options.items() if v is not None})
    scope = options.pop("idempotency_key_scope", "global")
    if options.get("idempotency_key"):
        key = options["idempotency_key"]
        options["idempotency_key"] = idempotency_key_hash(key, scope)
        options["idempotency_key_options"] = {"key": key, "scope": scope}
    wire = TriggerOptions.model_validate(options)
    return wire.to_wire()
