"""Isolated pipelines for tests, benchmarks and demos: workers side by side on one broker.

* :mod:`.env`: :func:`unique_name`, :func:`free_port`, :func:`isolated_env` (own topics,
  consumer group, state dir and web port), :func:`bootstrap_of`;
* :mod:`.process`: :class:`WorkerProcess` (one ``streamproc worker``: start, wait until
  ready, /health, snapshot, kill, log tail, pid), :func:`peer_worker` (one more worker of
  a pipeline), :func:`wait_split`, :func:`stop_group`, :func:`log_tail`;
* :mod:`.cli`: :func:`run_cli` (raises on failure), :func:`run_cli_unchecked`, ``spawn``;
* :mod:`.http`: JSON get/post and raw requests with timeouts, trigger a report and wait;
* :mod:`.waiting`: :func:`wait_for`; :mod:`.stats`: :func:`percentile`.

Installed with the package (``streamproc bench`` uses it); the test-only helpers are in
tests/support/.
"""

from streamproc.sandbox.cli import CliFailed, run_cli, run_cli_unchecked
from streamproc.sandbox.env import bootstrap_of, free_port, isolated_env, unique_name
from streamproc.sandbox.process import (
    WorkerExited,
    WorkerProcess,
    assigned_partitions,
    log_tail,
    peer_worker,
    stop_group,
    wait_split,
)
from streamproc.sandbox.stats import percentile
from streamproc.sandbox.waiting import WaitTimeout, wait_for

__all__ = [
    "CliFailed",
    "WaitTimeout",
    "WorkerExited",
    "WorkerProcess",
    "assigned_partitions",
    "bootstrap_of",
    "free_port",
    "isolated_env",
    "log_tail",
    "peer_worker",
    "percentile",
    "run_cli",
    "run_cli_unchecked",
    "stop_group",
    "unique_name",
    "wait_for",
    "wait_split",
]
