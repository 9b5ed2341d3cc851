"""Helpers of the test suite (not installed; the helpers the bench shares with the tests are in
the installed package :mod:`streamproc.sandbox`).

* ``broker_fixture``: the ``kafka_broker`` fixture (the shared broker) and brokers of a test's
  own;
* ``worker_fixture``: the ``worker_env`` and ``worker`` fixtures, ``isolated_worker``,
  ``peer_worker``;
* ``data``: generated data sets, ``streamproc replay`` of them, the batch command's report;
* ``kafka``: topics read and written directly (a consumer group of its own, every record of a
  topic, the dead letters, raw messages);
* ``live``: produce polls into a worker's topics, read ``GET /live``;
* ``reliability``: background commands, snapshots retried through rebalances, kills and
  restarts with timings;
* ``oracle``: the slow reference implementation of the report contract.

``tests/conftest.py`` loads the two fixture modules.
"""
