"""Preparing a namespace: the search attributes every run publishes must be registered.

A fresh Temporal namespace knows none of ``search_attributes.ALL``: a run started there
is refused ("Namespace default has no mapping defined for search attribute
TriggerTaskId"). ``durableruns setup`` registers them (:func:`register`, through the
operator service, which a self-hosted cluster and the dev server expose; idempotent:
only the missing ones are added), and prints the commands for Temporal Cloud, whose
namespaces are changed through its control plane (``tcld`` or the Cloud UI) rather
than the operator service. ``worker`` and ``api`` check at start (:func:`check`) and
name what is missing with the command that fixes it.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.search_attributes import ALL
from durableruns.engine.search_attributes import type_name as type_name

REQUIRED = ALL
"""Every search attribute a namespace needs (``engine/search_attributes.py``)."""
CALL_TIMEOUT = timedelta(seconds=10)
SETUP_COMMAND = "durableruns setup"
"""Registers what is missing; it takes the same connection flags as ``worker``/``api``."""
CLOUD_HOST_SUFFIXES = (".tmprl.cloud", ".api.temporal.io")
"""Hosts of Temporal Cloud endpoints: namespaces there are changed through ``tcld``."""


@dataclass
class NamespaceState:
    """What one namespace lacks of our search attributes."""

    namespace: str
    missing: list[SearchAttributeKey[Any]] = field(default_factory=list)
    """Not registered at all."""
    mistyped: dict[str, str] = field(default_factory=dict)
    """Registered under our name with another type: ``{name: its type}`` (a conflict
    only an operator can resolve; nothing is changed)."""
    unknown: str | None = None
    """Why the namespace's attributes could not be read (no such namespace, no
    permission for the operator service …): nothing is known about them."""

    @property
    def ready(self) -> bool:
        """Every attribute is there with its type."""
        return not (self.missing or self.mistyped or self.unknown)


async def inspect(client: Client, namespace: str) -> NamespaceState:
    """Which of our search attributes ``namespace`` lacks (read through the operator
    service: one call)."""
    state = NamespaceState(namespace)
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace), timeout=CALL_TIMEOUT
        )
    except RPCError as exc:
        state.unknown = f"{exc.status.name}: {exc.message}"
        return state
    except (RuntimeError, TimeoutError) as exc:
        state.unknown = str(exc) or type(exc).__name__
        return state
    registered = dict(listed.custom_attributes)
    for key in ALL:
        found = registered.get(key.name)
        if found is None:
            state.missing.append(key)
        elif int(found) != int(key.indexed_value_type):
            state.mistyped[key.name] = _type_label(found)
    return state


async def check(client: Client, namespaces: Sequence[str]) -> list[NamespaceState]:
    """The state of each namespace (concurrently)."""
    return list(await asyncio.gather(*(inspect(client, ns) for ns in namespaces)))


async def register(client: Client, namespace: str) -> tuple[list[str], NamespaceState]:
    """Add the attributes ``namespace`` lacks; returns the names added and the state
    after. Registering again adds nothing (another ``setup`` racing ours is fine)."""
    before = await inspect(client, namespace)
    if before.unknown or not before.missing:
        return [], before
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={key.name: _proto_type(key) for key in before.missing},
            ),
            timeout=CALL_TIMEOUT,
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            before.unknown = f"{exc.status.name}: {exc.message}"
            return [], before
    after = await inspect(client, namespace)
    added = [key.name for key in before.missing if key not in after.missing]
    return added, after


def is_cloud(address: str) -> bool:
    """Whether ``address`` (host:port) is a Temporal Cloud endpoint."""
    host = address.rsplit(":", 1)[0]
    return host.endswith(CLOUD_HOST_SUFFIXES)


def cloud_commands(namespace: str, keys: Sequence[SearchAttributeKey[Any]] = ALL) -> list[str]:
    """The ``tcld`` commands that register ``keys`` in a Temporal Cloud namespace (the
    Cloud UI's namespace page does the same, one attribute at a time)."""
    return [
        "tcld namespace search-attributes add --namespace "
        f"{shlex.quote(namespace)} --search-attribute {key.name}={type_name(key)}"
        for key in keys
    ]


def operator_commands(namespace: str, keys: Sequence[SearchAttributeKey[Any]] = ALL) -> list[str]:
    """The equivalent ``temporal operator`` commands for a self-hosted cluster."""
    return [
        f"temporal operator search-attribute create --namespace {shlex.quote(namespace)} "
        f"--name {key.name} --type {type_name(key)}"
        for key in keys
    ]


def describe_problems(states: Sequence[NamespaceState], address: str) -> str:
    """What is missing where, and the command that fixes it, for an ``Error:`` line."""
    parts = []
    for state in states:
        if state.missing:
            names = ", ".join(f"{k.name} ({type_name(k)})" for k in state.missing)
            parts.append(f"namespace {state.namespace} lacks the search attributes {names}")
        for name, found in state.mistyped.items():
            parts.append(
                f"namespace {state.namespace} has the search attribute {name} as {found}, "
                "not the type durableruns needs (remove it, then run setup)"
            )
    if is_cloud(address):
        fix = (
            f"register them in the Temporal Cloud UI or with the commands `{SETUP_COMMAND} "
            "--print-commands` prints (tcld)"
        )
    else:
        fix = f"run `{SETUP_COMMAND}` with the same connection flags to register them"
    return "; ".join(parts) + f": {fix}"


def _proto_type(key: SearchAttributeKey[Any]) -> IndexedValueType.ValueType:
    return IndexedValueType.ValueType(int(key.indexed_value_type))


def _type_label(value: int) -> str:
    name: str = IndexedValueType.Name(value)  # type: ignore[arg-type]
    return name.removeprefix("INDEXED_VALUE_TYPE_").title().replace("_", "")
