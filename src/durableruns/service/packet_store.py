r"""Payloads the official client uploads before triggering ("application/store" packets).

``@trigger.dev/sdk`` (4.x) offloads a trigger payload of 128 KiB or more itself: it asks
``PUT /api/v2/packets/{filename}`` for an upload URL, PUTs the serialized payload there,
and triggers with ``payloadType: "application/store"`` and the returned storage path as
the payload. The facade resolves that path back into the payload at trigger time, and
from there the payload goes the way of every other one (Temporal's External Storage
keeps it out of history). Packets live beside the payload storage: files under the
state directory, or the S3 bucket (key ``packets/<path>``) so that every facade of a
deployment reads what any of them accepted.

A stored packet is ``<content type>\\n<data>``: the type the client uploaded it with
(``application/super+json`` …) is what decodes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from durableruns.engine.payload_storage import LazyS3Client
from durableruns.settings import Settings


class PacketNotFoundError(LookupError):
    """No packet was uploaded at this path."""


class PacketStore(ABC):
    """Uploaded packets by storage path."""

    async def put(self, path: str, content_type: str, data: bytes) -> None:
        """Keep ``data`` (uploaded as ``content_type``) at ``path``."""
        await self._write(path, content_type.encode() + b"\n" + data)

    async def get(self, path: str) -> tuple[str, bytes]:
        """The content type and data at ``path``; PacketNotFoundError if none."""
        blob = await self._read(path)
        content_type, _, data = blob.partition(b"\n")
        return content_type.decode(), data

    @abstractmethod
    async def _write(self, path: str, blob: bytes) -> None: ...

    @abstractmethod
    async def _read(self, path: str) -> bytes: ...


class FilePacketStore(PacketStore):
    """Packets as files named by the SHA-256 of their path."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def _file(self, path: str) -> Path:
        return self._directory / hashlib.sha256(path.encode()).hexdigest()

    async def _write(self, path: str, blob: bytes) -> None:
        def write() -> None:
            self._directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self._directory, prefix=".partial-")
            with os.fdopen(handle, "wb") as file:
                file.write(blob)
            os.replace(temporary, self._file(path))

        await asyncio.to_thread(write)

    async def _read(self, path: str) -> bytes:
        try:
            return await asyncio.to_thread(self._file(path).read_bytes)
        except FileNotFoundError:
            raise PacketNotFoundError(path) from None


class S3PacketStore(PacketStore):
    """Packets as objects ``packets/<path>`` in the payload bucket."""

    def __init__(self, client: LazyS3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    async def _write(self, path: str, blob: bytes) -> None:
        await self._client.put_object(bucket=self._bucket, key=f"packets/{path}", data=blob)

    async def _read(self, path: str) -> bytes:
        key = f"packets/{path}"
        if not await self._client.object_exists(bucket=self._bucket, key=key):
            raise PacketNotFoundError(path)
        return await self._client.get_object(bucket=self._bucket, key=key)


def packet_store(settings: Settings) -> PacketStore:
    """The packet store beside ``settings``' payload storage (files unless it is S3)."""
    if settings.payload_storage == "s3" and settings.s3_bucket:
        client = LazyS3Client(endpoint_url=settings.s3_endpoint_url, region=settings.s3_region)
        return S3PacketStore(client, settings.s3_bucket)
    return FilePacketStore(settings.state_dir / "packets")
