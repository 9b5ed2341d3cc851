"""The pure core: no Faust, Kafka or aiohttp imports allowed in this package.

Everything the report means (see docs/report-semantics in the README) is computed here and
reused by the streaming worker, the batch command and the tests.
"""
