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
    "hook_models",
    "hooks",
    "ids",
    "locals",
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
# core (top-level modules) → engine (plumbing and names) → engine.workflows (deterministic)
# → service (what the API calls) → worker (what runs user code) → api / dashboard / sdk /
# cli. A layer may import the layers before it, never after; the SDK depends on core and
# httpx only; the edges (api, dashboard, cli) reach the engine through ``service`` and the
# one door ``engine.client``.
OUTER = ("durableruns.api", "durableruns.dashboard", "durableruns.sdk", "durableruns.cli")
LAYER_FORBIDS = {
    "core": ("durableruns.engine", "durableruns.service", "durableruns.worker", *OUTER,
             "temporalio", "fastapi", "starlette"),
    "engine": ("durableruns.engine.workflows", "durableruns.service", "durableruns.worker",
               *OUTER, "fastapi", "starlette"),
    "service": ("durableruns.worker", *OUTER, "fastapi", "starlette"),
    "worker": (*OUTER, "fastapi", "starlette"),
    "api": ("durableruns.sdk", "durableruns.cli", "durableruns.dashboard", "durableruns.worker"),
    "dashboard": ("durableruns.sdk", "durableruns.cli", "durableruns.engine",
                  "durableruns.service", "durableruns.worker"),
    "sdk": ("durableruns.engine", "durableruns.service", "durableruns.worker", "durableruns.api",
            "durableruns.dashboard", "durableruns.cli", "temporalio", "fastapi", "starlette"),
    "cli": ("durableruns.sdk",),
}  # fmt: skip
BRIDGES = {
    # The package facade re-exports the SDK lazily (``from durableruns import runs``).
    "__init__.py": ("durableruns.sdk",),
    # ``my_task.trigger(...)`` and the token helpers called from a backend (not task
    # code) go over HTTP: function-local imports of the SDK, the one sanctioned way out.
    "task_definitions.py": ("durableruns.sdk",),
    "wait.py": ("durableruns.sdk",),
    "input_streams.py": ("durableruns.sdk",),  # ``stream.send(run, value)`` from a backend
    # Runs from the terminal talk HTTP to a facade through the SDK, as any client does.
    "cli/remote.py": ("durableruns.sdk",),
    # The app assembles the facade, the dashboard's routes included.
    "api/app.py": ("durableruns.dashboard",),
}
WORKFLOW_MAY_IMPORT = (
    "durableruns.engine.workflows",
    "durableruns.engine.names",
    "durableruns.engine.search_attributes",
)
"""Deterministic workflow code imports the standard library, temporalio, pydantic, core
records and, of the engine, only these (names of things, and the search attributes)."""
EDGE_MAY_IMPORT_FROM_ENGINE = ("durableruns.engine.client",)


def _layer(path: Path) -> str:
    relative = path.relative_to(SRC)
    if len(relative.parts) == 1:
        return "core"
    return (
        relative.parts[0]
        if relative.parts[0] != "engine"
        else ("workflows" if relative.parts[1] == "workflows" else "engine")
    )


def test_every_module_imports_only_the_layers_before_it() -> None:
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 100, "the whole package is checked"
    for path in modules:
        layer = _layer(path)
        if layer == "workflows":
            continue  # its own, stricter rule below
        assert layer in LAYER_FORBIDS, f"{path} is in no layer"
        allowed = BRIDGES.get(str(path.relative_to(SRC)), ())
        for name in _imports(path):
            if name.startswith(LAYER_FORBIDS[layer]) and not name.startswith(allowed):
                raise AssertionError(f"{path.relative_to(SRC)} ({layer}) imports {name}")


def _is_core(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "durableruns" and len(parts) >= 2 and (SRC / f"{parts[1]}.py").exists()


def test_workflow_code_imports_only_names_records_and_temporalio() -> None:
    third_party = ("temporalio", "pydantic")
    for path in sorted((SRC / "engine" / "workflows").rglob("*.py")):
        for name in _all_imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or name.startswith(third_party):
                continue
            if name == "durableruns.engine" or (name.count(".") >= 2 and _is_core(name)):
                continue  # a package or a core module's member: the member is checked
            assert _is_core(name) or name.startswith(WORKFLOW_MAY_IMPORT), (
                f"{path.relative_to(SRC)} (workflow code) imports {name}"
            )


@pytest.mark.parametrize("edge", ["api", "dashboard", "cli"])
def test_the_edges_reach_the_engine_only_through_service_and_its_client(edge: str) -> None:
    for path in sorted((SRC / edge).rglob("*.py")):
        for name in _imports(path):
            if name.startswith("durableruns.engine"):
                assert name.startswith(EDGE_MAY_IMPORT_FROM_ENGINE), (
                    f"{path.relative_to(SRC)} imports {name}"
                )


def _all_imports(path: Path) -> set[str]:
    """Every module a file imports, function-local imports included, with
    ``from package import module`` resolved to the module; imports for type checkers only
    (``if TYPE_CHECKING:``) are left out, as they never run."""
    names: set[str] = set()
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_import_cycle_anywhere_in_the_package() -> None:
    modules: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {
        name: {i for i in _all_imports(path) if i in modules and i != name}
        for name, path in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph[node]:
            if dep not in index:
                connect(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            head = min(component, key=len)  # a package and its own modules only: no cycle
            if len(component) > 1 and not all(
                m == head or m.startswith(head + ".") for m in component
            ):
                cycles.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for node in sorted(graph):
            if node not in index:
                connect(node)
    finally:
        sys.setrecursionlimit(limit)  # other tests rely on the default (deep-JSON refusal)
    assert cycles == [], f"import cycles: {cycles}"
