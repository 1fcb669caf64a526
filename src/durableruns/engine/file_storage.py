"""A Temporal external-storage driver that keeps payloads as files in a directory.

Why it exists: temporalio 1.35 ships ``ExternalStorage`` and an S3 driver, but no
driver for the local filesystem, and ``durableruns dev`` must offload large payloads
without any service besides Temporal. Everything that runs on one machine (the dev
stack, tests) shares the state directory, so files there are enough.

Each payload is written once, named by the SHA-256 of its serialized bytes (content
addressed, like the S3 driver's keys, so the same value stored twice is one file), and
checked against that hash when read back. Writes go through a temporary file and an
atomic rename, so a reader never sees half a payload. Files are never deleted: the
directory grows with the runs, like the dev server's database (``durableruns dev
--in-memory`` forgets both).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)

DRIVER_NAME = "durableruns.file"


class FileStorageDriver(StorageDriver):
    """Stores each payload as ``<directory>/<sha256[:2]>/<sha256>``."""

    def __init__(self, directory: Path, name: str = DRIVER_NAME) -> None:
        self._directory = directory
        self._name = name

    def name(self) -> str:
        """The driver's name, recorded in each claim."""
        return self._name

    def type(self) -> str:
        """The driver's type."""
        return "durableruns.file"

    @property
    def directory(self) -> Path:
        """Where the payload files are."""
        return self._directory

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        """Write the payloads' files (content-addressed); their claims."""
        data = [payload.SerializeToString() for payload in payloads]
        return await asyncio.to_thread(self._store_all, data)

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        """Read the claimed payloads back, checking their hashes."""
        digests = [claim.claim_data["sha256"] for claim in claims]
        blobs = await asyncio.to_thread(lambda: [self._read(d) for d in digests])
        payloads = []
        for blob in blobs:
            payload = Payload()
            payload.ParseFromString(blob)
            payloads.append(payload)
        return payloads

    def _store_all(self, blobs: list[bytes]) -> list[StorageDriverClaim]:
        claims = []
        for blob in blobs:
            digest = hashlib.sha256(blob).hexdigest()
            path = self._path(digest)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
                with os.fdopen(handle, "wb") as file:
                    file.write(blob)
                os.replace(temporary, path)
            claims.append(StorageDriverClaim(claim_data={"sha256": digest}))
        return claims

    def _read(self, digest: str) -> bytes:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a payload digest: {digest!r}")
        blob = self._path(digest).read_bytes()
        if hashlib.sha256(blob).hexdigest() != digest:
            raise ValueError(f"payload file {digest} is corrupt (its hash does not match)")
        return blob

    def _path(self, digest: str) -> Path:
        return self._directory / digest[:2] / digest
