"""A payload that fits a task's payload schema, to prefill what a newcomer sends: the dev
banner's sample ``curl`` for their own task (``{"payload": {}}`` was a 422 for any task
with a required field). The dashboard's Test form does the same in its script."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 8


def example_payload(schema: dict[str, Any] | None) -> Any:
    """A value fitting ``schema`` (JSON Schema as pydantic writes it): defaults and
    examples first, else the simplest value of the type; objects get every property."""
    if schema is None:
        return {}
    return _example(schema, schema, 0)


def _example(schema: Any, root: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return None
    if "$ref" in schema:
        return _example(_resolve(schema["$ref"], root), root, depth + 1)
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        choices = schema.get(key)
        if choices:
            first = next((c for c in choices if c.get("type") != "null"), choices[0])
            return _example(first, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: _example(p, root, depth + 1) for name, p in properties.items()}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))


def _resolve(ref: str, root: dict[str, Any]) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for key in ref[2:].split("/"):
        node = node.get(key) if isinstance(node, dict) else None
    return node
