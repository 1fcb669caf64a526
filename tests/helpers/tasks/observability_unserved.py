"""A task that is deployed (registered in the catalog) but that no worker serves."""

from __future__ import annotations

from typing import Any

from durableruns import task


@task(id="obs-unserved")
async def obs_unserved(payload: Any) -> str:
    return "never runs in the tests"
