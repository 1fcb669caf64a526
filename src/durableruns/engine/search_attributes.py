"""The Trigger-level search attributes every run publishes: the one list used by the
dev server (registration), the run workflow (upserts) and the facade (queries).

They make runs findable in the Temporal UI, e.g. ``TriggerStatus = 'FAILED' AND
TriggerTaskId = 'hello-world'``.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from durableruns.models import RunInput, RunRecord

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
TRIGGER_SCHEDULE_ID = SearchAttributeKey.for_keyword("TriggerScheduleId")
TRIGGER_DURATION_MS = SearchAttributeKey.for_int("TriggerDurationMs")
"""A finished run's execution time (waits excluded), as retrieve's ``durationMs``."""
TRIGGER_ERROR_GROUP = SearchAttributeKey.for_keyword_list("TriggerErrorGroup")
"""A failed run's error group id (one element). A KeywordList, not a Keyword: the dev
server's SQL visibility allows 10 Keyword attributes and runs use 9 of them, while 3
KeywordList slots held 2; equality (``TriggerErrorGroup = 'error_…'``) and ``IN``
work on a list alike. Set in the upsert of the FAILED status, so it costs no action."""
# Wait tokens (their own keys: a run query by tag or status never finds a token).
# Tokens share the status and idempotency-key attributes with runs (the dev server
# allows 10 Keyword attributes): queries tell them apart by WorkflowType
# (durableruns.run / durableruns.token). Tags get their own key.
TRIGGER_TOKEN_STATUS = TRIGGER_STATUS
TRIGGER_TOKEN_TAGS = SearchAttributeKey.for_keyword_list("TriggerTokenTags")
TRIGGER_TOKEN_IDEMPOTENCY_KEY = TRIGGER_IDEMPOTENCY_KEY
TRIGGER_BULK_ACTION_ID = SearchAttributeKey.for_keyword("TriggerBulkActionId")
"""The bulk action (``bulk_…``) whose replay made a run, so ``filter[bulkAction]`` lists
them. The dev server's SQL visibility allows 10 Keyword attributes: this is the tenth
(the three KeywordList slots are taken: tags, token tags, error groups)."""

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
    TRIGGER_SCHEDULE_ID,
    TRIGGER_DURATION_MS,
    TRIGGER_TOKEN_TAGS,
    TRIGGER_ERROR_GROUP,
    TRIGGER_BULK_ACTION_ID,
)
"""Every search attribute we register, in a stable order."""


def dev_server_flags() -> list[str]:
    """``--search-attribute NAME=Type`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={type_name(key)}"]
    return flags


def type_name(key: SearchAttributeKey[Any]) -> str:
    """The CLI's name of a key's type: Keyword, KeywordList, Bool and so on."""
    return {
        "KEYWORD": "Keyword",
        "KEYWORD_LIST": "KeywordList",
        "BOOL": "Bool",
        "INT": "Int",
        "DATETIME": "Datetime",
        "TEXT": "Text",
        "FLOAT": "Double",
    }[key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")]


def initial_search_attributes(run: RunInput) -> TypedSearchAttributes:
    """The search attributes a run starts with (its workflow upserts the rest)."""
    options = run.options
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(TRIGGER_STATUS, RunRecord.from_input(run).status.value),
        SearchAttributePair(TRIGGER_TASK_ID, run.task_id),
        SearchAttributePair(TRIGGER_TAGS, list(options.tags)),
        SearchAttributePair(TRIGGER_IS_TEST, options.is_test),
        SearchAttributePair(TRIGGER_QUEUE, options.queue or f"task/{run.task_id}"),
    ]
    optional = [
        (TRIGGER_BATCH_ID, options.batch_id),
        (TRIGGER_PARENT_RUN_ID, options.parent_run_id),
        (TRIGGER_ROOT_RUN_ID, options.root_run_id),
        (TRIGGER_IDEMPOTENCY_KEY, options.idempotency_key),
        (TRIGGER_SCHEDULE_ID, options.schedule_id),
    ]
    pairs += [SearchAttributePair(key, value) for key, value in optional if value]
    if options.bulk_action_id:
        pairs.append(SearchAttributePair(TRIGGER_BULK_ACTION_ID, options.bulk_action_id))
    return TypedSearchAttributes(pairs)
