"""Dependency direction: the core knows nothing of engine, api, sdk or cli; the SDK
never imports temporalio; the engine never imports fastapi."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "durableruns"
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
