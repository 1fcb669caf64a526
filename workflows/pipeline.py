"""``pipeline``: a child run, a durable one-second wait, another child run."""

from typing import Any

from activities.hello_world import Hello, hello_world
from activities.sleepy import Nap, sleepy
from durableruns import task, wait


@task(id="pipeline")
async def pipeline(payload: dict[str, Any]) -> dict[str, Any]:
    """trigger_and_wait, wait.for_ 1 s, trigger_and_wait; returns both outputs."""
    greeting = (
        await hello_world.trigger_and_wait(Hello(name=payload.get("name", "pipeline")))
    ).unwrap()
    await wait.for_(seconds=1)
    nap = (await sleepy.trigger_and_wait(Nap(seconds=payload.get("seconds", 0.1)))).unwrap()
    return {"greeting": greeting.message, "nap": nap}
