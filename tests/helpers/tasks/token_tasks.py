"""Tasks for the wait-token tests."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from durableruns import TaskContext, task, wait


class Decision(BaseModel):
    approved: bool


@task(id="waits-on-token")
async def waits_on_token(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Wait on the token ``token_id``; report how it ended."""
    result = await wait.for_token(payload["token_id"])
    return {
        "ok": result.ok,
        "output": result.output,
        "error": result.error.model_dump() if result.error else None,
        "attempt": ctx.attempt.number,
    }


@task(id="token-roundtrip")
async def token_roundtrip(payload: dict[str, Any]) -> dict[str, Any]:
    """Every token call from task code: create (twice: once keyed), complete, retrieve,
    list, then wait on the completed token (answered at once) with a model. Each
    execution appends what it saw to ``payload["log"]`` (the code re-runs after the
    wait suspends it)."""
    tag = payload["tag"]
    token = await wait.create_token(timeout="5m", tags=[tag])
    keyed = await wait.create_token(idempotency_key=f"{tag}-key", tags=[tag])
    again = await wait.create_token(idempotency_key=f"{tag}-key", tags=[tag])
    first = await wait.complete_token(token, {"approved": True})
    second = await wait.complete_token(token, {"approved": False})
    retrieved = await wait.retrieve_token(token.id)
    listed = [t.id async for t in wait.list_tokens(tags=[tag], limit=1)]
    seen = {
        "keyed": [keyed.id, keyed.is_cached, again.id, again.is_cached],
        "completions": [first.completed_now, second.completed_now, second.output],
    }
    with open(payload["log"], "a") as log:
        log.write(json.dumps(seen) + "\n")
    result = await wait.for_token(token, model=Decision)
    return {
        "token": token.id,
        "url": token.url,
        "keyed": [keyed.id, keyed.is_cached, again.id, again.is_cached],
        "completions": [first.completed_now, second.completed_now, second.output],
        "status": retrieved.status,
        "listed": listed,
        "approved": result.unwrap().approved,
    }
