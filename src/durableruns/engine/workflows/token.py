"""The token workflow: one small Temporal workflow per wait token (workflow id = token id).

Why a workflow of its own: a token must exist before any run waits on it and after
(it can be completed before the wait, several runs may wait on it, it is retrieved
and listed on its own), and it must be completed exactly once, durably. So:

- ``complete`` is an Update: the first one wins and answers ``completed_now``; every
  later one answers the first completion. Updates on one workflow are processed one
  at a time, so two racing completions cannot both win.
- the timeout is a durable timer in the workflow: TIMED_OUT when it fires first;
- a run that waits registers itself with ``add_waiter`` (an Update made by the run's
  ``token_waiter`` activity, ``worker/token_waiter.py``, so it also works once this
  workflow has closed):
  the answer carries the completion if there is one (complete-before-wait), else
  the run is told later by a ``token_completed`` signal;
- once completed or timed out, it signals every waiter and closes; its result is
  the final record, readable with no worker (as a finished run's is).

Status, tags and the idempotency key are search attributes (listing); the callback
secret and the timeout travel in the memo, so a list needs no query per token.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durableruns.engine import search_attributes as sa
    from durableruns.engine.names import TOKEN_COMPLETED_SIGNAL, TOKEN_WORKFLOW
    from durableruns.wait_tokens import (
        CompleteAnswer,
        TokenCompletion,
        TokenInput,
        TokenRecord,
        TokenStatus,
        timeout_error,
    )


@workflow.defn(name=TOKEN_WORKFLOW)
class TokenWorkflow:
    """A wait token: WAITING until completed once or timed out; tells its waiters."""

    @workflow.init
    def __init__(self, input: TokenInput) -> None:
        self._token = TokenRecord.from_input(input)
        self._waiters: list[str] = []

    @workflow.run
    async def run(self, input: TokenInput) -> TokenRecord:
        """Wait for the completion or the timeout, tell the waiters, close."""
        token = self._token
        remaining = token.timeout_at - workflow.now()
        try:
            if remaining <= timedelta(0):
                raise TimeoutError()
            await workflow.wait_condition(
                lambda: token.status is not TokenStatus.WAITING, timeout=remaining
            )
        except TimeoutError:
            if token.status is TokenStatus.WAITING:
                token.status = TokenStatus.TIMED_OUT
                token.completed_at = workflow.now()
                token.error = timeout_error(token.timeout_at)
        workflow.upsert_search_attributes([sa.TRIGGER_TOKEN_STATUS.value_set(token.status.value)])
        completion = token.completion
        await asyncio.gather(*(self._tell(run_id, completion) for run_id in self._waiters))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return token

    @workflow.query
    def get(self) -> TokenRecord:
        """The token's current record."""
        return self._token

    @workflow.update
    def complete(self, output: Any) -> CompleteAnswer:
        """Complete the token with ``output`` unless it already ended (then the answer
        says so, with the record as it ended)."""
        token = self._token
        if token.status is not TokenStatus.WAITING:
            return CompleteAnswer(completed_now=False, token=token)
        token.status = TokenStatus.COMPLETED
        token.output = output
        token.completed_at = workflow.now()
        return CompleteAnswer(completed_now=True, token=token)

    @workflow.update
    def add_waiter(self, run_id: str) -> TokenRecord:
        """Register a waiting run: it is signaled when the token ends (or, if it has
        ended, learns it from this answer)."""
        if self._token.status is TokenStatus.WAITING and run_id not in self._waiters:
            self._waiters.append(run_id)
        return self._token

    async def _tell(self, run_id: str, completion: TokenCompletion | None) -> None:
        try:
            await workflow.get_external_workflow_handle(run_id).signal(
                TOKEN_COMPLETED_SIGNAL, completion
            )
        except Exception:  # the run ended meanwhile (canceled): nothing to tell
            workflow.logger.info("token %s: waiter %s is gone", self._token.id, run_id)
