"""The token service: create, read, complete and list wait tokens on Temporal.

Used by the facade (the waitpoint routes) and by task code through its runtime.
Reading a token reads its workflow (a query while it waits, its result once it
ended), never visibility; only the list reads visibility (and so may lag a change
by about a second). An idempotency key maps to a token id derived from it, so racing
creations with one key find one token (workflow-id uniqueness); a key whose TTL
passed moves to the next generation, i.e. a new token.
"""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from durableruns.durations import DurationError, parse_delay, parse_duration
from durableruns.engine import search_attributes as sa
from durableruns.engine.client import QUERY_TIMEOUT
from durableruns.engine.names import TOKEN_WORKFLOW, runs_queue
from durableruns.engine.workflows.token import TokenWorkflow
from durableruns.errors import InvalidInputError, engine_unavailable
from durableruns.ids import derived_token_id, is_token_id, new_token_id
from durableruns.limits import check_text
from durableruns.models import RunError
from durableruns.service.runs import EngineUnavailableError
from durableruns.wait_tokens import (
    DEFAULT_TOKEN_TIMEOUT,
    CompleteAnswer,
    TokenFilter,
    TokenInput,
    TokenNotFoundError,
    TokenPage,
    TokenRecord,
    TokenStatus,
    TokenTimedOutError,
)

DEFAULT_KEY_TTL_S = 30 * 24 * 3600.0
"""An idempotency key without a TTL maps to its token for 30 days, as in Trigger.dev."""
MAX_KEY_GENERATIONS = 1000
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


class TokenService:
    """Wait tokens of one environment (its namespace and task-queue prefix)."""

    def __init__(self, client: Client, *, task_queue_prefix: str, api_url: str) -> None:
        self._client = client
        self._prefix = task_queue_prefix
        self._api_url = api_url.rstrip("/")

    def url(self, token: TokenRecord) -> str:
        """The token's callback URL: POST any JSON there to complete it, no key needed."""
        return (
            f"{self._api_url}/api/v1/waitpoints/tokens/{token.id}/callback/{token.callback_secret}"
        )

    # --- create --------------------------------------------------------------------------
    async def create(
        self,
        *,
        timeout: str | float | datetime | None = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: str | float | None = None,
        tags: tuple[str, ...] = (),
        token_id: str | None = None,
    ) -> tuple[TokenRecord, bool]:
        """A new WAITING token, or (is_cached) the one ``idempotency_key`` or
        ``token_id`` already names. ``timeout`` is a duration ("1h") or a datetime."""
        check_text(idempotency_key, "idempotencyKey")  # they go to search attributes
        for number, tag in enumerate(tags):
            check_text(tag, f"tags[{number}]")
        now = datetime.now(UTC)
        try:
            timeout_at = parse_delay(timeout if timeout is not None else DEFAULT_TOKEN_TIMEOUT, now)
        except DurationError as exc:
            raise InvalidInputError("timeout", str(exc)) from exc
        base = TokenInput(id="", created_at=now, timeout_at=timeout_at, tags=tuple(tags))
        if not idempotency_key:
            return await self._start_or_find(
                base.model_copy(update={"id": token_id or new_token_id()})
            )
        try:
            ttl_s = (
                DEFAULT_KEY_TTL_S
                if idempotency_key_ttl is None
                else parse_duration(idempotency_key_ttl)
            )
        except DurationError as exc:
            raise InvalidInputError("idempotencyKeyTTL", str(exc)) from exc
        keyed = base.model_copy(
            update={
                "idempotency_key": idempotency_key,
                "idempotency_key_expires_at": now + timedelta(seconds=ttl_s),
            }
        )
        for generation in range(MAX_KEY_GENERATIONS):
            token_id = derived_token_id(
                self._client.namespace, self._prefix, "key", idempotency_key, str(generation)
            )
            record, cached = await self._start_or_find(keyed.model_copy(update={"id": token_id}))
            expires = record.idempotency_key_expires_at
            if not cached or expires is None or expires > now:
                return record, cached
        raise EngineUnavailableError("this idempotency key has too many generations")

    async def _start_or_find(self, token: TokenInput) -> tuple[TokenRecord, bool]:
        attributes: list[SearchAttributePair[Any]] = [
            SearchAttributePair(sa.TRIGGER_TOKEN_STATUS, TokenStatus.WAITING.value),
            SearchAttributePair(sa.TRIGGER_TOKEN_TAGS, list(token.tags)),
        ]
        if token.idempotency_key:
            attributes.append(
                SearchAttributePair(sa.TRIGGER_TOKEN_IDEMPOTENCY_KEY, token.idempotency_key)
            )
        try:
            await self._client.start_workflow(
                TokenWorkflow.run,
                token,
                id=token.id,
                task_queue=runs_queue(self._prefix),
                search_attributes=TypedSearchAttributes(attributes),
                memo=_memo(token),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary="wait token" + (f" {list(token.tags)}" if token.tags else ""),
            )
        except WorkflowAlreadyStartedError:
            return await self.require(token.id), True
        except RPCError as exc:
            raise engine_unavailable("Could not create the token", exc.message) from exc
        return TokenRecord.from_input(token), False

    # --- read ----------------------------------------------------------------------------
    async def retrieve(self, token_id: str) -> TokenRecord | None:
        """The token's exact current record, or None when there is no such token."""
        if not is_token_id(token_id):
            return None
        handle = self._handle(token_id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return None
            raise EngineUnavailableError(f"Could not read the token: {exc.message}") from exc
        if description.status is WorkflowExecutionStatus.COMPLETED:
            return await handle.result()
        if description.status is WorkflowExecutionStatus.RUNNING:
            try:
                return await handle.query(TokenWorkflow.get, rpc_timeout=QUERY_TIMEOUT)
            except (RPCError, WorkflowQueryFailedError):
                pass  # no worker to answer: rebuild from the start event
        record = TokenRecord.from_input(await self._start_input(handle))
        if description.status is not WorkflowExecutionStatus.RUNNING:
            record.status = TokenStatus.TIMED_OUT
            record.completed_at = description.close_time
            record.error = RunError(name="TokenEnded", message="The token's workflow was closed")
        return record

    async def require(self, token_id: str) -> TokenRecord:
        """:meth:`retrieve`, or TokenNotFoundError."""
        record = await self.retrieve(token_id)
        if record is None:
            raise TokenNotFoundError(f"No waitpoint token {token_id!r}")
        return record

    async def _start_input(self, handle: WorkflowHandle[Any, Any]) -> TokenInput:
        async for event in handle.fetch_history_events(page_size=1):
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                [token] = await self._client.data_converter.decode(payloads, [TokenInput])
                return token  # type: ignore[no-any-return]
            break
        raise EngineUnavailableError(f"Token {handle.id} has no start event")

    # --- complete ------------------------------------------------------------------------
    async def complete(self, token_id: str, output: Any) -> CompleteAnswer:
        """Complete the token once: the first completion wins (``completed_now``), a
        later one answers the first; a timed-out token refuses (TokenTimedOutError).

        Straight to the Update (one round trip): a token that ended has closed, and
        only then is it read, to tell an unknown token from one that ended.
        """
        if not is_token_id(token_id):
            raise TokenNotFoundError(f"No waitpoint token {token_id!r}")
        try:
            answer = await self._handle(token_id).execute_update(TokenWorkflow.complete, output)
        except RPCError as exc:  # closed (ended) or no such token: read which
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise EngineUnavailableError(f"Could not complete: {exc.message}") from exc
            answer = CompleteAnswer(completed_now=False, token=await self.require(token_id))
        if answer.token.status is TokenStatus.TIMED_OUT:
            raise TokenTimedOutError(
                f"Waitpoint token {token_id} timed out at "
                f"{answer.token.timeout_at.isoformat()}; it can no longer be completed"
            )
        return answer

    async def complete_by_callback(self, token_id: str, secret: str, output: Any) -> CompleteAnswer:
        """Complete through the callback URL: only with the token's own secret (a
        forged or wrong URL is TokenNotFoundError, telling nothing about the token)."""
        record = await self.retrieve(token_id)
        if record is None or not hmac.compare_digest(record.callback_secret, secret):
            raise TokenNotFoundError("No waitpoint token at this callback URL")
        return await self.complete(token_id, output)

    # --- list ----------------------------------------------------------------------------
    def query(
        self,
        token_filter: TokenFilter,
        *,
        older_than: datetime | None = None,
        newer_than: datetime | None = None,
    ) -> str:
        """The visibility query for the filter (this environment's tokens only)."""
        clauses = [
            f"WorkflowType = {_literal(TOKEN_WORKFLOW)}",
            f"TaskQueue = {_literal(runs_queue(self._prefix))}",
        ]
        check_text(token_filter.idempotency_key, "filter[idempotencyKey]")
        for tag in token_filter.tags:
            check_text(tag, "filter[tags]")
        if token_filter.statuses:
            values = ", ".join(_literal(s.value) for s in token_filter.statuses)
            clauses.append(f"{sa.TRIGGER_TOKEN_STATUS.name} IN ({values})")
        if token_filter.tags:
            values = ", ".join(_literal(t) for t in token_filter.tags)
            clauses.append(f"{sa.TRIGGER_TOKEN_TAGS.name} IN ({values})")
        if token_filter.idempotency_key:
            key = _literal(token_filter.idempotency_key)
            clauses.append(f"{sa.TRIGGER_TOKEN_IDEMPOTENCY_KEY.name} = {key}")
        bounds = [
            (">=", token_filter.created_from),
            ("<=", token_filter.created_to),
            ("<", older_than),
            (">", newer_than),
        ]
        for op, when in bounds:
            if when is not None:
                clauses.append(f"StartTime {op} {_literal(when.isoformat())}")
        return " AND ".join(clauses)

    async def list(
        self,
        token_filter: TokenFilter,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
        before: str | None = None,
    ) -> TokenPage:
        """One page, newest first. ``after`` (a page's ``next``) pages to older tokens,
        ``before`` (its ``previous``) back to newer ones. A cursor is a start time."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        if before is not None:
            newer = [
                e
                async for e in self._client.list_workflows(
                    self.query(token_filter, newer_than=_cursor_time(before)), page_size=1000
                )
            ]
            newer.sort(key=_start_time, reverse=True)
            rows = newer[-limit:]
            has_newer = len(newer) > limit
            has_older = True
        else:
            older = _cursor_time(after) if after else None
            rows = []
            async for execution in self._client.list_workflows(
                self.query(token_filter, older_than=older), page_size=limit + 1, limit=limit + 1
            ):
                rows.append(execution)
            rows.sort(key=_start_time, reverse=True)
            has_older = len(rows) > limit
            rows = rows[:limit]
            has_newer = after is not None
        items = [await self._listed(e) for e in rows]
        return TokenPage(
            items=items,
            next=_cursor(rows[-1]) if rows and has_older else None,
            previous=_cursor(rows[0]) if rows and has_newer else None,
        )

    async def _listed(self, execution: WorkflowExecution) -> TokenRecord:
        """A token from its visibility row (search attributes, memo, times)."""
        memo = await execution.memo()
        attributes = execution.typed_search_attributes
        status = attributes.get(sa.TRIGGER_TOKEN_STATUS) or TokenStatus.WAITING.value
        expires = memo.get("idempotencyKeyExpiresAt")
        return TokenRecord(
            id=execution.id,
            status=TokenStatus(status),
            created_at=datetime.fromisoformat(
                memo.get("createdAt") or _start_time(execution).isoformat()
            ),
            timeout_at=datetime.fromisoformat(memo["timeoutAt"]),
            completed_at=execution.close_time if status != TokenStatus.WAITING.value else None,
            tags=tuple(attributes.get(sa.TRIGGER_TOKEN_TAGS) or ()),
            idempotency_key=attributes.get(sa.TRIGGER_TOKEN_IDEMPOTENCY_KEY),
            idempotency_key_expires_at=datetime.fromisoformat(expires) if expires else None,
            callback_secret=str(memo.get("callbackSecret", "")),
        )

    def _handle(self, token_id: str) -> WorkflowHandle[TokenWorkflow, TokenRecord]:
        return self._client.get_workflow_handle_for(TokenWorkflow.run, token_id)


def _memo(token: TokenInput) -> dict[str, Any]:
    memo: dict[str, Any] = {
        "createdAt": token.created_at.isoformat(),
        "timeoutAt": token.timeout_at.isoformat(),
        "callbackSecret": token.callback_secret,
    }
    if token.idempotency_key_expires_at is not None:
        memo["idempotencyKeyExpiresAt"] = token.idempotency_key_expires_at.isoformat()
    return memo


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _start_time(execution: WorkflowExecution) -> datetime:
    return execution.start_time


def _cursor(execution: WorkflowExecution) -> str:
    raw = execution.start_time.astimezone(UTC).isoformat()
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_time(cursor: str) -> datetime:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return datetime.fromisoformat(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError("page[after]", "not a cursor this list gave") from exc
