"""The Trigger-level search attributes every run publishes: the one list used by the
dev server (registration), the run workflow (upserts) and the facade (queries).

They make runs findable in the Temporal UI, e.g. ``TriggerStatus = 'FAILED' AND
TriggerTaskId = 'hello-world'``.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

TRIGGER_STATUS = SearchAttributeKey.for_keyword("TriggerStatus")
TRIGGER_TASK_ID = SearchAttributeKey.for_keyword("TriggerTaskId")
TRIGGER_TAGS = SearchAttributeKey.for_keyword_list("TriggerTags")
TRIGGER_VERSION = SearchAttributeKey.for_keyword("TriggerVersion")
TRIGGER_BATCH_ID = SearchAttributeKey.for_keyword("TriggerBatchId")
TRIGGER_PARENT_RUN_ID = SearchAttributeKey.for_keyword("TriggerParentRunId")
TRIGGER_ROOT_RUN_ID = SearchAttributeKey.for_keyword("TriggerRootRunId")
TRIGGER_IDEMPOTENCY_KEY = SearchAttributeKey.for_keyword("TriggerIdempotencyKey")
TRIGGER_QUEUE = SearchAttributeKey.for_keyword("TriggerQueue")
TRIGGER_IS_TEST = SearchAttributeKey.for_bool("TriggerIsTest")

ALL: tuple[SearchAttributeKey[Any], ...] = (
    TRIGGER_STATUS,
    TRIGGER_TASK_ID,
    TRIGGER_TAGS,
    TRIGGER_VERSION,
    TRIGGER_BATCH_ID,
    TRIGGER_PARENT_RUN_ID,
    TRIGGER_ROOT_RUN_ID,
    TRIGGER_IDEMPOTENCY_KEY,
    TRIGGER_QUEUE,
    TRIGGER_IS_TEST,
)
"""Every search attribute we register, in a stable order."""


def dev_server_flags() -> list[str]:
    """``--search-attribute NAME=Type`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={type_name(key)}"]
    return flags


def type_name(key: SearchAttributeKey[Any]) -> str:
    """The CLI's name of a key's type: Keyword, KeywordList, Bool …"""
    return {
        "KEYWORD": "Keyword",
        "KEYWORD_LIST": "KeywordList",
        "BOOL": "Bool",
        "INT": "Int",
        "DATETIME": "Datetime",
        "TEXT": "Text",
        "FLOAT": "Double",
    }[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]
