"""What the tests share, imported as ``from tests.helpers import ...`` (conftest.py keeps
only fixtures and the exit-crash hooks):

- ``stack``: ``Stack``, ``open_stack``, ``new_settings``, ``SECRET_KEY``, ``STACK_MODULES``;
- ``waiting``: bounded waits, ``eventually`` (comes true) and ``never`` (stays false);
- ``processes``: ``worker_process``/``stop_process``, the production processes
  (``start``, ``Proc``), ``node_binary``, ``ROOT``;
- ``browser``, ``tls_proxy``: the dashboard's Chromium and the TLS test's nginx, imported
  from their modules; ``tasks``: the task modules the tests' workers serve.
"""

from tests.helpers.processes import ROOT, node_binary, stop_process, worker_process
from tests.helpers.stack import (
    EXAMPLE_MODULES,
    SECRET_KEY,
    STACK_MODULES,
    TEST_SHORT_WAIT_S,
    Stack,
    new_settings,
    open_stack,
)
from tests.helpers.waiting import eventually, never

__all__ = [
    "EXAMPLE_MODULES",
    "ROOT",
    "SECRET_KEY",
    "STACK_MODULES",
    "TEST_SHORT_WAIT_S",
    "Stack",
    "eventually",
    "never",
    "new_settings",
    "node_binary",
    "open_stack",
    "stop_process",
    "worker_process",
]
