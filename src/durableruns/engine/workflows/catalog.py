"""The catalog workflow: the durable list of deployed versions and their tasks.

One per environment (and task-queue prefix), id ``durableruns-catalog:<prefix>``.
Workers register the version they serve when they start (Update-with-Start, so the
first worker creates it); the facade reads it to pin plain triggers to the latest
version that serves a task, to validate payloads against the task's schema, and to
list tasks. A second definition of a task id in one version is refused.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from durableruns.catalog_models import Catalog, Deployment
    from durableruns.engine.names import CATALOG_MEMO, CATALOG_WORKFLOW

MAX_HISTORY_EVENTS = 2_000
"""Continue-as-new past this many events (registrations only happen at worker start)."""


@workflow.defn(name=CATALOG_WORKFLOW)
class CatalogWorkflow:
    """Holds the catalog for as long as the environment exists."""

    @workflow.init
    def __init__(self, carried: Catalog | None = None) -> None:
        # Set before any handler runs: after a continue-as-new, a worker's ``register``
        # can arrive with the start, before ``run`` begins, and must add to the carried
        # catalog (not to an empty one that ``run`` would then replace).
        self._catalog = carried if carried is not None else Catalog()

    @workflow.run
    async def run(self, carried: Catalog | None = None) -> None:
        """Serve registrations and reads; continue-as-new when history grows."""
        if carried is not None:
            self._publish()
        await workflow.wait_condition(
            lambda: workflow.info().get_current_history_length() > MAX_HISTORY_EVENTS
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._catalog)

    @workflow.query
    def get(self) -> Catalog:
        """Every version and its tasks."""
        return self._catalog

    @workflow.update
    def register(self, deployment: Deployment) -> Catalog:
        """Record the tasks a version serves (idempotent for identical definitions)."""
        known = {t.id: t for t in self._catalog.versions.get(deployment.version, [])}
        known.update({t.id: t for t in deployment.tasks})
        self._catalog.versions[deployment.version] = sorted(known.values(), key=lambda t: t.id)
        self._catalog.registered_at.setdefault(deployment.version, deployment.registered_at)
        self._publish()
        return self._catalog

    @workflow.update
    def set_queue_paused(self, queue: str, paused: bool) -> Catalog:
        """Mark a queue paused (new runs of it then wait at its gate) or resumed."""
        names = set(self._catalog.paused_queues)
        names = names | {queue} if paused else names - {queue}
        self._catalog.paused_queues = sorted(names)
        self._publish()
        return self._catalog

    def _publish(self) -> None:
        """Readers get the catalog from the memo (describe), which needs no worker.

        ``paused_queues`` is left out until a queue was paused: earlier histories
        recorded memos without it.
        """
        unused = None if self._catalog.paused_queues else {"paused_queues"}
        workflow.upsert_memo({CATALOG_MEMO: self._catalog.model_dump(mode="json", exclude=unused)})

    @register.validator
    def _one_definition_per_task_and_version(self, deployment: Deployment) -> None:
        for task in deployment.tasks:
            existing = self._catalog.find(task.id, deployment.version)
            if existing is not None and existing.definition != task.definition:
                raise ApplicationError(
                    f"Task {task.id!r} is already served in version {deployment.version} by "
                    f"{existing.definition}; this worker defines it as {task.definition}. "
                    "Deploy the change under a new version (--version)."
                )
