"""Large payloads and outputs kept outside Temporal's history, by Temporal's own
External Storage (``temporalio.converter.ExternalStorage``).

A value whose serialized payload reaches ``settings.payload_storage_threshold`` (256 KiB
by default) is written to the storage and history holds a small reference to it; the
SDK resolves references wherever it decodes (worker, client, queries, results). So a
run's history never approaches Temporal's 2 MiB blob limit however large its payload
(up to 3 MiB) and output (up to 10 MiB) are. Drivers:

- ``file``: :class:`~durableruns.engine.file_storage.FileStorageDriver` under the state
  directory, the default of ``durableruns dev`` (one machine);
- ``s3``: ``temporalio.contrib.aws.s3driver`` on ``s3_bucket`` (any S3-compatible
  endpoint), for deployments where workers and the facade run on several machines.

Both drivers are always registered for retrieval when configured, so a reference
written by one is readable by every process configured with it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from temporalio.contrib.aws.s3driver import S3StorageDriver, S3StorageDriverClient
from temporalio.converter import ExternalStorage, StorageDriver

from durableruns.engine.file_storage import FileStorageDriver
from durableruns.settings import Settings

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client


def external_storage(settings: Settings) -> ExternalStorage | None:
    """The storage ``settings`` choose, or None for ``payload_storage = "none"``."""
    driver: StorageDriver
    if settings.payload_storage == "none":
        return None
    if settings.payload_storage == "file":
        driver = FileStorageDriver(settings.payload_storage_dir or settings.state_dir / "payloads")
    else:
        if not settings.s3_bucket:
            raise ValueError("DURABLERUNS_PAYLOAD_STORAGE=s3 needs DURABLERUNS_S3_BUCKET")
        driver = S3StorageDriver(
            client=LazyS3Client(endpoint_url=settings.s3_endpoint_url, region=settings.s3_region),
            bucket=settings.s3_bucket,
        )
    return ExternalStorage(
        drivers=[driver], payload_size_threshold=settings.payload_storage_threshold
    )


class LazyS3Client(S3StorageDriverClient):
    """temporalio's aioboto3 adapter needs an open aioboto3 client, which only exists
    inside ``async with``; a data converter is built before any loop runs. This opens one
    on first use (credentials from the usual AWS environment and files) and keeps it
    for the life of the process."""

    def __init__(self, *, endpoint_url: str | None, region: str | None) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._client: S3Client | None = None
        self._stack = contextlib.AsyncExitStack()

    async def _open(self) -> S3Client:
        if self._client is None:
            import aioboto3  # imported here: only s3 storage needs it

            session = aioboto3.Session()
            options: dict[str, Any] = {"endpoint_url": self._endpoint_url}
            if self._region:
                options["region_name"] = self._region
            client: S3Client = await self._stack.enter_async_context(
                session.client("s3", **options)
            )
            self._client = client
        return self._client

    async def aclose(self) -> None:
        """Close the client (tests; a process may simply exit)."""
        self._client = None
        await self._stack.aclose()

    def describe(self) -> Mapping[str, str]:
        """Where the client points (for logs)."""
        return {"endpoint": self._endpoint_url or "aws", "region": self._region or "default"}

    async def object_exists(self, *, bucket: str, key: str) -> bool:
        """Whether ``key`` exists in ``bucket``."""
        from botocore.exceptions import ClientError

        client = await self._open()
        try:
            await client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        return True

    async def put_object(self, *, bucket: str, key: str, data: bytes) -> None:
        """Store ``data`` at ``key``."""
        client = await self._open()
        await client.put_object(Bucket=bucket, Key=key, Body=data)

    async def get_object(self, *, bucket: str, key: str) -> bytes:
        """The bytes at ``key``."""
        client = await self._open()
        response = await client.get_object(Bucket=bucket, Key=key)
        body: bytes = await response["Body"].read()
        return body
