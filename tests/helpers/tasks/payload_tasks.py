"""Tasks for the payload-size tests (tests/api/test_payloads.py)."""

from __future__ import annotations

from typing import Any

from durableruns import task, tasks


@task(id="payload-echo")
async def payload_echo(payload: Any) -> Any:
    """Returns its payload: a run whose record holds the value twice."""
    return payload


@task(id="payload-sized-output")
async def payload_sized_output(payload: dict[str, int]) -> str:
    """Returns a string of ``bytes`` ASCII characters."""
    return "o" * payload["bytes"]


@task(id="payload-parent")
async def payload_parent(payload: dict[str, int]) -> dict[str, Any]:
    """trigger_and_wait an echo of ``bytes`` characters; answers what came back."""
    result = await tasks.trigger_and_wait("payload-echo", "p" * payload["bytes"])
    output = result.unwrap()
    return {"status": result.status.value, "length": len(output), "intact": set(output) == {"p"}}


@task(id="payload-big-child")
async def payload_big_child(payload: dict[str, Any]) -> str:
    """Triggers a child (``wait``: and waits) with a payload of ``bytes`` characters."""
    child = "c" * payload["bytes"]
    if payload.get("wait"):
        await tasks.trigger_and_wait("payload-echo", child)
    else:
        await tasks.trigger("payload-echo", child)
    return "triggered"


@task(id="payload-huge-error", retry={"max_attempts": 2, "min_timeout_ms": 10})
async def payload_huge_error(payload: dict[str, int]) -> None:
    """Raises an error whose message is ``bytes`` characters long."""
    raise ValueError("E" * payload["bytes"])
