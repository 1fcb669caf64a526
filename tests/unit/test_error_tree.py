"""Every exception durableruns defines is in the one tree drawn in errors.py."""

from __future__ import annotations

import ast
from pathlib import Path

import durableruns.errors as errors

SRC = Path(__file__).resolve().parents[2] / "src" / "durableruns"
INTERNAL = {
    "RemoteError",
    "WorkflowGone",
    "PacketNotFoundError",
    "ApiHTTPError",
    "_NotStartedInTime",
    "_ServedElsewhere",
}


def _exception_classes() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception")))
                or (isinstance(b, ast.Attribute) and b.attr.endswith(("Error", "Exception")))
                for b in node.bases
            ):
                found[node.name] = path
    return found


def test_every_exception_is_drawn_in_the_tree_and_defined_in_errors() -> None:
    drawing = errors.__doc__ or ""
    for name, path in _exception_classes().items():
        if name in INTERNAL:
            assert name in drawing, f"{name} is listed among the internal signals"
            continue
        drawn = f"── {name} " in drawing or f"    {name}\n" in drawing  # or the root
        assert drawn, f"{name} ({path.name}) is missing from the tree"
        assert path.name == "errors.py", f"{name} is defined in {path}, not errors.py"


def test_the_tree_names_only_classes_that_exist() -> None:
    for line in (errors.__doc__ or "").splitlines():
        if "── " in line:
            name = line.split("── ")[1].split()[0]
            assert isinstance(getattr(errors, name), type), name
