"""``POST /realtime/v1/streams/{runId}/input/{streamId}``: send a value into a running
run's input stream, at the official client's path and shape (``streams.input(...).send``
posts ``{"data": <value>}`` and reads ``{"ok": true}``).

Answers: 200 sent (buffered in the run until its code consumes it); 422 a stream id
outside ``[A-Za-z0-9_-]`` (1-128 characters) or a body without ``data``; 413 a value over
1 MiB of JSON; 404 no such run; 400 a finished run. A public access token may send when
it holds ``write:inputStreams:<runId>`` (the ``x-trigger-jwt`` of a trigger does),
``write:inputStreams`` or a super scope: a browser "stop" button needs no secret key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from durableruns.api.deps import EnvironmentDep
from durableruns.api.errors import ApiHTTPError
from durableruns.api.scopes import PUBLIC_SEND_INPUT
from durableruns.input_models import valid_stream_id
from durableruns.service.input_streams import InputStreamService

router = APIRouter(tags=["realtime"])
SEND_INPUT_ROUTE = "/realtime/v1/streams/{run_id}/input/{stream_id}"


@router.post(SEND_INPUT_ROUTE, openapi_extra=PUBLIC_SEND_INPUT)
async def send_input(
    run_id: Annotated[str, Path(description="The run's id, ``run_…``")],
    stream_id: Annotated[str, Path(description="The input stream's id, ``[A-Za-z0-9_-]``")],
    data: Annotated[Any, Body(embed=True, description="The value (any JSON, up to 1 MiB)")],
    environment: EnvironmentDep,
) -> dict[str, bool]:
    """Send a value to a run's input stream (buffered until the run's code reads it)."""
    if not valid_stream_id(stream_id):
        raise ApiHTTPError(422, "streamId: 1-128 characters of letters, digits, '_' and '-' only")
    await InputStreamService(environment.runs.client).send(run_id, stream_id, data)
    return {"ok": True}
