"""Sample payloads made from a task's schema: the dev banner's curl for the developer's
own task sends one that fits (``{"payload": {}}`` was a 422 for a required field)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from durableruns import task
from durableruns.catalog_models import TaskDescriptor
from durableruns.cli.dev import sample_trigger
from durableruns.payload_examples import example_payload
from durableruns.service.deployments import validate_payload
from durableruns.task_definitions import TaskRegistry


class Address(BaseModel):
    city: str
    zip: str | None = None


class Order(BaseModel):
    item: str
    quantity: int = 2
    rush: bool
    ship_to: Address
    notes: list[str] = []
    size: int | None = None


@task(id="own-order")
async def own_order(payload: Order) -> int:
    return payload.quantity


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (None, {}),
        ({"type": "string"}, ""),
        ({"enum": ["a", "b"]}, "a"),
        ({"type": ["null", "integer"]}, 0),
        ({"anyOf": [{"type": "null"}, {"type": "boolean"}]}, False),
        ({"type": "array", "items": {"type": "string"}}, []),
    ],
)
def test_simple_schemas(schema: dict[str, Any] | None, expected: Any) -> None:
    assert example_payload(schema) == expected


def test_a_model_with_refs_and_defaults_fits_its_own_schema() -> None:
    schema = Order.model_json_schema()
    payload = example_payload(schema)
    assert payload == {
        "item": "",
        "quantity": 2,
        "rush": False,
        "ship_to": {"city": "", "zip": None},
        "notes": [],
        "size": None,
    }
    Order.model_validate(payload)
    validate_payload(TaskDescriptor(id="o", version="1", queue="q", payload_schema=schema), payload)


def test_the_banner_samples_the_developers_own_task() -> None:
    registry = TaskRegistry.from_modules(["activities"])
    assert sample_trigger(registry) == ("hello-world", '{"payload": {"name": "World"}}')
    registry.add(own_order)
    task_id, body = sample_trigger(registry)
    assert task_id == "own-order" and '"item": ""' in body and '"city": ""' in body
