"""Sending to a run's input stream from a backend: ``POST
/realtime/v1/streams/{runId}/input/{streamId}`` with ``{"data": …}``, the official
client's path (``durableruns.streams.input(...).send`` calls this outside task code)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from durableruns.input_models import check_stream_id
from durableruns.sdk.client import request


async def send_input(run_id: str, stream_id: str, data: Any) -> None:
    """Send ``data`` (plain JSON) to stream ``stream_id`` of run ``run_id``.

    Raises InvalidInputError for a bad stream id (nothing sent), and the facade's
    answers as ApiError subclasses: NotFoundError (no such run), BadRequestError (the
    run has finished), PayloadTooLargeError (over 1 MiB).
    """
    check_stream_id(stream_id)
    path = f"/realtime/v1/streams/{quote(run_id, safe='')}/input/{stream_id}"
    await request("POST", path, json={"data": data})
