"""``durableruns init``: a tasks module with one example task, a script that triggers
it, and the commands to serve and trigger it — the shortest path from install to a
completed run."""

from __future__ import annotations

import keyword
from pathlib import Path

from durableruns.errors import DurableRunsError

TASK_MODULE = '''"""{module}: your durableruns tasks. Serve them with

    durableruns dev --tasks {module}

(in the durableruns repository, `--tasks +{module}` serves them beside the examples).
"""

from pydantic import BaseModel

from durableruns import TaskContext, task


class Order(BaseModel):
    item: str
    quantity: int = 1


class Receipt(BaseModel):
    summary: str


@task(id="{task_id}", retry={{"max_attempts": 3}})
async def {function}(payload: Order, ctx: TaskContext) -> Receipt:
    """Your first task: edit it while `durableruns dev` runs, it reloads on save."""
    attempt = ctx.attempt.number
    return Receipt(summary=f"{{payload.quantity}} x {{payload.item}}, attempt {{attempt}}")
'''

TRIGGER_SCRIPT = '''"""Trigger {task_id} and wait for its result: python {script}

With nothing configured, the SDK uses the dev stack: http://127.0.0.1:3030 and the key
in .durableruns/dev-secret-key (both written by `durableruns dev`).
"""

import asyncio

from durableruns import runs
from {module} import Order, {function}


async def main() -> None:
    handle = await {function}.trigger(Order(item="coffee", quantity=2))
    run = await runs.poll(handle)
    print(run.status, run.output.summary)


asyncio.run(main())
'''


def scaffold(directory: Path, module: str, *, force: bool = False) -> list[Path]:
    """Write ``<module>.py`` and ``trigger_<module>.py`` in ``directory``."""
    if not module.isidentifier() or keyword.iskeyword(module):
        raise DurableRunsError(f"{module!r} is not a Python module name")
    task_id = module.replace("_", "-") + "-example"
    function = module + "_example"
    fields = {"module": module, "task_id": task_id, "function": function}
    files = {
        directory / f"{module}.py": TASK_MODULE.format(**fields),
        directory / f"trigger_{module}.py": TRIGGER_SCRIPT.format(
            script=f"trigger_{module}.py", **fields
        ),
    }
    existing = [path for path in files if path.exists()]
    if existing and not force:
        raise DurableRunsError(f"{existing[0]} exists; use --force to overwrite")
    for path, text in files.items():
        path.write_text(text)
    return list(files)


IGNORED = ".durableruns/"
"""The dev state directory: it holds the generated secret keys and Temporal's database."""


def keep_state_out_of_git(directory: Path) -> Path | None:
    """Add ``.durableruns/`` to ``directory/.gitignore`` (made if missing); the path if it
    was written, None when it was already ignored there."""
    path = directory / ".gitignore"
    text = path.read_text() if path.exists() else ""
    entries = {line.strip().rstrip("/") for line in text.splitlines()}
    if IGNORED.rstrip("/") in entries or "/" + IGNORED.rstrip("/") in entries:
        return None
    prefix = "" if not text or text.endswith("\n") else "\n"
    comment = "# durableruns dev state: secret keys and Temporal's database\n"
    path.write_text(f"{text}{prefix}{comment}{IGNORED}\n")
    return path


def next_steps(module: str) -> str:
    """What to run after ``init``."""
    return (
        f"Created {module}.py (task {module.replace('_', '-')}-example) and "
        f"trigger_{module}.py.\n"
        "Next:\n"
        f"  durableruns dev --tasks {module}    # serve it; reloads when you save\n"
        f"  python trigger_{module}.py          # in another terminal: trigger it, "
        "print the result\n"
        f"(In the durableruns repository, --tasks +{module} serves it beside the examples.)\n"
    )
