"""An error in the user's task module, said the way an editor or compiler says it:
``file:line:col: Name: message`` and the line of code with a caret under the column.

``durableruns dev`` prints this when a save does not import (a syntax error, a
``NameError`` at import time) instead of a Python repr such as ``SyntaxError('invalid
syntax', (…))`` that names no file, so the terminal link opens the right spot.
"""

from __future__ import annotations

import linecache
import os
import sysconfig
import traceback
from pathlib import Path

import durableruns
from durableruns.errors import DurableRunsError


def describe_code_error(exc: BaseException) -> str:
    """``exc`` (or the error that caused it) as ``file:line:col: Name: message`` with its
    code frame; a DurableRunsError with no code behind it is its message."""
    cause = _root_cause(exc)
    if isinstance(cause, SyntaxError) and cause.filename:
        where = _location(cause.filename, cause.lineno or 0, cause.offset or 1)
        frame = _code_frame(cause.text or "", cause.offset or 1)
        return f"{where}: {type(cause).__name__}: {cause.msg}{frame}"
    summary = _innermost_user_frame(cause)
    if summary is None:
        return str(exc) if isinstance(exc, DurableRunsError) else _plain(cause)
    column = (summary.colno or 0) + 1
    text = linecache.getline(summary.filename, summary.lineno or 0)
    where = _location(summary.filename, summary.lineno or 0, column)
    return f"{where}: {_plain(cause)}{_code_frame(text, column)}"


def _root_cause(exc: BaseException) -> BaseException:
    """The first error of the chain (``raise … from exc`` and implicit contexts)."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def _innermost_user_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The deepest frame of ``exc``'s traceback outside Python, libraries and durableruns."""
    frames = traceback.extract_tb(exc.__traceback__)
    found = None
    for summary in frames:
        if _is_user_file(summary.filename):
            found = summary
    return found


def _is_user_file(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    where = Path(filename).resolve()
    return not any(root == where or root in where.parents for root in _NOT_USER_ROOTS)


_NOT_USER_ROOTS = tuple(
    Path(p).resolve()
    for p in (
        Path(durableruns.__file__).parent,
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    )
)
"""durableruns itself, Python's library and installed packages: not the user's code."""


def _location(filename: str, line: int, column: int) -> str:
    path = filename
    try:
        relative = os.path.relpath(filename)
        if not relative.startswith(".."):
            path = relative
    except ValueError:
        pass
    return f"{path}:{line}:{column}"


def _code_frame(text: str, column: int) -> str:
    """The code line, indented, and a caret under ``column`` (1-based)."""
    line = text.rstrip("\n")
    if not line.strip():
        return ""
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    caret = " " * max(column - 1 - indent, 0)
    return f"\n    {stripped}\n    {caret}^"


def _plain(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
