"""Sending data into a running run's input stream: one ``input_sent`` signal to the
run's workflow, which buffers the value until the task's code consumes it
(:mod:`durableruns.input_models`).

Checked before anything reaches Temporal: the stream id (``[A-Za-z0-9_-]``, 1-128
characters), the value's shape and size (at most 1 MiB of JSON, as Trigger.dev). A
signal to a finished run is refused by Temporal; only then is the run described, to
tell an unknown run (404) from a finished one (400): a send to a live run costs one
signal and nothing else. A stream id the run's code never listens on is accepted and
buffered like any other (the run cannot know which streams its code will read).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.workflows.run import RunWorkflow
from durableruns.errors import EngineUnavailableError, RunNotFoundError, RunStateError
from durableruns.ids import is_run_id
from durableruns.input_models import MAX_INPUT_BYTES, InputSent, check_stream_id
from durableruns.limits import check_value

FINISHED = "Run {run_id} has finished: input streams take data only while a run is running"


class InputStreamService:
    """Send values to runs' input streams."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def send(self, run_id: str, stream_id: str, data: Any) -> None:
        """Send ``data`` to stream ``stream_id`` of run ``run_id``.

        Raises InvalidInputError (bad stream id), ValueTooLargeError (over 1 MiB, 413),
        RunNotFoundError (no such run), RunStateError (the run has finished).
        """
        check_stream_id(stream_id)
        size = check_value(data, "data", MAX_INPUT_BYTES)
        if not is_run_id(run_id):
            raise RunNotFoundError(run_id)
        sent = InputSent(stream_id=stream_id, value=data, size=size, sent_at=datetime.now(UTC))
        # Untyped handle, typed signal: mypy (2.4) loses RunWorkflow.run's type here
        # depending on the order it checks the package's modules in.
        handle = self._client.get_workflow_handle(run_id)
        try:
            await handle.signal(RunWorkflow.input_sent, sent)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise EngineUnavailableError(f"Could not send: {exc.message}") from exc
            await self._refusal(run_id)

    async def _refusal(self, run_id: str) -> None:
        """Why the signal was refused: no such run, or it has finished."""
        try:
            await self._client.get_workflow_handle(run_id).describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise RunNotFoundError(run_id) from exc
            raise EngineUnavailableError(f"Could not send: {exc.message}") from exc
        raise RunStateError(FINISHED.format(run_id=run_id))
