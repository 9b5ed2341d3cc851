"""`streamproc bench` and its tools (the package is installed with the code it measures).

Reading order:

* ``run.py``: the command line (flags, the broker, the table written out) and
  ``python -m bench.run``;
* ``pipeline.py``: which steps run, in which order, around which worker;
* ``context.py``: what the steps are given (:class:`~bench.context.BenchContext`);
* ``table.py``: what the steps return (:class:`~bench.table.Row`) and the Markdown table;
* ``data.py``: which data set is replayed (shared data, else generated);
* the steps, one module each: ``reference.py``, ``end_to_end.py``, ``state.py`` (after one
  week, after four), ``reports.py``, ``latency.py``, ``recovery.py``, ``fleet.py``, and
  ``modes.py`` (``--workers``, ``--events``, which replace the sequence);
* their machinery: ``replaying.py`` (replay into the worker, wait until applied),
  ``ingest.py`` (a worker of its own pipeline), ``core_rate.py`` (the pure core's rate, the
  baseline of the ingest figures), ``scale.py``, ``events.py``, ``shifting.py``,
  ``profiling.py``, ``harness.py`` (/proc, machine facts, replay summary), ``publish.py``
  (``--out`` and the README section);
* stand-alone tools against a running worker: ``python -m bench.api``, ``python -m
  bench.live``.

Figures of past runs are not in code: ``results.md`` keeps them (by hand), beside the latest
run's table that ``streamproc bench`` writes into it.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout (README.md, ../shared/data)
