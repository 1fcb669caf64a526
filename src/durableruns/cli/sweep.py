"""``durableruns sweep-payloads``: delete stored payloads whose run's history is gone
(service/payload_sweep.py); meant to run on a schedule (cron, a systemd timer)."""

from __future__ import annotations

from datetime import timedelta

from durableruns.cli.serve import connect, say
from durableruns.errors import DurableRunsError
from durableruns.service.payload_sweep import sweep_file_payloads
from durableruns.settings import Settings


async def run_sweep(settings: Settings, *, grace_hours: float, dry_run: bool) -> None:
    """Sweep the file storage of ``settings``; S3 storage has a lifecycle rule instead."""
    if settings.payload_storage != "file":
        raise DurableRunsError(
            f"sweep-payloads sweeps the file storage; this one is {settings.payload_storage!r} "
            "(for S3, expire objects with a bucket lifecycle rule: see docs/runs-and-the-wire.md)"
        )
    directory = settings.payload_storage_dir or settings.state_dir / "payloads"
    client = await connect(settings)
    result = await sweep_file_payloads(
        client,
        directory,
        settings.served_namespaces,
        grace=timedelta(hours=grace_hours),
        dry_run=dry_run,
    )
    verb = "would remove" if dry_run else "removed"
    say(
        f"{directory}: {verb} the payloads of {result.removed} runs "
        f"({result.removed_bytes / 1e6:.1f} MB) whose history is gone; kept {result.kept} "
        f"(history retained), {result.recent} (changed within {grace_hours:g} h), "
        f"{result.unknown} (Temporal could not say)"
    )
