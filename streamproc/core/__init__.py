"""The pure core: no Faust, Kafka or aiohttp imports allowed in this package.

Everything the report means (see docs/semantics.md) is computed here and
reused by the streaming worker, the batch command and the tests.
"""
