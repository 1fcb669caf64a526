"""Dependency direction: the core knows nothing of engine, api, sdk or cli; the SDK
never imports temporalio; the engine never imports fastapi."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "durableruns"
CORE = [
    "batch_models",
    "catalog_models",
    "context",
    "cron",
    "errors",
    "ids",
    "models",
    "packets",
    "results",
    "scheduling",
    "settings",
    "status",
    "steps",
    "wire",
    "wire_batches",
    "wire_logs",
    "wire_schedules",
]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(package: str) -> list[Path]:
    target = SRC / package
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import_no_outer_layer(module: str) -> None:
    outer = (
        "durableruns.engine",
        "durableruns.api",
        "durableruns.sdk",
        "durableruns.cli",
        "temporalio",
        "fastapi",
    )
    for name in _imports(_files(module)[0]):
        assert not name.startswith(outer), f"{module} imports {name}"


def test_the_engine_never_imports_fastapi() -> None:
    for path in _files("engine"):
        assert not any(
            n.startswith(("fastapi", "starlette", "durableruns.api")) for n in _imports(path)
        ), path


def test_the_sdk_never_imports_temporalio() -> None:
    for path in _files("sdk"):
        assert not any(
            n.startswith(("temporalio", "durableruns.engine")) for n in _imports(path)
        ), path


def test_importing_the_sdk_does_not_load_temporalio() -> None:
    code = (
        "import sys, durableruns\n"
        "from durableruns import tasks, runs, task, configure, Run, RunStatus\n"
        "import activities.hello_world\n"
        "from durableruns import schedules, ScheduledPayload\n"
        "import activities.every_minute\n"
        "assert not any(m.startswith('temporalio') for m in sys.modules), 'temporalio loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=SRC.parents[1])


def test_public_names_are_sorted_and_importable() -> None:
    import durableruns

    assert durableruns.__all__ == sorted(durableruns.__all__)
    for name in durableruns.__all__:
        assert getattr(durableruns, name) is not None


def test_lazy_exports_match_all() -> None:
    import durableruns

    assert sorted([*durableruns._EXPORTS, *durableruns._SUBMODULES]) == durableruns.__all__


# --- every module, by layer ------------------------------------------------------------
# core (top-level modules) → engine → api / dashboard / sdk / cli. A layer may import the
# layers before it, never after; the SDK depends on core and httpx only.
LAYER_FORBIDS = {
    "core": ("durableruns.engine", "durableruns.api", "durableruns.dashboard",
             "durableruns.sdk", "durableruns.cli", "temporalio", "fastapi", "starlette"),
    "engine": ("durableruns.api", "durableruns.dashboard", "durableruns.sdk",
               "durableruns.cli", "fastapi", "starlette"),
    "api": ("durableruns.sdk", "durableruns.cli", "durableruns.dashboard"),
    "dashboard": ("durableruns.sdk", "durableruns.cli", "durableruns.engine"),
    "sdk": ("durableruns.engine", "durableruns.api", "durableruns.dashboard",
            "durableruns.cli", "temporalio", "fastapi", "starlette"),
    "cli": ("durableruns.sdk",),
    # Issue 20's target layout (client-side services; what runs on workers).
    "service": ("durableruns.api", "durableruns.dashboard", "durableruns.sdk",
                "durableruns.cli", "durableruns.worker", "fastapi", "starlette"),
    "worker": ("durableruns.api", "durableruns.dashboard", "durableruns.sdk",
               "durableruns.cli", "fastapi", "starlette"),
}  # fmt: skip
BRIDGES = {
    # The package facade re-exports the SDK lazily (``from durableruns import runs``).
    "__init__.py": ("durableruns.sdk",),
    # ``my_task.trigger(...)`` and the token helpers called from a backend (not task
    # code) go over HTTP: function-local imports of the SDK, the one sanctioned way out.
    "task_definitions.py": ("durableruns.sdk",),
    "wait.py": ("durableruns.sdk",),
    # The app assembles the facade, the dashboard's routes included.
    "api/app.py": ("durableruns.dashboard",),
}


def _layer(path: Path) -> str:
    relative = path.relative_to(SRC)
    return "core" if len(relative.parts) == 1 else relative.parts[0]


def test_every_module_imports_only_the_layers_before_it() -> None:
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 100, "the whole package is checked"
    for path in modules:
        layer = _layer(path)
        assert layer in LAYER_FORBIDS, f"{path} is in no layer"
        allowed = BRIDGES.get(str(path.relative_to(SRC)), ())
        for name in _imports(path):
            if name.startswith(LAYER_FORBIDS[layer]) and not name.startswith(allowed):
                raise AssertionError(f"{path.relative_to(SRC)} ({layer}) imports {name}")
