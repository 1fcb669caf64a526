"""The fingerprint that groups failed runs: the same mistake in 10,000 runs is one group.

A fingerprint hashes four parts, each chosen so that what varies between occurrences
of one mistake (ids, counts, values) does not split the group, and what tells two
mistakes apart (where, and what kind) does:

1. the **task id**;
2. the **error type** (``RunError.name``, e.g. ``ValueError``);
3. the **message, normalised**: its first line only (later lines tend to hold data),
   whitespace collapsed, cut to :data:`MESSAGE_CHARS`, then, in this order, quoted
   values (``'…'``, ``"…"``, ````…````) → ``<str>``, ISO timestamps → ``<time>``,
   UUIDs → ``<uuid>``, prefixed ids (``run_…``, ``batch_…``: a word, ``_``, then 8+
   letters and digits with a digit among them) → ``<id>``, ``0x…`` and hex runs of 8+
   characters mixing digits and letters → ``<hex>``, numbers → ``<n>``;
4. the **innermost frame in the user's code** of the stack trace: ``file.py:function``
   (no line number, so an edit above the failing line keeps the group). Frames in
   site-packages, the standard library and durableruns itself are skipped; a trace
   with no user frame contributes nothing.

The group id is ``error_`` + the first 16 hex digits of SHA-256 over the four parts.
This module is pure (the run workflow computes fingerprints in workflow code).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MESSAGE_CHARS = 500
"""A normalised message is cut to this many characters before hashing."""
ERROR_GROUP_PREFIX = "error_"
ERROR_GROUP_ID = re.compile(r"^error_[0-9a-f]{16}$")

_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`"), "<str>"),
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"),
        "<time>",
    ),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(r"\b[A-Za-z]+_(?=[A-Za-z]*\d)[A-Za-z0-9]{8,}\b"), "<id>"),
    (
        re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9]*[a-fA-F])[0-9a-fA-F]{8,}\b"),
        "<hex>",
    ),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
)
_FRAME = re.compile(r'File "([^"]+)", line \d+, in (\S+)')
_NOT_USER_CODE = ("site-packages", "dist-packages", "/durableruns/", "/lib/python3", "<frozen")


@dataclass(frozen=True)
class Fingerprint:
    """What a failed run is grouped by, and the parts it was made from."""

    task_id: str
    error_type: str
    message: str
    """The normalised message."""
    frame: str
    """``file.py:function`` of the innermost user frame, or empty."""

    @property
    def hash(self) -> str:
        """The raw fingerprint: 16 hex digits."""
        parts = "\x1f".join((self.task_id, self.error_type, self.message, self.frame))
        return hashlib.sha256(parts.encode()).hexdigest()[:16]

    @property
    def group_id(self) -> str:
        """The error group's id, ``error_`` + :attr:`hash`."""
        return ERROR_GROUP_PREFIX + self.hash


def fingerprint(task_id: str, error_type: str, message: str, stack_trace: str = "") -> Fingerprint:
    """The fingerprint of an error raised by ``task_id``.

    >>> a = fingerprint("t", "KeyError", "no user 'ann' in shard 3")
    >>> a == fingerprint("t", "KeyError", "no user 'bob' in shard 12")
    True
    """
    return Fingerprint(
        task_id=task_id,
        error_type=error_type or "Error",
        message=normalise_message(message),
        frame=user_frame(stack_trace),
    )


def normalise_message(message: str) -> str:
    """``message`` with the values that vary between occurrences replaced by placeholders."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    text = " ".join(first.split())[:MESSAGE_CHARS]
    for pattern, placeholder in _SUBSTITUTIONS:
        text = pattern.sub(placeholder, text)
    return text


def user_frame(stack_trace: str) -> str:
    """``file.py:function`` of the innermost frame outside libraries and the engine."""
    found = ""
    for match in _FRAME.finditer(stack_trace):
        path, function = match.group(1), match.group(2)
        if not any(part in path for part in _NOT_USER_CODE):
            found = f"{path.rsplit('/', 1)[-1]}:{function}"
    return found


def is_error_group_id(value: str) -> bool:
    """Whether ``value`` has the shape of an error group id."""
    return bool(ERROR_GROUP_ID.match(value))
