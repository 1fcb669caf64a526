"""Is Temporal usable from here: reachable, and serving the namespaces we need.

The facade's ``/readyz`` asks this, so an orchestrator only routes traffic to a replica
whose Temporal connection works (a TLS or API-key problem shows up here too).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError

CHECK_TIMEOUT = timedelta(seconds=2)


async def namespace_problems(client: Client, namespaces: list[str]) -> dict[str, str]:
    """``{namespace: problem}`` for each namespace Temporal cannot describe; empty if ready."""

    async def check(namespace: str) -> tuple[str, str | None]:
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace), timeout=CHECK_TIMEOUT
            )
        except RPCError as exc:
            return namespace, f"{exc.status.name}: {exc.message}"
        except (RuntimeError, TimeoutError) as exc:
            return namespace, str(exc) or type(exc).__name__
        return namespace, None

    results = await asyncio.gather(*(check(ns) for ns in namespaces))
    return {ns: problem for ns, problem in results if problem is not None}
