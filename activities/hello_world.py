"""``hello-world``: the smallest useful task."""

from pydantic import BaseModel

from durableruns import TaskContext, task


class Hello(BaseModel):
    name: str


class Greeting(BaseModel):
    message: str


@task(id="hello-world", retry={"max_attempts": 3, "min_timeout_ms": 100})
async def hello_world(payload: Hello, ctx: TaskContext) -> Greeting:
    """Greets ``payload.name``."""
    return Greeting(message=f"Hello, {payload.name}!")
