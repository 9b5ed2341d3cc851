"""`streamproc bench`: the benchmark harness (it lives in the top-level ``bench/`` package,
beside the code it measures, and is installed with it)."""

from bench.run import add_arguments, run

__all__ = ["add_arguments", "run"]
