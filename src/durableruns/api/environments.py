"""Environments (dev, staging, prod): each a Temporal namespace with its own secret key.

A request's bearer key picks its environment; every service a route uses is that
environment's, so a key sees and triggers the runs of its own environment only (a run
of another environment is simply not found). Public access tokens (the
``x-trigger-jwt`` of a trigger, or those Trigger.dev's ``auth.createPublicToken`` mints)
are JWTs signed with an environment's key, scoped to reading some runs (``api.tokens``,
``api.scopes``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from durableruns.api.scopes import Scopes
from durableruns.api.tokens import ExpiredTokenError, verify_public_token
from durableruns.service.batches import BatchService
from durableruns.service.limits import LimitService
from durableruns.service.queues import QueueService
from durableruns.service.runs import RunService
from durableruns.service.schedules import ScheduleService
from durableruns.service.tokens import TokenService
from durableruns.settings import Settings


@dataclass
class Environment:
    """One environment's settings and services."""

    settings: Settings
    runs: RunService
    batches: BatchService
    queues: QueueService
    limits: LimitService
    schedules: ScheduleService
    tokens: TokenService
    cache: dict[str, Any] = field(default_factory=dict)
    """Per-environment state routes keep (realtime feeds, list caches …)."""

    @property
    def name(self) -> str:
        """``dev``, ``staging`` or ``prod``."""
        return self.settings.environment

    @property
    def secret_key(self) -> str:
        """The key that authenticates as this environment."""
        return self.settings.secret_key or ""

    @classmethod
    def connect(cls, client: Client, settings: Settings) -> Environment:
        """Services for ``settings`` over ``client``'s connection, in its namespace."""
        if client.namespace != settings.namespace:
            client = Client(
                client.service_client,
                namespace=settings.namespace,
                data_converter=client.data_converter,
                interceptors=client.config()["interceptors"],  # tracing and metrics
            )
        prefix = settings.task_queue_prefix
        runs = RunService(client, task_queue_prefix=prefix)
        limits = LimitService(client, runs, task_queue_prefix=prefix)
        return cls(
            settings=settings,
            runs=runs,
            batches=BatchService(client, runs, task_queue_prefix=prefix),
            queues=QueueService(client, runs, limits, task_queue_prefix=prefix),
            limits=limits,
            schedules=ScheduleService(
                client,
                task_queue_prefix=prefix,
                catalog=runs.catalog,
                default_ttl_s=settings.default_ttl_s,
            ),
            tokens=TokenService(client, task_queue_prefix=prefix, api_url=settings.api_url),
        )


@dataclass(frozen=True)
class Principal:
    """Who is calling: an environment's key (full access) or a public access token."""

    environment: Environment
    scopes: Scopes | None = None
    """None for a secret key; what a public access token may read."""


def authenticate(environments: list[Environment], token: str) -> Principal | None:
    """The principal a bearer token stands for, or None (unknown, or expired)."""
    for environment in environments:
        if hmac.compare_digest(token, environment.secret_key):
            return Principal(environment)
    for environment in environments:
        try:
            scopes = verify_public_token(token, environment.secret_key, environment.name)
        except ExpiredTokenError:
            return None
        if scopes is not None:
            return Principal(environment, Scopes.of(scopes))
    return None
