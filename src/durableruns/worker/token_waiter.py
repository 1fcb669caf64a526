"""The activity a run uses to register as a waiter of a wait token (a workflow cannot make
Updates itself): see ``engine/workflows/token.py`` for the token's side."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.names import TOKEN_WAITER_ACTIVITY
from durableruns.engine.workflows.token import TokenWorkflow
from durableruns.models import RunError
from durableruns.wait_tokens import TokenCompletion, TokenRecord, TokenWaiter, WaiterAnswer


@activity.defn(name=TOKEN_WAITER_ACTIVITY)
async def token_waiter(waiter: TokenWaiter) -> WaiterAnswer:
    """Register a run as a waiter of a token (run by the run's workflow, which cannot
    make Updates itself): the completion now if the token has ended, else nothing and
    the token signals the run later."""
    # Untyped handle, typed Update: mypy (2.4) loses TokenWorkflow.run's type here
    # depending on the order it checks the package's modules in.
    handle = activity.client().get_workflow_handle(waiter.token_id, result_type=TokenRecord)
    try:
        record = await handle.execute_update(TokenWorkflow.add_waiter, waiter.run_id)
        return WaiterAnswer(completion=record.completion)
    except (RPCError, WorkflowUpdateFailedError):
        pass  # closed already (or gone): read how it ended
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise
        return WaiterAnswer(completion=_ended(waiter.token_id, "TokenNotFound", "No such token"))
    if description.status is WorkflowExecutionStatus.COMPLETED:
        ended = await handle.result()
        return WaiterAnswer(completion=ended.completion)
    if description.status is WorkflowExecutionStatus.RUNNING:
        raise RuntimeError(f"token {waiter.token_id} did not take the waiter; retrying")
    status = description.status.name.lower() if description.status else "closed"
    return WaiterAnswer(completion=_ended(waiter.token_id, "TokenEnded", f"The token was {status}"))


def _ended(token_id: str, name: str, message: str) -> TokenCompletion:
    return TokenCompletion(token_id=token_id, ok=False, error=RunError(name=name, message=message))
