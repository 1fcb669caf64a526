"""A new user's script: ``async for run in runs.subscribe_to_run(h)`` (and the tag and
batch subscriptions, left with ``break``) inside ``asyncio.run``, in its own process.
It must exit 0 with nothing on stderr: no "Task exception was never retrieved", no
"aclose(): asynchronous generator is already running"."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from durableruns.api import create_app
from tests.api.test_realtime import EXAMPLES, serving
from tests.helpers import ROOT, SECRET_KEY, Stack, open_stack

FOLLOW_TO_THE_END = textwrap.dedent(
    """
    import asyncio, sys
    from durableruns.sdk import configure, runs, tasks

    async def main() -> None:
        configure(base_url=sys.argv[1], secret_key=sys.argv[2])
        handle = await tasks.trigger("hello-world", {"name": "exit"}, tags=[sys.argv[3]])
        async for run in runs.subscribe_to_run(handle):
            print(run.status)

    asyncio.run(main())
    """
)
LEAVE_WITH_BREAK = textwrap.dedent(
    """
    import asyncio, sys
    from durableruns.sdk import batch, configure, runs

    async def main() -> None:
        configure(base_url=sys.argv[1], secret_key=sys.argv[2])
        async for run in runs.subscribe_to_runs_with_tag(sys.argv[3]):
            print("tagged", run.status)
            break
        handle = await batch.trigger("hello-world", [{"name": "b"}])
        async for run in runs.subscribe_to_batch(handle):
            print("batch", run.status)
            break
        async for run in runs.subscribe_to_run(handle.runs[0]):
            print("run", run.status)
            break

    asyncio.run(main())
    """
)


async def run_script(script: str, url: str, tag: str) -> list[str]:
    """Run ``script`` as a user would; its stdout words, after checking a clean exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        url,
        SECRET_KEY,
        tag,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert stderr.decode() == ""
    return stdout.decode().split()


@pytest.fixture(scope="module")
async def served(client: Client) -> AsyncIterator[tuple[Stack, str]]:
    async with (
        open_stack(client, EXAMPLES) as stack,
        serving(create_app(stack.settings, client=client)) as url,
    ):
        yield stack, url


@pytest.mark.parametrize("attempt", range(3))  # the unclosed generator showed every time
async def test_following_a_run_to_its_end_exits_cleanly(
    served: tuple[Stack, str], attempt: int
) -> None:
    _, url = served
    words = await run_script(FOLLOW_TO_THE_END, url, f"clean-exit-{attempt}")
    assert words[-1] == "COMPLETED", words


async def test_leaving_subscriptions_with_break_exits_cleanly(served: tuple[Stack, str]) -> None:
    _, url = served
    words = await run_script(LEAVE_WITH_BREAK, url, "clean-exit-0")
    assert words[:1] == ["tagged"] and "batch" in words and "run" in words, words
