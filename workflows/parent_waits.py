"""``parent-waits``: greets every name through a child ``hello-world`` run each."""

from pydantic import BaseModel

from activities.hello_world import Hello, hello_world
from durableruns import task


class Names(BaseModel):
    names: list[str]


@task(id="parent-waits")
async def parent_waits(payload: Names) -> dict[str, list[str]]:
    """batch_trigger_and_wait one child per name; the messages come back in order."""
    results = await hello_world.batch_trigger_and_wait([Hello(name=n) for n in payload.names])
    return {"messages": [r.unwrap().message for r in results]}
