"""A Temporal external-storage driver that keeps payloads as files in a directory.

Why it exists: temporalio 1.35 ships ``ExternalStorage`` and an S3 driver, but no
driver for the local filesystem, and ``durableruns dev`` must offload large payloads
without any service besides Temporal. Everything that runs on one machine (the dev
stack, tests) shares the state directory, so files there are enough.

Each payload is written once, named by the SHA-256 of its serialized bytes (content
addressed, like the S3 driver's keys, so the same value stored twice is one file), and
checked against that hash when read back. Writes go through a temporary file and an
atomic rename, so a reader never sees half a payload.

A payload is filed under the workflow it belongs to, ``runs/<workflow id>/`` (the run's
payload, its attempts' inputs and outputs, its record), as the S3 driver's keys name
theirs, so it can be deleted once that workflow's history is gone:
``durableruns sweep-payloads`` (service/payload_sweep.py) removes the directories of
workflows Temporal no longer has (namespace retention). A payload with no workflow to
file it under, and those written before this layout, stay at the top level, content
addressed, and are never deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    StorageDriver,
    StorageDriverActivityInfo,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
    StorageDriverWorkflowInfo,
)

DRIVER_NAME = "durableruns.file"
RUNS_DIR = "runs"
"""Where payloads filed under their workflow live: ``runs/<workflow id>/<sha256>``."""
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$")
"""Workflow ids that are safe as a directory name (ours are ``run_…``, ``batch_…`` …)."""


def payload_owner(
    target: StorageDriverWorkflowInfo | StorageDriverActivityInfo | None,
) -> str | None:
    """The workflow id a payload is filed under: the target workflow's, or for an
    activity's the workflow running it; None when there is none (or it is no safe name)."""
    workflow_id = None
    if isinstance(target, StorageDriverWorkflowInfo):
        workflow_id = target.id
    elif isinstance(target, StorageDriverActivityInfo) and activity.in_activity():
        workflow_id = activity.info().workflow_id
    return workflow_id if workflow_id and _SAFE_ID.match(workflow_id) else None


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
        owner = payload_owner(context.target)
        return await asyncio.to_thread(self._store_all, data, owner)

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        """Read the claimed payloads back, checking their hashes."""
        wanted = [(claim.claim_data["sha256"], claim.claim_data.get("run")) for claim in claims]
        blobs = await asyncio.to_thread(lambda: [self._read(d, run) for d, run in wanted])
        payloads = []
        for blob in blobs:
            payload = Payload()
            payload.ParseFromString(blob)
            payloads.append(payload)
        return payloads

    def _store_all(self, blobs: list[bytes], owner: str | None) -> list[StorageDriverClaim]:
        claims = []
        for blob in blobs:
            digest = hashlib.sha256(blob).hexdigest()
            path = self._path(digest, owner)
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
                with os.fdopen(handle, "wb") as file:
                    file.write(blob)
                os.replace(temporary, path)
            claim = {"sha256": digest} if owner is None else {"sha256": digest, "run": owner}
            claims.append(StorageDriverClaim(claim_data=claim))
        return claims

    def _read(self, digest: str, owner: str | None) -> bytes:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a payload digest: {digest!r}")
        if owner is not None and not _SAFE_ID.match(owner):
            raise ValueError(f"not a workflow id: {owner!r}")
        blob = self._path(digest, owner).read_bytes()
        if hashlib.sha256(blob).hexdigest() != digest:
            raise ValueError(f"payload file {digest} is corrupt (its hash does not match)")
        return blob

    def _path(self, digest: str, owner: str | None = None) -> Path:
        if owner is not None:
            return self._directory / RUNS_DIR / owner / digest
        return self._directory / digest[:2] / digest
