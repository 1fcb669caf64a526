"""Run metadata: a JSON object attached to a run, readable on retrieve and changeable
from task code (``ctx.metadata.set/append/increment``) and through the API.

Bounded like Trigger.dev's (256 KiB serialized) so a run's history stays small.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from durableruns.errors import MetadataTooLargeError
from durableruns.limits import MAX_METADATA_BYTES, json_size


def check_metadata_size(metadata: dict[str, Any] | None, field: str = "metadata") -> None:
    """Raise MetadataTooLargeError when ``metadata`` serializes to more than the limit."""
    if metadata is None:
        return
    size = json_size(metadata, field)
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLargeError(
            field, f"{size} bytes exceeds the limit of {MAX_METADATA_BYTES} bytes (256 KiB)"
        )


class RunMetadata:
    """The running attempt's view of its run's metadata; every change is sent to the run.

    Changes count once per position of the code: an execution that resumes after a
    wait runs the code again from the top, replaying its recorded calls, and starts
    from the run's metadata as the earlier execution left it, which already holds what
    that code changed. While ``replaying()`` says so (the code has not yet passed the
    last recorded call), a change is therefore skipped: ``increment`` before a wait
    counts once however often the run resumes. Reads see the metadata as it is.

    Example::

        ctx.metadata.set("progress", 0.5).increment("processed", 10).append("log", "step 2")
    """

    def __init__(
        self,
        initial: dict[str, Any] | None,
        on_change: Callable[[dict[str, Any]], None] | None = None,
        replaying: Callable[[], bool] | None = None,
    ) -> None:
        self._data: dict[str, Any] = dict(initial or {})
        self._on_change = on_change
        self._replaying = replaying

    def current(self) -> dict[str, Any]:
        """A copy of the metadata as it is now."""
        return json.loads(json.dumps(self._data))  # type: ignore[no-any-return]

    def get(self, key: str, default: Any = None) -> Any:
        """One value."""
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> RunMetadata:
        """Set ``key`` to a JSON value."""
        return self._change(lambda d: d.__setitem__(key, value))

    def delete(self, key: str) -> RunMetadata:
        """Remove ``key``."""
        return self._change(lambda d: d.pop(key, None))

    def append(self, key: str, value: Any) -> RunMetadata:
        """Append ``value`` to the list at ``key`` (made a list if needed)."""

        def apply(d: dict[str, Any]) -> None:
            existing = d.get(key)
            d[key] = (
                [*existing, value]
                if isinstance(existing, list)
                else ([value] if existing is None else [existing, value])
            )

        return self._change(apply)

    def increment(self, key: str, by: float = 1) -> RunMetadata:
        """Add ``by`` to the number at ``key`` (0 if absent)."""
        return self._change(lambda d: d.__setitem__(key, (d.get(key) or 0) + by))

    def decrement(self, key: str, by: float = 1) -> RunMetadata:
        """Subtract ``by`` from the number at ``key``."""
        return self.increment(key, -by)

    def replace(self, metadata: dict[str, Any]) -> RunMetadata:
        """Replace everything."""

        def apply(d: dict[str, Any]) -> None:
            d.clear()
            d.update(metadata)

        return self._change(apply)

    def _change(self, apply: Callable[[dict[str, Any]], object]) -> RunMetadata:
        if self._replaying is not None and self._replaying():
            return self  # made by the execution that first ran this code
        candidate = json.loads(json.dumps(self._data))
        apply(candidate)
        try:
            check_metadata_size(candidate)
        except TypeError as exc:  # not JSON
            raise MetadataTooLargeError("metadata", f"not JSON-serializable: {exc}") from exc
        self._data = candidate
        if self._on_change is not None:
            self._on_change(self.current())
        return self
