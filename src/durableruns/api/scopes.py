"""What a public access token may read, by Trigger.dev's scope strings.

A token carries scopes like ``read:runs:run_1``, ``read:tags:user_42``,
``read:batch:batch_1`` (the official client's ``auth.createPublicToken({scopes: {read:
{runs, tags, batch}}})`` flattens to these), type-wide ``read:runs`` / ``read:tags`` /
``read:batch``, or the super scopes ``read:all`` and ``admin``. As in Trigger.dev a run
is readable when its id, one of its tags, its batch or its task is granted; a batch when
its id is. A tag subscription is stricter than Trigger.dev's (which lets one granted tag
open a subscription to several): every tag asked for must be granted, so a token for one
tag never reads a run that only has another.

Kept pure (no request, no Temporal) so the rules are testable on their own; the routes
call :func:`require_run`, :func:`require_tags` and :func:`require_batch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Request

from durableruns.api.errors import ApiHTTPError
from durableruns.models import RunRecord

SUPER_SCOPES = frozenset({"read:all", "admin"})

PUBLIC_TOKEN_KEY = "x-durableruns-public-token"
"""The OpenAPI extension a route declares what a public access token may do with it by
(``openapi_extra``): absent, a public token is refused (403); ``read``, the route reads
runs and checks the token's scopes itself; ``complete-token``, a wait token's own
public token may complete it; ``send-input``, a run's public token may send to its
input streams. Declared on the route, so a new route is closed to public
tokens unless it says otherwise, and the OpenAPI document tells which routes are open."""
PUBLIC_READ: dict[str, object] = {PUBLIC_TOKEN_KEY: "read"}
"""``openapi_extra`` of a route a public token may read through."""
PUBLIC_COMPLETE_TOKEN: dict[str, object] = {PUBLIC_TOKEN_KEY: "complete-token"}
"""``openapi_extra`` of the route a wait token's public token may complete it with."""
PUBLIC_SEND_INPUT: dict[str, object] = {PUBLIC_TOKEN_KEY: "send-input"}
"""``openapi_extra`` of the route a token with ``write:inputStreams:<run>`` may send to
that run's input streams with."""


def public_token_use(route: object) -> str | None:
    """What a route lets a public access token do (see :data:`PUBLIC_TOKEN_KEY`)."""
    extra = getattr(route, "openapi_extra", None) or {}
    use = extra.get(PUBLIC_TOKEN_KEY)
    return use if isinstance(use, str) else None


RUN_DENIED = "This public access token may only read its own run"


@dataclass(frozen=True)
class Scopes:
    """The scopes of one public access token."""

    granted: frozenset[str]

    @classmethod
    def of(cls, scopes: Iterable[object]) -> Scopes:
        """From a token's ``scopes`` claim (non-strings are ignored)."""
        return cls(frozenset(s for s in scopes if isinstance(s, str)))

    def _grants(self, kind: str, value: str | None) -> bool:
        if value is None:
            return False
        return f"read:{kind}" in self.granted or f"read:{kind}:{value}" in self.granted

    @property
    def _super(self) -> bool:
        return bool(self.granted & SUPER_SCOPES)

    def can_read_run(self, run: RunRecord) -> bool:
        """The run by id, one of its tags, its batch or its task."""
        return (
            self._super
            or self._grants("runs", run.id)
            or any(self._grants("tags", tag) for tag in run.options.tags)
            or self._grants("batch", run.options.batch_id)
            or self._grants("tasks", run.task_id)
        )

    def can_complete_token(self, token_id: str) -> bool:
        """Wait token ``token_id`` (``write:waitpoints:<id>``, what its creation returns)."""
        return (
            self._super
            or "write:waitpoints" in self.granted
            or f"write:waitpoints:{token_id}" in self.granted
        )

    def can_send_input(self, run_id: str) -> bool:
        """The input streams of run ``run_id`` (``write:inputStreams:<id>``, what a
        trigger's ``x-trigger-jwt`` carries, as in Trigger.dev)."""
        return (
            self._super
            or "write:inputStreams" in self.granted
            or f"write:inputStreams:{run_id}" in self.granted
        )

    def can_read_tags(self, tags: Iterable[str]) -> bool:
        """The runs having any of ``tags``: every one of them must be granted."""
        wanted = list(tags)
        if self._super or "read:runs" in self.granted:
            return True
        return bool(wanted) and all(self._grants("tags", tag) for tag in wanted)

    def can_read_batch(self, batch_id: str) -> bool:
        """A batch and its runs."""
        return self._super or self._grants("batch", batch_id)


def token_scopes(request: Request) -> Scopes | None:
    """The caller's token scopes, or None for a secret key or a dashboard session."""
    scopes: Scopes | None = getattr(request.state, "scopes", None)
    return scopes


def require_run(request: Request, run: RunRecord) -> None:
    """403 unless the caller may read ``run``."""
    scopes = token_scopes(request)
    if scopes is not None and not scopes.can_read_run(run):
        raise ApiHTTPError(403, RUN_DENIED)


def require_tags(request: Request, tags: Iterable[str]) -> None:
    """403 unless the caller may read the runs with ``tags``."""
    scopes = token_scopes(request)
    if scopes is not None and not scopes.can_read_tags(tags):
        raise ApiHTTPError(403, "This public access token may not read runs with these tags")


def require_batch(request: Request, batch_id: str) -> None:
    """403 unless the caller may read the batch."""
    scopes = token_scopes(request)
    if scopes is not None and not scopes.can_read_batch(batch_id):
        raise ApiHTTPError(403, "This public access token may not read this batch")
