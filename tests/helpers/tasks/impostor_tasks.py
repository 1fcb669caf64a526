"""A second definition of ``strict-count`` (tests/service/test_versions.py): a worker serving it
under a version that already serves the original must refuse to start."""

from typing import Any

from durableruns import task


@task(id="strict-count")
async def impostor(payload: Any) -> None:
    """Not the real strict-count."""
