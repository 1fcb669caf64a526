"""A ``durableruns worker`` subprocess, and its process tree measured from /proc.

The tree is the worker and all its descendants (the multiprocessing fork server, its
task processes, the resource tracker). Two memory figures per sample:

* **RSS**, summed over the tree: what ``ps`` would show, and what the issue's target
  speaks of. Task processes are forked from the fork server, so pages they share with
  it are counted once per process: an over-estimate of the memory really used.
* **PSS** (``/proc/PID/smaps_rollup``), summed: shared pages divided among the
  processes that share them, so the sum is the tree's real footprint.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path


def load() -> str:
    """The 1/5/15-minute load averages: how busy the shared machine was."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _stats() -> dict[int, tuple[int, str, list[str]]]:
    """pid -> (ppid, name, the fields after the name) of every readable process."""
    table: dict[int, tuple[int, str, list[str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = Path(f"/proc/{entry}/stat").read_text()
            fields = text.rsplit(")", 1)[1].split()
            table[int(entry)] = (
                int(fields[1]),
                text[text.index("(") + 1 : text.rindex(")")],
                fields,
            )
    return table


def descendants(root: int, table: dict[int, tuple[int, str, list[str]]] | None = None) -> list[int]:
    """``root`` and every process below it."""
    parents = {pid: row[0] for pid, row in (table or _stats()).items()}
    tree, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree += children
        frontier += children
    return tree


TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuMark:
    """CPU seconds used so far by the worker tree, the dev server and this process.

    A process's own utime+stime plus what its reaped children used (cutime+cstime), so
    task processes that came and went still count."""

    at: float
    worker: float
    server: float
    bench: float

    @classmethod
    def now(cls, worker_pid: int) -> CpuMark:
        table = _stats()

        def cpu(pids: list[int]) -> float:
            rows = [table[p][2] for p in pids if p in table]
            return sum(sum(int(r[i]) for i in (11, 12, 13, 14)) for r in rows) / TICK

        worker = descendants(worker_pid, table)
        ours = set(descendants(os.getpid(), table)) - set(worker)
        server = [p for p in ours if table[p][1] == "temporal"]
        times = os.times()
        return cls(time.time(), cpu(worker), cpu(server), times.user + times.system)

    def since(self, earlier: CpuMark, runs: int) -> dict[str, float]:
        """CPU seconds between two marks, per part, with ms per run and cores used."""
        wall = self.at - earlier.at
        parts = {
            "worker": self.worker - earlier.worker,
            "server": self.server - earlier.server,
            "bench": self.bench - earlier.bench,
        }
        total = sum(parts.values())
        return {
            "wall_s": wall,
            **{f"{k}_cpu_s": v for k, v in parts.items()},
            **{f"{k}_ms_per_run": v * 1000 / runs for k, v in parts.items()},
            "cores_used": total / wall if wall > 0 else 0.0,
        }


def describe_cpu(figures: dict[str, float]) -> str:
    return (
        f"CPU per run: worker {figures['worker_ms_per_run']:.1f} ms, server "
        f"{figures['server_ms_per_run']:.1f} ms, bench {figures['bench_ms_per_run']:.1f} ms; "
        f"{figures['cores_used']:.2f} of 2 cores used over {figures['wall_s']:.1f} s"
    )


def breakdown(root: int) -> list[str]:
    """One line per process of the tree: pid, command, RSS, PSS, private memory."""
    lines = []
    for pid in descendants(root):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            private = _kib(f"/proc/{pid}/smaps_rollup", "Private_Clean:") + _kib(
                f"/proc/{pid}/smaps_rollup", "Private_Dirty:"
            )
            lines.append(
                f"{pid:>7} RSS {_kib(f'/proc/{pid}/status', 'VmRSS:') / 1024:6.1f} MB, PSS "
                f"{_kib(f'/proc/{pid}/smaps_rollup', 'Pss:') / 1024:6.1f} MB, private "
                f"{private / 1024:6.1f} MB  {command[:90]}"
            )
    return lines


def _kib(path: str, key: str) -> int:
    """A ``Key:   123 kB`` line of a /proc file, in KiB (0 when gone)."""
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class TreeSample:
    at: float
    processes: int
    rss_mb: float
    pss_mb: float
    worker_rss_mb: float
    """The worker process alone (its Python heap, the workflow cache, the Rust core)."""

    @classmethod
    def of(cls, root: int) -> TreeSample:
        pids = descendants(root)
        rss = sum(_kib(f"/proc/{pid}/status", "VmRSS:") for pid in pids)
        pss = sum(_kib(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in pids)
        own = _kib(f"/proc/{root}/status", "VmRSS:")
        return cls(time.time(), len(pids), rss / 1024, pss / 1024, own / 1024)

    def describe(self) -> str:
        return (
            f"{self.processes} processes, RSS {self.rss_mb:.0f} MB (worker alone "
            f"{self.worker_rss_mb:.0f} MB), PSS {self.pss_mb:.0f} MB"
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Sampler:
    """Samples the tree under ``root`` every ``every`` seconds, tagged with a phase."""

    root: int
    every: float = 1.0
    phase: str = "start"
    samples: list[tuple[str, TreeSample]] = field(default_factory=list)
    seen: dict[str, set[int]] = field(default_factory=dict)
    """Every pid seen in the tree, per phase (sampled: a lower bound on processes started)."""

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                self.samples.append((self.phase, TreeSample.of(self.root)))
                self.seen.setdefault(self.phase, set()).update(descendants(self.root))
                await asyncio.sleep(self.every)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def latest(self) -> TreeSample:
        return self.samples[-1][1] if self.samples else TreeSample.of(self.root)

    def peak(self, phase: str) -> TreeSample:
        """The sample of ``phase`` with the largest RSS."""
        mine = [s for p, s in self.samples if p == phase] or [self.latest()]
        return max(mine, key=lambda s: s.rss_mb)

    async def steady(self, n: int) -> TreeSample:
        """``n`` fresh samples a second apart; the median of each figure."""
        taken = []
        for i in range(n):
            if i:
                await asyncio.sleep(1.0)
            taken.append(TreeSample.of(self.root))
        return TreeSample(
            at=taken[-1].at,
            processes=int(statistics.median(s.processes for s in taken)),
            rss_mb=statistics.median(s.rss_mb for s in taken),
            pss_mb=statistics.median(s.pss_mb for s in taken),
            worker_rss_mb=statistics.median(s.worker_rss_mb for s in taken),
        )


class WorkerProcess:
    """``durableruns worker`` as a child process, its output in a log file."""

    def __init__(self, process: subprocess.Popen[bytes], prefix: str, log: Path) -> None:
        self.process = process
        self.prefix = prefix
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(
        cls,
        address: str,
        *,
        prefix: str,
        modules: list[str],
        version: str,
        pythonpath: Path,
        env: Mapping[str, str],
    ) -> WorkerProcess:
        """Start from the main thread (the kernel ends it if we die: PDEATHSIG)."""
        command = [str(Path(sys.executable).parent / "durableruns"), "worker"]
        command += ["--temporal-address", address, "--task-queue-prefix", prefix]
        command += ["--version", version]
        for module in modules:
            command += ["--tasks", module]
        log = Path(f"/tmp/bench-waits-worker-{os.getpid()}.log")
        path = os.pathsep.join(p for p in (str(pythonpath), os.environ.get("PYTHONPATH")) if p)
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=pythonpath.parent,
                env={**os.environ, **env, "PYTHONPATH": path},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(),
            )
        return cls(process, prefix, log)

    async def wait_ready(self, timeout: float) -> None:
        """Until it printed that it joined (after registering its tasks)."""
        deadline = time.monotonic() + timeout
        while "joined" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)

    def profile(self, out: Path) -> subprocess.Popen[bytes]:
        """py-spy sampling this worker and its task processes; SIGINT writes ``out``."""
        command = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(self.pid)]
        command += ["--subprocesses", "--format", "raw", "--rate", "50", "-o", str(out)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn``: the kernel SIGTERMs the child when we die (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec
