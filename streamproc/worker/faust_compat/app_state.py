"""What Faust's services know about this worker: its assignment, whether its tables are
recovered, and the "current event" a task must not inherit."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any

import faust

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = ((faust.App, "rebalancing"),)
# Attributes Faust sets on its objects at run time: (path from the app, attribute); the test
# builds an app and looks for each.
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("assignor", "assigned_actives"), ("tables.recovery", "completed"))


def assigned_partitions(app: faust.App) -> set:
    """Active topic-partitions assigned to this worker (input topics and tables alike)."""
    return app.assignor.assigned_actives()


def recovery_completed(app: faust.App) -> bool:
    """Tables restored from their changelogs after the last (re)assignment."""
    return app.tables.recovery.completed.is_set()


def rebalancing(app: faust.App) -> bool:
    """A rebalance is under way (from a revocation until its recovery ended).

    ``recovery.completed`` is set after the first recovery and never cleared, so it alone
    would call a worker recovered through every later rebalance (found by ``streamproc
    soak``); readiness asks this as well."""
    return bool(app.rebalancing)


def fresh_task(coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
    """A task that does not inherit Faust's "current event" (a context variable).

    Started from an agent, a task would inherit the event being handled (a report message,
    partition 0), and its table reads would look only in that partition: every store of the
    other partitions would read as empty.
    """
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
