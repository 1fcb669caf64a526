"""Configuration, read from ``DURABLERUNS_*`` environment variables or given in code.

Nothing builds a Settings object at import time: the CLI, the facade and the worker
are handed one, so tests can run several stacks side by side.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_KEY_FILE = "dev-secret-key"
DEV_DEFAULT_TTL_S = 600.0
"""Runs in the dev environment expire after 10 minutes queued, as in Trigger.dev."""


class Settings(BaseSettings):
    """Where Temporal is, how the facade listens, and the environment's secret key."""

    model_config = SettingsConfigDict(env_prefix="DURABLERUNS_", extra="ignore")

    temporal_address: str = "127.0.0.1:7233"
    """host:port of the Temporal frontend."""
    namespace: str = "default"
    """The Temporal namespace that holds this environment's runs."""
    task_queue_prefix: str = "durableruns"
    """Prefix of every Temporal task queue we use; tests use a fresh one each."""
    environment: str = "dev"
    """Trigger.dev environment name: ``dev`` defaults runs to a 10-minute TTL later on."""
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

    @property
    def default_ttl_s(self) -> float | None:
        """The environment's TTL for runs triggered without one: 10 minutes in dev."""
        return DEV_DEFAULT_TTL_S if self.environment == "dev" else None

    def dev_secret_key(self) -> str:
        """The configured key, else the dev key kept in ``state_dir`` (made on first use)."""
        if self.secret_key:
            return self.secret_key
        path = self.state_dir / DEV_KEY_FILE
        if path.exists():
            return path.read_text().strip()
        key = "tr_dev_" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key
