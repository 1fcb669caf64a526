"""Imported by the fork server only (first in its preload list, set by
:mod:`durableruns.worker.isolation`): the fork server ignores SIGTERM and SIGINT.

Service managers stop a worker by signalling more than the worker: systemd's default
``KillMode=control-group`` sends SIGTERM to every process of the unit's cgroup;
supervisord's ``stopasgroup``, honcho/foreman and a terminal's job control signal the
whole process group. Those signals are meant for the worker, which drains. A fork
server killed by them takes the exit status of every task process with it (the worker
reads it from the fork server), and each running attempt would end CRASHED with "exited
unexpectedly with code 255". Task processes ignore them for the same reason
(:func:`~durableruns.worker.isolation_child.leave_stop_signals_to_the_worker`).

Nothing is lost by ignoring them here: the fork server exits when the worker closes its
end of the fork server's pipe (or dies), and SIGKILL still ends it at once. Importing
this module anywhere else would make that process deaf to a stop request.
"""

from __future__ import annotations

from durableruns.worker.isolation_child import leave_stop_signals_to_the_worker

leave_stop_signals_to_the_worker(new_session=False)
