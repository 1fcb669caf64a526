"""Concurrency limits as the facade sees them (``/api/v1/concurrency-limits``, the
queues' V1 limits, the dashboard and the CLI): which limits exist (what deployed tasks
declare), their live state (a query of the limit's workflow), and changes at runtime
(one Update of that workflow, started if no run has used the limit yet).

Every change is checked here first, so a bad one is refused whole with the field at
fault, and the workflow never half-applies anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowQueryFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from durableruns.engine.client import QUERY_TIMEOUT
from durableruns.engine.names import limit_workflow_id, runs_queue
from durableruns.engine.workflows.limit import LimitWorkflow
from durableruns.errors import LimitChangeError, UnknownLimitError
from durableruns.limit_models import NO_KEY, LimitAction, LimitCommand, LimitSpec, LimitState
from durableruns.service.runs import RunService

DEFAULT_KEY_OVERRIDE_TTL_S = 7 * 86_400.0
MAX_KEY_OVERRIDE_TTL_S = 30 * 86_400.0


@dataclass(frozen=True)
class LimitView:
    """A limit: as deployed (``declared``) and as its workflow keeps it (``state``)."""

    declared: LimitSpec
    state: LimitState

    @property
    def name(self) -> str:
        """The limit's name."""
        return self.declared.name

    @property
    def running(self) -> int:
        """Runs holding a slot."""
        return len(self.state.holders)

    @property
    def queued(self) -> int:
        """Runs in line for a slot."""
        return len(self.state.waiting)


class LimitService:
    """Reads and changes concurrency limits."""

    def __init__(self, client: Client, runs: RunService, *, task_queue_prefix: str) -> None:
        self._client = client
        self._runs = runs
        self._prefix = task_queue_prefix

    async def declared(self) -> dict[str, LimitSpec]:
        """Every limit deployed tasks hold, by name."""
        return (await self._runs.catalog.get()).limits()

    async def spec(self, name: str) -> LimitSpec:
        """The limit as deployed; UnknownLimitError when no deployed task holds it."""
        spec = (await self.declared()).get(name)
        if spec is None:
            raise UnknownLimitError("name", f"unknown concurrency limit {name!r}")
        return spec

    async def list(self, *, kinds: tuple[str, ...] = ("named", "task")) -> list[LimitView]:
        """Limits of these kinds, by name, with their live state."""
        specs = sorted(
            (s for s in (await self.declared()).values() if s.kind in kinds),
            key=lambda s: s.name,
        )
        return [LimitView(declared=s, state=await self._state(s)) for s in specs]

    async def get(self, name: str) -> LimitView:
        """One limit with its live state."""
        spec = await self.spec(name)
        return LimitView(declared=spec, state=await self._state(spec))

    async def state(self, spec: LimitSpec) -> LimitState:
        """The live state of a limit (its declared state when no run used it yet)."""
        return await self._state(spec)

    async def _state(self, spec: LimitSpec) -> LimitState:
        handle = self._client.get_workflow_handle(
            limit_workflow_id(self._prefix, spec.name), result_type=type(None)
        )
        try:
            state: LimitState = await handle.query(LimitWorkflow.get, rpc_timeout=QUERY_TIMEOUT)
            return state
        except (RPCError, WorkflowQueryFailedError) as exc:
            if isinstance(exc, RPCError) and exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            return LimitState(spec=spec)  # no run has used it yet

    async def pause(self, name: str, paused: bool) -> LimitView:
        """Pause (nothing holding it starts; running runs finish) or resume."""
        return await self.apply(await self.spec(name), "pause" if paused else "resume")

    async def override(self, name: str, *, per_key: int | None, total: int | None) -> LimitView:
        """Change the limit's own bounds (only those given) until ``reset``."""
        spec = await self.spec(name)
        if per_key is None and total is None:
            raise LimitChangeError("body", "provide at least one of perKey or total")
        if per_key is not None and spec.per_key is None:
            raise LimitChangeError(
                "perKey", f"concurrency limit {name!r} has no perKey bound to override"
            )
        if total is not None and spec.total is None and spec.kind != "queue":
            raise LimitChangeError(
                "total", f"concurrency limit {name!r} has no total bound to override"
            )
        return await self.apply(spec, "override", per_key=per_key, total=total)

    async def reset(self, name: str) -> LimitView:
        """Back to the declared bounds (per-key overrides are kept)."""
        return await self.apply(await self.spec(name), "reset")

    async def override_key(
        self, name: str, key: str, per_key: int, ttl_s: float | None
    ) -> LimitView:
        """One key's ``per_key`` for ``ttl_s`` (default 7 days, at most 30)."""
        spec = await self.spec(name)
        if spec.per_key is None:
            raise LimitChangeError(
                "concurrencyKey",
                f"concurrency limit {name!r} has no perKey bound, so no key can be overridden",
            )
        ttl = DEFAULT_KEY_OVERRIDE_TTL_S if ttl_s is None else ttl_s
        if not 0 < ttl <= MAX_KEY_OVERRIDE_TTL_S:
            raise LimitChangeError("ttl", "must be more than 0 and at most 30 days")
        return await self.apply(spec, "override_key", per_key=per_key, key=key, ttl_s=ttl)

    async def reset_key(self, name: str, key: str) -> LimitView:
        """Clear one key's override."""
        return await self.apply(await self.spec(name), "reset_key", key=key)

    async def apply(
        self,
        spec: LimitSpec,
        action: LimitAction,
        *,
        per_key: int | None = None,
        total: int | None = None,
        key: str | None = None,
        ttl_s: float | None = None,
    ) -> LimitView:
        """Send one checked change to the limit's workflow (started if need be)."""
        name = spec.name
        command = LimitCommand(
            spec=spec,
            action=action,
            per_key=per_key,
            total=total,
            concurrency_key=key,
            ttl_s=ttl_s,
        )
        start = WithStartWorkflowOperation(
            LimitWorkflow.run,
            LimitState(spec=spec),
            id=limit_workflow_id(self._prefix, name),
            task_queue=runs_queue(self._prefix),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"concurrency limit {name}",
        )
        state = await self._client.execute_update_with_start_workflow(
            LimitWorkflow.manage, command, start_workflow_operation=start
        )
        return LimitView(declared=spec, state=state)


@dataclass(frozen=True)
class KeyView:
    """One key's pool of a limit (``retrieve(name, {concurrencyKey})``)."""

    name: str
    concurrency_key: str
    base: int | None
    override: int | None
    current: int | None
    expires_at: datetime | None
    running: int
    queued: int
    paused: bool


def key_view(view: LimitView, key: str, now: datetime) -> KeyView:
    """The view of ``view`` for one concurrency key."""
    state = view.state
    base = state.per_key_override if state.per_key_override is not None else state.spec.per_key
    override = state.key_overrides.get(key)
    live = override if override is not None and override.expires_at > now else None
    pool = key or NO_KEY
    return KeyView(
        name=view.name,
        concurrency_key=key,
        base=base,
        override=live.per_key if live else None,
        current=state.per_key_bound(pool, now),
        expires_at=live.expires_at if live else None,
        running=state.running_in(pool),
        queued=state.queued_in(pool),
        paused=state.paused,
    )
