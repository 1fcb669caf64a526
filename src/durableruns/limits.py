r"""The size and shape limits of the values a run carries, as Trigger.dev states them.

A payload may be at most 3 MiB and an output at most 10 MiB, measured as compact UTF-8
JSON (what Trigger.dev measures too); above them the caller gets a 413 naming the limit
and the size. Every value must also be representable at all: JSON nested at most
``MAX_JSON_DEPTH`` levels (the pydantic encoder that writes run records to history stops
at 255, and a record wraps the payload in a few levels of its own), and strings of valid
Unicode (a lone UTF-16 surrogate such as ``"\\ud800"`` parses in JSON but cannot be
encoded as UTF-8, so nothing could store it). These are checked at the edge, before
any run exists, so a run can never be started with data it cannot record.

The facade calls :func:`check_payload` / :func:`check_metadata`; the engine calls
:func:`check_output` on an attempt's output and :func:`check_payload` on a child run's
payload from task code (an output over the limit fails the attempt, not retried).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pydantic_core

from durableruns.errors import InvalidValueError as InvalidValueError
from durableruns.errors import UnrecordableValueError as UnrecordableValueError
from durableruns.errors import (  # defined in errors.py (the one tree)
    ValueTooLargeError as ValueTooLargeError,
)

MIB = 1024 * 1024
MAX_PAYLOAD_BYTES = 3 * MIB
"""A run's payload, as Trigger.dev's ``TASK_PAYLOAD_MAXIMUM_SIZE`` (3 MiB)."""
MAX_OUTPUT_BYTES = 10 * MIB
"""A run's output, as Trigger.dev's ``TASK_RUN_OUTPUT_MAXIMUM_SIZE`` (10 MiB)."""
MAX_METADATA_BYTES = 256 * 1024
"""A run's metadata, as Trigger.dev's ``TASK_RUN_METADATA_MAXIMUM_SIZE`` (256 KiB)."""
MAX_JSON_DEPTH = 128
"""Deepest nesting of arrays and objects accepted in any value a run records."""
MAX_ERROR_MESSAGE_BYTES = 32 * 1024
"""An attempt's error message is cut to this (UTF-8 bytes) before it is recorded."""
MAX_STACK_TRACE_BYTES = 64 * 1024
"""An attempt's stack trace is cut to this before it is recorded."""
HISTORY_BLOB_LIMIT_BYTES = 2 * MIB
"""Temporal's default per-payload limit in history (``BlobSizeLimitError``); without
payload storage a run record past it cannot be recorded at all."""


def json_size(value: Any, field: str = "value") -> int:
    """Bytes of ``value`` as compact UTF-8 JSON, after checking it as :func:`check_shape`
    does (InvalidValueError naming ``field`` otherwise)."""
    return _measure(value, field)


_DEPTH_PADDING = 126
"""pydantic's encoder stops at 254 nested containers: wrapped in this many lists, a value
encodes only if it nests at most MAX_JSON_DEPTH (128) deep itself."""


def _measure(value: Any, field: str) -> int:
    """The compact JSON size of a valid value. Fast: one pass of pydantic's encoder (the
    one that writes run records) catches lone surrogates and nesting past the limit; the
    slow walk of :func:`check_shape` runs only to name the path of a value that failed,
    or to confirm a ``NaN``/``Infinity`` the encoder wrote."""
    padded = value
    for _ in range(_DEPTH_PADDING):
        padded = [padded]
    try:
        data = pydantic_core.to_json(padded)
    except pydantic_core.PydanticSerializationError as exc:
        check_shape(value, field)
        raise InvalidValueError(field, f"cannot be stored as JSON ({exc})") from None
    if b"NaN" in data or b"Infinity" in data:
        check_shape(value, field)  # finds a non-finite number, or it was inside a string
    return len(data) - 2 * _DEPTH_PADDING


def check_shape(value: Any, field: str) -> None:
    """Raise InvalidValueError naming the path at fault when ``value`` is nested deeper
    than MAX_JSON_DEPTH, holds a string (or key) with a lone surrogate, or a number that
    JSON cannot carry (NaN, Infinity). Iterative, so any depth that parsed is checked
    without recursion; slow on large values (:func:`check_value` calls it only when the
    fast encoder pass failed)."""
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidValueError(path, "not a finite number (NaN and Infinity are not JSON)")
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidValueError(path, f"nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(str(key), f"{path}.{key!s:.40}")
                    stack.append((child, f"{path}.{key!s:.40}", depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))


def check_value(value: Any, field: str, limit: int) -> int:
    """Check shape and size; returns the size in bytes. Raises ValueTooLargeError (413)
    or InvalidValueError (400), naming ``field``."""
    size = _measure(value, field)
    if size > limit:
        raise ValueTooLargeError(field, size, limit)
    return size


def check_payload(value: Any, field: str = "payload") -> int:
    """A payload (trigger, batch item, replay, child run): at most 3 MiB."""
    return check_value(value, field, MAX_PAYLOAD_BYTES)


def check_output(value: Any, field: str = "output") -> int:
    """A task's output: at most 10 MiB. The engine fails the attempt with this error,
    without retrying it (the same code returns the same output)."""
    return check_value(value, field, MAX_OUTPUT_BYTES)


def check_metadata(value: Any, field: str = "metadata") -> int:
    """Run metadata: at most 256 KiB."""
    return check_value(value, field, MAX_METADATA_BYTES)


def truncate_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary, lone
    surrogates escaped), with a marker saying how much was cut: for error messages and
    stack traces, which task code may make arbitrarily large (a 10 MB message must fail
    its attempt clearly, not make the run unrecordable)."""
    data = text.encode("utf-8", "backslashreplace")
    if len(data) <= limit:
        return data.decode("utf-8")
    marker = f"\n… (truncated: {len(data)} bytes in all)"
    kept = data[: max(0, limit - len(marker.encode()))].decode("utf-8", "ignore")
    return kept + marker


MAX_SEARCHABLE_BYTES = 2_000
"""A string kept in a search attribute: Temporal refuses values over 2,048 bytes as
JSON (quotes and escapes included)."""


def check_text(value: str | None, field: str) -> None:
    """A string option (tag, key, queue name …) must be valid Unicode without NUL, and
    short enough as UTF-8 for Temporal's visibility store to index it."""
    if value is None:
        return
    _check_text(value, field)
    if "\x00" in value:
        raise InvalidValueError(field, "contains a NUL character")
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_SEARCHABLE_BYTES:
        raise InvalidValueError(field, f"is longer than {MAX_SEARCHABLE_BYTES} bytes as UTF-8")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValueError(
            path, f"not valid Unicode (lone surrogate at character {exc.start})"
        ) from None
