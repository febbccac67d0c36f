"""Set-up of each Dask worker process that localcond starts itself (the ``local`` executor's LocalCluster).

Loaded by Dask as a worker preload (``distributed.worker.preload``). A terminal's Ctrl-C reaches the whole
foreground process group, worker processes included; each worker then raised its own KeyboardInterrupt
and printed a traceback while the client was already stopping the run. A batch system's time limit sends
SIGTERM to every process of the job the same way; the workers then lost the scheduler mid-heartbeat and
printed comm tracebacks. Workers ignore both: the client process handles them (exit 130, finished work
kept) and closes the cluster, which ends the workers. (Workers are child processes of the client's nannies
and end with them if the client is killed outright.)

Closing the cluster stops the scheduler, which lives in the client process, while a worker may be
mid-heartbeat: that worker then logs "Failed to communicate with scheduler during heartbeat" with a comm
traceback, although nothing failed (seen about once in twenty signalled runs, more often on a busy machine).
That one record is dropped; a worker whose scheduler is really lost still shuts itself down, and the
client reports the tasks it loses.
"""

from __future__ import annotations

import logging
import signal
import threading

#: The worker log record that a scheduler closing first causes (``distributed.worker.Worker.heartbeat``).
HEARTBEAT_FAILURE = "Failed to communicate with scheduler during heartbeat"


class _DropHeartbeatFailures(logging.Filter):
    """Drops the heartbeat-failure record of :data:`HEARTBEAT_FAILURE` (module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(HEARTBEAT_FAILURE)


def dask_setup(worker) -> None:  # noqa: ARG001 (Dask's preload signature)
    """Ignore SIGINT and SIGTERM in this worker process (where Dask runs it in the main thread, as it does), and
    drop the heartbeat failure that the scheduler's closing causes."""
    logging.getLogger("distributed.worker").addFilter(_DropHeartbeatFailures())
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
