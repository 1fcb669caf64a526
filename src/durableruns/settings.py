"""Configuration, read from ``DURABLERUNS_*`` environment variables or given in code.

Nothing builds a Settings object at import time: the CLI, the facade and the worker
are handed one, so tests can run several stacks side by side.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY_FILE = "dev-secret-key"
DEV_DEFAULT_TTL_S = 600.0
"""Runs in the dev environment expire after 10 minutes queued, as in Trigger.dev."""


class Settings(BaseSettings):
    """Where Temporal is, how the facade listens, and the environment's secret key."""

    model_config = SettingsConfigDict(env_prefix="DURABLERUNS_", extra="ignore")

    temporal_address: str = "127.0.0.1:7233"
    """host:port of the Temporal frontend. Given (flag or variable), it wins over
    ``TEMPORAL_ADDRESS`` and the temporal.toml profile; not given, they decide."""
    namespace: str = "default"
    """The Temporal namespace that holds this environment's runs (same precedence)."""
    temporal_profile: str | None = None
    """The temporal.toml profile to read (else ``TEMPORAL_PROFILE``, else ``default``)."""
    temporal_config_file: Path | None = None
    """The temporal.toml to read (else ``TEMPORAL_CONFIG_FILE``, else Temporal's default)."""
    temporal_api_key: str | None = None
    """API key sent as ``authorization: Bearer`` (else ``TEMPORAL_API_KEY``); turns TLS on."""
    temporal_tls: bool | None = None
    """Force TLS on or off; unset, TLS is on when a profile, a certificate or a key asks."""
    temporal_tls_ca: Path | None = None
    """PEM file of the CA that signed the server's certificate (a private CA)."""
    temporal_tls_cert: Path | None = None
    """PEM client certificate, for mTLS."""
    temporal_tls_key: Path | None = None
    """PEM private key of the client certificate."""
    temporal_tls_server_name: str | None = None
    """The name the server certificate must carry, when it is not the address's host."""
    engine_deadline_s: float = 20.0
    """A facade request not answered after this long (Temporal not answering: a
    partition, a paused server) gets 503 instead of hanging (api/deadline.py)."""
    drain_grace_s: float = 30.0
    """On SIGTERM a worker stops polling and gives running attempts this long to finish."""
    health_file: Path | None = None
    """A worker touches this file while it is healthy (every few seconds) and removes it
    when it stops: an orchestrator's liveness probe checks its age."""
    task_queue_prefix: str = "durableruns"
    """Prefix of every Temporal task queue we use; tests use a fresh one each."""
    environment: str = "dev"
    """This process's environment: the one a worker serves (in ``namespace``). The dev
    environment defaults runs to a 10-minute TTL, as Trigger.dev does."""
    environments: list[str] = ["dev", "staging", "prod"]
    """Environments the facade serves, each a Temporal namespace with its own secret key:
    ``environment`` lives in ``namespace``, every other one in the namespace of its name."""
    api_host: str = "127.0.0.1"
    api_port: int = 3030
    api_url: str = "http://127.0.0.1:3030"
    """Where SDK clients reach the facade."""
    secret_key: str | None = None
    """The environment's secret key; ``durableruns dev`` generates and keeps one."""
    state_dir: Path = Path(".durableruns")
    """Local state of the dev stack: the SQLite file and the dev secret key."""
    temporal_ui_url: str = "http://127.0.0.1:8233"
    version: str | None = None
    """Version a worker serves; defaults to today's date, e.g. ``20261128.1``."""
    payload_storage: Literal["file", "s3", "none"] = "file"
    """Where payloads and outputs over ``payload_storage_threshold`` are kept, outside
    Temporal's history (which holds a reference): ``file`` under ``state_dir/payloads``
    (one machine, the dev default), ``s3`` in ``s3_bucket`` (deployments: every worker
    and facade must reach it), or ``none`` (inline; history refuses values over 2 MiB).
    Every process of one deployment must use the same storage."""
    payload_storage_threshold: int = 256 * 1024
    """Bytes from which a value is stored outside history."""
    payload_storage_dir: Path | None = None
    """The ``file`` storage's directory; default ``state_dir/payloads``."""
    s3_bucket: str | None = None
    """The ``s3`` storage's bucket (it must exist)."""
    s3_endpoint_url: str | None = None
    """An S3-compatible endpoint (MinIO, moto, …); default AWS's."""
    s3_region: str | None = None
    """The bucket's region; default from the AWS configuration."""
    isolation: bool = True
    """Run each attempt's code in a task process of its own (crash isolation); off, it
    runs in the worker's process, which is easier to debug but dies with a crash."""
    short_wait_s: float = 5.0
    """Timers (``wait.for_`` / ``wait.until``) shorter than this keep the attempt in its
    process; longer ones suspend it, so the waiting run holds nothing."""
    heartbeat_every_s: float = 30.0
    """A running attempt heartbeats this often at most (more often only if its heartbeat
    timeout, 50 s, asks). Each beat is a billable action on Temporal Cloud: 2 a minute.
    A worker lost mid-attempt is noticed within the timeout; cancel does not wait for a
    beat (the worker follows the run's history)."""
    announce_attempts: bool = True
    """An attempt's worker signals its run once the code has run ``announce_after_s``,
    so the run turns EXECUTING in its search attributes (listing by status). That costs
    2 Temporal Cloud actions per execution that runs that long (the signal, the status
    upsert) and 5 history events; shorter ones (a no-op run: 3 actions, 12 events) tell
    their run the start with their outcome. Retrieve and the realtime feeds read
    EXECUTING from the pending attempt either way. Off, no execution announces: a list
    filtered by EXECUTING sees the run QUEUED (or WAITING) until its attempt ends."""
    announce_after_s: float = Field(default=1.0, ge=0)
    """How long an execution's code runs before it announces its start (0: at once,
    before the code starts, so every execution pays the 2 actions)."""
    max_concurrent_attempts: int = 100
    """Executions of task code a worker runs at once, per task queue (Temporal's activity
    slots). A suspended (waiting) run takes none."""
    metrics_port: int | None = None
    """A worker serves Prometheus ``/metrics`` on this port (0: a free one, printed at
    start); unset: no metrics server on workers. The facade always has ``/metrics``."""
    sdk_metrics: bool = True
    """Include temporalio's SDK metrics (``temporal_*``) in ``/metrics``."""
    smtp_host: str | None = None
    """Where workers send alert emails; unset, the facade refuses email alerts."""
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "durableruns@localhost"
    smtp_starttls: bool = False

    @property
    def default_ttl_s(self) -> float | None:
        """The environment's TTL for runs triggered without one: 10 minutes in dev."""
        return DEV_DEFAULT_TTL_S if self.environment == "dev" else None

    @property
    def served_namespaces(self) -> list[str]:
        """The namespace of each served environment, this process's own first."""
        others = [name for name in self.environments if name != self.environment]
        return [self.namespace, *others]

    def for_environment(self, name: str) -> Settings:
        """These settings as seen from environment ``name`` (its namespace and key)."""
        if name == self.environment:
            return self.model_copy(update={"secret_key": self.dev_secret_key()})
        key = os.environ.get(f"DURABLERUNS_{name.upper()}_SECRET_KEY") or self._kept_key(
            f"{name}-secret-key", prefix=f"tr_{name[:4]}_"
        )
        return self.model_copy(update={"environment": name, "namespace": name, "secret_key": key})

    def dev_secret_key(self) -> str:
        """The configured key, else the dev key kept in ``state_dir`` (made on first use)."""
        if self.secret_key:
            return self.secret_key
        return self._kept_key(DEV_KEY_FILE, prefix="tr_dev_")

    def _kept_key(self, file_name: str, *, prefix: str) -> str:
        """A generated key kept in ``state_dir`` (made on first use, mode 600)."""
        path = self.state_dir / file_name
        if path.exists():
            return path.read_text().strip()
        key = prefix + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key
