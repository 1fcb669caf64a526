"""``wait-for-approval``: waits for a human (or a webhook) to approve, via a wait token.

The token's id goes into the run's metadata as ``tokenId``, so whoever approves can
find it (``runs.retrieve(run).metadata["tokenId"]``) and complete it with
``{"approved": true}``: by ``wait.complete_token``, the official client's
``wait.completeToken``, or a POST of that JSON to the token's callback URL. While it
waits the run is WAITING and holds no worker slot and no process.
"""

from typing import Any

from durableruns import TaskContext, task, wait


@task(id="wait-for-approval")
async def wait_for_approval(payload: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    """Create a token tagged ``approval``, wait on it, return the decision."""
    token = await wait.create_token(timeout=payload.get("timeout", "1h"), tags=["approval"])
    ctx.metadata.set("tokenId", token.id)
    result = await wait.for_token(token)
    completion = result.unwrap()  # timed out: WaitpointTimeoutError fails the run
    return {"approved": completion["approved"]}
