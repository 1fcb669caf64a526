"""A payload that does not fit its task's schema is answered in JSON's words (``null``,
``true``, ``"text"``), never Python's (``None``, ``True``, ``'text'``)."""

from __future__ import annotations

from typing import Any

import pytest

from durableruns.catalog_models import TaskDescriptor
from durableruns.errors import PayloadSchemaError
from durableruns.service.deployments import validate_payload

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "count": {"type": "integer"},
        "mode": {"enum": ["fast", "slow"]},
        "flag": {"type": ["boolean", "null"]},
    },
    "required": ["name"],
}
TASK = TaskDescriptor(id="t", version="1", queue="task/t", payload_schema=SCHEMA)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "payload: expected an object, got null"),
        ([1], "payload: expected an object, got an array"),
        ({}, 'payload: "name" is required'),
        ({"name": True}, "payload.name: expected a string, got true"),
        ({"name": "a", "count": "lots"}, 'payload.count: expected an integer, got "lots"'),
        ({"name": "a", "flag": 3}, "payload.flag: expected a boolean or a null, got 3"),
        ({"name": "a", "mode": None}, 'payload.mode: null is not one of ["fast", "slow"]'),
    ],
)
def test_messages_speak_json(payload: Any, message: str) -> None:
    with pytest.raises(PayloadSchemaError) as raised:
        validate_payload(TASK, payload)
    assert str(raised.value) == message
    assert "None" not in str(raised.value) and "'" not in str(raised.value)
