"""Settings of ``durableruns dev``: the ``temporal-dev.yml`` file, and the precedence
that merges it with command-line flags and ``DURABLERUNS_*`` environment variables.

Precedence, highest first: flags > environment variables > ``temporal-dev.yml`` >
built-in defaults. :func:`resolve_dev_options` is pure (the environment is passed in),
so the rules are tested without starting anything.

This module imports nothing from the engine: the dev server command is built from
its result in :mod:`durableruns.service.dev_server`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from durableruns.errors import (
    DevConfigError as DevConfigError,  # defined in errors.py (the one tree)
)

T = TypeVar("T")

CONFIG_FILE = Path("temporal-dev.yml")
"""Read from the current directory unless ``--config`` names another file."""
DEFAULT_TASK_MODULES = ("activities", "workflows")
DEFAULT_API_PORT = 3030
DB_FILENAME = "temporal.db"
"""The SQLite file's name inside ``state_dir`` when the yml does not name one."""

SearchAttributeType = Literal["Text", "Keyword", "Int", "Double", "Bool", "Datetime", "KeywordList"]

ENV = {
    "api_port": "DURABLERUNS_API_PORT",
    "temporal_port": "DURABLERUNS_TEMPORAL_PORT",
    "ui_port": "DURABLERUNS_UI_PORT",
    "db": "DURABLERUNS_DB",
    "in_memory": "DURABLERUNS_IN_MEMORY",
    "temporal_address": "DURABLERUNS_TEMPORAL_ADDRESS",
    "tasks": "DURABLERUNS_TASKS",
    "namespace": "DURABLERUNS_NAMESPACE",
    "config": "DURABLERUNS_CONFIG",
}
"""The environment variable behind each setting of ``durableruns dev``."""


class UiConfig(BaseModel):
    """The Temporal Web UI of the dev server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    port: int = Field(default=8233, ge=1, le=65535)


class DevServerConfig(BaseModel):
    """The declarative part of the dev server: the contents of ``temporal-dev.yml``.

    ``db_filename`` left out means ``<state_dir>/temporal.db``; ``db_filename: null``
    keeps everything in memory.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ip: str = "127.0.0.1"
    port: int = Field(default=7233, ge=1, le=65535)
    namespace: str = "default"
    ui: UiConfig = UiConfig()
    db_filename: Path | None = None
    sqlite_pragmas: dict[str, str] = {"journal_mode": "wal", "synchronous": "normal"}
    """Without WAL and ``synchronous=normal`` a SQLite file halves throughput (hazards.md)."""
    dynamic_config: dict[str, str | int | float | bool] = {}
    """Added to (and overriding) the engine's own dynamic config."""
    search_attributes: dict[str, SearchAttributeType] = {}
    """Names and types; the engine's list always wins and is always registered."""
    tasks: list[str] = []
    """Task modules served *in addition to* the examples (``--tasks`` replaces them)."""

    def dynamic_config_json(self) -> dict[str, str]:
        """Dynamic config values as the JSON text ``--dynamic-config-value`` expects."""
        return {key: json.dumps(value) for key, value in self.dynamic_config.items()}


def load_dev_config(path: Path | None = None) -> DevServerConfig:
    """Read ``path`` (must exist), else ``./temporal-dev.yml`` if present, else defaults."""
    if path is None:
        if not CONFIG_FILE.exists():
            return DevServerConfig()
        path = CONFIG_FILE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DevConfigError(f"Cannot read {path}: {exc}") from exc
    try:
        return DevServerConfig.model_validate(data)
    except ValidationError as exc:
        raise DevConfigError(f"Invalid {path}:\n{exc}") from exc


@dataclass(frozen=True)
class DevFlags:
    """What was given on the command line; ``None``/empty means "not given"."""

    api_port: int | None = None
    temporal_port: int | None = None
    ui_port: int | None = None
    db: Path | None = None
    in_memory: bool = False
    temporal_address: str | None = None
    tasks: tuple[str, ...] = ()


@dataclass(frozen=True)
class DevOptions:
    """Everything ``durableruns dev`` runs with, after precedence is applied."""

    api_port: int
    temporal_port: int
    ui_port: int
    ui_enabled: bool
    ip: str
    namespace: str
    db: Path | None
    """The SQLite file, or None to keep Temporal's state in memory."""
    temporal_address: str | None
    """An existing Temporal to use; None starts the dev server."""
    tasks: tuple[str, ...]

    @property
    def address(self) -> str:
        """Where the worker and the facade reach Temporal."""
        return self.temporal_address or f"{self.ip}:{self.temporal_port}"


InMemory = Literal["memory"]
_IN_MEMORY: InMemory = "memory"


def resolve_dev_options(
    flags: DevFlags, env: Mapping[str, str], config: DevServerConfig, *, state_dir: Path
) -> DevOptions:
    """Merge flags > environment > ``config`` > built-in defaults into one DevOptions."""
    env_tasks = _env_list(env, "tasks")
    db: Path | InMemory = _first(
        _storage(flags.db, flags.in_memory, "--db", "--in-memory"),
        _storage(_env_path(env, "db"), _env_bool(env, "in_memory"), ENV["db"], ENV["in_memory"]),
        _config_storage(config),
        state_dir / DB_FILENAME,
    )
    return DevOptions(
        api_port=_first(flags.api_port, _env_port(env, "api_port"), DEFAULT_API_PORT),
        temporal_port=_first(flags.temporal_port, _env_port(env, "temporal_port"), config.port),
        ui_port=_first(flags.ui_port, _env_port(env, "ui_port"), config.ui.port),
        ui_enabled=config.ui.enabled,
        ip=config.ip,
        namespace=_first(env.get(ENV["namespace"]) or None, config.namespace),
        db=None if db == _IN_MEMORY else db,
        temporal_address=flags.temporal_address or env.get(ENV["temporal_address"]) or None,
        tasks=combine_modules(flags.tasks or env_tasks or [f"+{m}" for m in config.tasks]),
    )


def _first(*values: T | None) -> T:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the last value is the built-in default and is never None")


def _storage(
    db: Path | None, in_memory: bool, db_name: str, memory_name: str
) -> Path | InMemory | None:
    if db is not None and in_memory:
        raise DevConfigError(f"{db_name} and {memory_name} exclude each other")
    return _IN_MEMORY if in_memory else db


def _config_storage(config: DevServerConfig) -> Path | InMemory | None:
    if "db_filename" not in config.model_fields_set:
        return None
    return config.db_filename or _IN_MEMORY


def _env_port(env: Mapping[str, str], field: str) -> int | None:
    raw = env.get(ENV[field], "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DevConfigError(f"{ENV[field]}={raw!r} is not a port number")
    return int(raw)


def _env_path(env: Mapping[str, str], field: str) -> Path | None:
    raw = env.get(ENV[field], "").strip()
    return Path(raw) if raw else None


def _env_bool(env: Mapping[str, str], field: str) -> bool:
    raw = env.get(ENV[field], "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise DevConfigError(f"{ENV[field]}={raw!r} is not a boolean (use 1 or 0)")


def _env_list(env: Mapping[str, str], field: str) -> tuple[str, ...]:
    """``"a, b c"`` → ``("a", "b", "c")``: commas or spaces separate module names."""
    return tuple(env.get(ENV[field], "").replace(",", " ").split())


def task_modules(values: Sequence[str], env: Mapping[str, str]) -> tuple[str, ...]:
    """Task modules: the ``--tasks`` values, else ``DURABLERUNS_TASKS``, else the examples."""
    return combine_modules(split_modules(values) or _env_list(env, "tasks"))


def combine_modules(names: Sequence[str]) -> tuple[str, ...]:
    """Plain names replace the examples; ``+name`` adds to them (``--tasks +mytasks``)."""
    plain = [n for n in names if not n.startswith("+")]
    added = [n[1:] for n in names if n.startswith("+") and len(n) > 1]
    return tuple(dict.fromkeys([*(plain or DEFAULT_TASK_MODULES), *added]))


def config_path(flag: Path | None, env: Mapping[str, str]) -> Path | None:
    """The yml to read: ``--config``, else ``DURABLERUNS_CONFIG``, else None (the default)."""
    return flag or _env_path(env, "config")


def split_modules(values: Sequence[str]) -> tuple[str, ...]:
    """Flags may repeat or hold comma-separated names: ``--tasks a,b --tasks c``."""
    return tuple(name for value in values for name in value.replace(",", " ").split())
