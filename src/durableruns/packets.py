"""Payload packets as Trigger.dev clients send them, decoded to plain JSON values.

The official client sends ``payload`` as a string plus ``payloadType``:
``application/super+json`` (a SuperJSON document ``{"json": …, "meta": …}``),
``application/json`` or ``text/plain``. Python callers may also send plain JSON.
"""

from __future__ import annotations

import json
from typing import Any

from durableruns.errors import PacketError as PacketError  # defined in errors.py (the one tree)
from durableruns.limits import check_payload

SUPERJSON = "application/super+json"
JSON = "application/json"
TEXT = "text/plain"


def decode_packet(data: Any, packet_type: str | None, *, field: str = "payload") -> Any:
    """The plain JSON value a packet carries, within the payload limits (3 MiB, no
    nesting deeper than ``limits.MAX_JSON_DEPTH``, valid Unicode).

    Raises:
        PacketError: The packet does not decode as its type says.
        limits.ValueTooLargeError: Over 3 MiB (HTTP 413).
        limits.InvalidValueError: Too deeply nested, or a lone surrogate.
    """
    value = _decode(data, packet_type, field)
    check_payload(value, field)
    return value


def _decode(data: Any, packet_type: str | None, field: str) -> Any:
    if data is None:
        return None
    if not isinstance(data, str):
        return data  # already plain JSON (Python SDK, curl)
    kind = packet_type or JSON
    if kind == TEXT:
        return data
    if kind not in (JSON, SUPERJSON):
        raise PacketError(f"{field}Type", f"unsupported packet type {kind!r}")
    try:
        value = json.loads(data) if data else None
    except json.JSONDecodeError as exc:
        raise PacketError(field, f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
    except RecursionError:
        raise PacketError(field, "nested too deeply to parse") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise PacketError(field, f"not valid JSON ({exc})") from None
    if kind == SUPERJSON:
        if not isinstance(value, dict) or "json" not in value:
            raise PacketError(field, 'a SuperJSON packet must be an object with a "json" member')
        return value["json"]
    return value
