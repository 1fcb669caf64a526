"""``/api/v2/packets``: the upload handshake of payloads the official client offloads.

``@trigger.dev/sdk`` 4.x uploads any trigger payload of 128 KiB or more before the
trigger: ``PUT /api/v2/packets/{filename}`` answers ``{presignedUrl, storagePath}``; the
client PUTs the packet to ``presignedUrl`` (with no credentials, as to an object store)
and triggers with ``payloadType: "application/store"`` and ``payload: storagePath``.
Here the "presigned" URL is our own upload route with a short-lived token signed by
the environment's key, naming the one path it may write. :func:`resolve_packet` turns
a stored packet back into the payload it holds at trigger, batch and replay.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Path, Request

from durableruns.api.deps import EnvironmentDep
from durableruns.api.environments import Environment
from durableruns.api.errors import ApiHTTPError
from durableruns.api.tokens import signing_key
from durableruns.errors import InvalidInputError
from durableruns.limits import MAX_PAYLOAD_BYTES, ValueTooLargeError
from durableruns.service.packet_store import PacketNotFoundError, PacketStore
from durableruns.wire import WireModel

router = APIRouter(tags=["packets"])
upload_router = APIRouter(tags=["packets"])
"""The upload itself: authorized by the token in its URL, not by a secret key."""

STORE = "application/store"
UPLOAD_TTL_S = 600
MAX_UPLOAD_BYTES = 2 * MAX_PAYLOAD_BYTES
"""Uploads up to twice the payload limit are kept, so a payload just over the limit is
refused by the trigger with a 413 naming the limit (which the client reports), not by
a failed upload."""


class PacketUploadResponse(WireModel):
    """Where to PUT the packet, and the path to trigger with."""

    presigned_url: str
    storage_path: str


def get_packet_store(request: Request) -> PacketStore:
    """The app's packet store (official-client uploads)."""
    store: PacketStore = request.app.state.packet_store
    return store


@router.put(
    "/api/v2/packets/{filename:path}",
    response_model=PacketUploadResponse,
)
async def create_upload_url(
    filename: Annotated[str, Path(min_length=1, max_length=512)],
    environment: EnvironmentDep,
) -> PacketUploadResponse:
    """An upload URL for one packet (valid for 10 minutes) and its storage path."""
    if "\x00" in filename or ".." in filename.split("/"):
        raise ApiHTTPError(400, "filename: not a packet file name")
    storage_path = f"{environment.name}/{filename}"
    claims = {
        "sub": environment.name,
        "scopes": [f"write:packet:{storage_path}"],
        "exp": int(time.time()) + UPLOAD_TTL_S,
    }
    token = jwt.encode(claims, signing_key(environment.secret_key), algorithm="HS256")
    base = environment.settings.api_url.rstrip("/")
    return PacketUploadResponse(
        presigned_url=f"{base}/api/v1/packets/upload/{token}", storage_path=storage_path
    )


@upload_router.put("/api/v1/packets/upload/{token}", status_code=200)
async def upload_packet(
    token: Annotated[str, Path(max_length=4096)], request: Request
) -> dict[str, bool]:
    """Keep the packet the token allows (at most twice the payload limit)."""
    path = _allowed_path(request.app.state.environments, token)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValueTooLargeError("packet", len(data), MAX_UPLOAD_BYTES)
    content_type = request.headers.get("content-type", "application/json")
    await get_packet_store(request).put(path, content_type, bytes(data))
    return {"ok": True}


def _allowed_path(environments: list[Environment], token: str) -> str:
    for environment in environments:
        try:
            claims = jwt.decode(token, signing_key(environment.secret_key), algorithms=["HS256"])
        except jwt.PyJWTError:
            continue
        for scope in claims.get("scopes", []):
            path = str(scope).removeprefix("write:packet:")
            if path != scope and path.startswith(f"{environment.name}/"):
                return path
    raise ApiHTTPError(403, "token: not a valid packet upload URL (or it expired)")


async def resolve_packet(
    request: Request, environment: Environment, data: Any, packet_type: str | None
) -> tuple[Any, str | None]:
    """``(data, type)`` as given, or for an ``application/store`` packet the packet
    uploaded at that path (in the caller's environment) and the type it was sent as."""
    if packet_type != STORE:
        return data, packet_type
    if not isinstance(data, str) or not data.startswith(f"{environment.name}/"):
        raise InvalidInputError("payload", "not a packet uploaded to this environment")
    try:
        content_type, blob = await get_packet_store(request).get(data)
    except PacketNotFoundError:
        raise InvalidInputError("payload", f"no packet was uploaded at {data!r}") from None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("payload", "the uploaded packet is not UTF-8") from None
    return text, content_type.split(";")[0].strip() or None
